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
import { constants } from 'node:fs';
import { lstat, open, readlink } from 'node:fs/promises';
import { join } from 'node:path';
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
const MAX_SYMLINKS = 255;

/** A decimal id, or undefined when `s` is not all digits. */
function numericId(s: string): number | undefined {
  if (!/^\d+$/.test(s)) return undefined;
  const n = Number(s);
  if (n > MAX_ID) throw new InvalidParameterError(`uids and gids must be in range 0-${MAX_ID}`);
  return n;
}

/**
 * `path` (absolute, inside the container) as a host path under `root`,
 * following symlinks within the root: `..` and absolute link targets never
 * leave it.
 */
async function resolveInRootfs(root: string, path: string): Promise<string> {
  const pending = path.split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (pending.length > 0) {
    const part = pending.shift()!;
    if (part === '.') continue;
    if (part === '..') { done.pop(); continue; }
    const host = join(root, ...done, part);
    let isLink = false;
    try {
      isLink = (await lstat(host)).isSymbolicLink();
    } catch {
      // Missing: the rest cannot contain links either.
      return join(root, ...done, part, ...pending);
    }
    if (!isLink) { done.push(part); continue; }
    if (++links > MAX_SYMLINKS) throw new InvalidParameterError(`too many levels of symbolic links resolving ${path} in the container`);
    const target = await readlink(host);
    if (target.startsWith('/')) done.length = 0;
    pending.unshift(...target.split('/').filter(Boolean));
  }
  return join(root, ...done);
}

/** The file's text, or undefined when it does not exist in the container. */
async function readInRootfs(root: string, path: string): Promise<string | undefined> {
  const host = await resolveInRootfs(root, path);
  let fh;
  try {
    // O_NOFOLLOW: a link swapped in after resolution is refused, not followed.
    fh = await open(host, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw e;
  }
  try {
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
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
