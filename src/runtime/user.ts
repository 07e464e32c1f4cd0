/**
 * `Config.User` (and `--group-add`) resolved against the container's own
 * `/etc/passwd` and `/etc/group`, with the rules dockerd uses (moby
 * `daemon/oci_linux.go` `getUser` over runc's `libcontainer/user`
 * `GetExecUser` / `GetAdditionalGroups`):
 *
 * - `""` means the passwd entry of uid 0, or plain 0:0 when there is none;
 * - `name`, `uid`, and either followed by `:group` or `:gid`; a numeric part
 *   is always an id, never a name; the first matching line wins;
 * - a numeric uid or gid with no entry is allowed (gid then stays 0);
 * - with an implicit group the supplementary groups are those listing the
 *   user's name; with an explicit group there are none;
 * - `additionalGids` starts with the primary gid (moby since the
 *   CVE-2022-36109 fix), then the supplementary groups, then `--group-add`.
 *
 * The files are read through the container's root: symlinks in the path are
 * resolved as if the rootfs were `/`, so an image cannot point berthd at a
 * host file.
 */
import { RootedFs } from '../image/rooted-fs.js';
import { InvalidParameterError } from '../errors.js';

export interface ResolvedUser {
  uid: number;
  gid: number;
  /** Primary gid first, then supplementary groups, then `--group-add`; no duplicates. */
  additionalGids: number[];
  /** From the passwd entry; `/` when there is none (runc's default for `HOME`). */
  home: string;
}

interface PasswdEntry { name: string; uid: number; gid: number; home: string }
interface GroupEntry { name: string; gid: number; members: string[] }

/** Ids runc accepts (`libcontainer/user` `minID`/`maxID`). */
const MAX_ID = 2 ** 31 - 1;

/** A decimal id, or undefined when `s` is not all digits. */
function numericId(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  if (n > MAX_ID) throw new InvalidParameterError(`uids and gids must be in range 0-${MAX_ID}`);
  return n;
}

/** /etc/passwd and /etc/group are a few KiB; a container that makes them bigger gets an error, not a big read. */
const MAX_USER_DB_BYTES = 4 << 20;

/**
 * The file's text, or undefined when it does not exist in the container.
 * Read through RootedFs: the container may be running and may swap `/etc`
 * for a symlink to the host's while berthd reads it (exec -u).
 */
async function readInRootfs(root: string, path: string): Promise<string | undefined> {
  return (await RootedFs.readFileIn(root, path, MAX_USER_DB_BYTES))?.toString('utf8');
}

function lines(text: string | undefined): string[][] {
  if (!text) return [];
  return text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')).map((l) => l.split(':'));
}

/** Lines of `/etc/passwd` (`name:password:uid:gid:gecos:home:shell`); malformed ids read as 0 like libcontainer. */
function parsePasswd(text: string | undefined): PasswdEntry[] {
  return lines(text).map((f) => ({ name: f[0] ?? '', uid: parseInt(f[2] ?? '', 10) || 0, gid: parseInt(f[3] ?? '', 10) || 0, home: f[5] ?? '' }));
}

/** Lines of `/etc/group` (`name:password:gid:member,member`). */
function parseGroup(text: string | undefined): GroupEntry[] {
  return lines(text).map((f) => ({
    name: f[0] ?? '', gid: parseInt(f[2] ?? '', 10) || 0, members: (f[3] ?? '').split(',').map((m) => m.trim()).filter(Boolean),
  }));
}

/**
 * Resolves `user` (`Config.User`) and `groupAdd` (`HostConfig.GroupAdd`,
 * names or gids) inside the container whose root filesystem is `rootfs`.
 * Unknown names are InvalidParameterErrors with dockerd's wording.
 */
export async function resolveUser(rootfs: string, user: string, groupAdd: readonly string[] = []): Promise<ResolvedUser> {
  const [passwdText, groupText] = await Promise.all([readInRootfs(rootfs, '/etc/passwd'), readInRootfs(rootfs, '/etc/group')]);
  const passwd = parsePasswd(passwdText);
  const groups = parseGroup(groupText);

  const colon = user.indexOf(':');
  const userArg = colon < 0 ? user : user.slice(0, colon);
  const groupArg = colon < 0 ? '' : user.slice(colon + 1);
  const uidArg = numericId(userArg);

  let uid = 0;
  let gid = 0;
  let home = '/';
  let matchedName = '';
  const entry = passwd.find((p) => (userArg === '' ? p.uid === 0 : uidArg !== undefined ? p.uid === uidArg : p.name === userArg));
  if (entry) {
    ({ uid, gid } = entry);
    home = entry.home || '/';
    matchedName = entry.name;
  } else if (userArg !== '') {
    if (uidArg === undefined) throw new InvalidParameterError(`unable to find user ${userArg}: no matching entries in passwd file`);
    uid = uidArg;
  }

  let supplementary: number[] = [];
  if (groupArg !== '') {
    const gidArg = numericId(groupArg);
    const g = groups.find((e) => (gidArg !== undefined ? e.gid === gidArg : e.name === groupArg));
    if (g) gid = g.gid;
    else if (gidArg !== undefined) gid = gidArg;
    else throw new InvalidParameterError(`unable to find group ${groupArg}: no matching entries in group file`);
  } else if (matchedName) {
    supplementary = groups.filter((g) => g.members.includes(matchedName)).map((g) => g.gid);
  }

  const added = groupAdd.map((name) => {
    const g = groups.find((e) => e.name === name || String(e.gid) === name);
    if (g) return g.gid;
    const n = numericId(name);
    if (n === undefined) throw new InvalidParameterError(`Unable to find group ${name}`);
    return n;
  });

  return { uid, gid, additionalGids: [...new Set([gid, ...supplementary, ...added])], home };
}
