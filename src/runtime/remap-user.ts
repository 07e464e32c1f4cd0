/**
 * `--userns-remap`: the user (and group) whose /etc/subuid and /etc/subgid
 * ranges container IDs map to. `default` is berth's own remap user,
 * `berth`, created on first use with a free 65536-ID range in both files,
 * as dockerd creates `dockremap` (`useradd --system`, then `usermod
 * --add-subuids/--add-subgids`). The only module that runs useradd/usermod.
 *
 * The `berth` remap user gets no group of its own: `berth` is also the API
 * socket's group (install.sh), and the remap user must never be in it. Its
 * subgid ranges are found by the user's name, as shadow writes them.
 */
import { readFile } from 'node:fs/promises';
import { InvalidParameterError, SystemError, errorMessage } from '../errors.js';
import { runCommand } from '../run-command.js';
import {
  DEFAULT_RANGE_LENGTH, mappingsOf, nextFreeRange, parseSubordinateFile, rangesOf, splitRemapSpec, type IdMap,
} from './id-map.js';

/** The user `--userns-remap default` creates and uses (dockerd's `dockremap`). */
export const DEFAULT_REMAP_USER = 'berth';

export interface RemapIdentity extends IdMap {
  /** `user:group` as resolved (what `docker info` and the log name). */
  user: string;
  group: string;
}

interface Entry { name: string; id: number }

/** /etc/passwd or /etc/group entries (name and numeric ID). */
async function entries(file: string): Promise<Entry[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').flatMap((l) => {
    const f = l.split(':');
    return f.length >= 3 && /^\d+$/.test(f[2]) ? [{ name: f[0], id: Number(f[2]) }] : [];
  });
}

export interface RemapFiles { passwd: string; group: string; subuid: string; subgid: string }
const ETC: RemapFiles = { passwd: '/etc/passwd', group: '/etc/group', subuid: '/etc/subuid', subgid: '/etc/subgid' };

/**
 * Resolves `--userns-remap`'s value to names and ID maps; `default`
 * creates the `berth` user and its ranges when missing. dockerd's error
 * wording where it has one.
 */
export async function resolveRemap(value: string, files: RemapFiles = ETC): Promise<RemapIdentity> {
  const spec = splitRemapSpec(value);
  if (spec.user === 'default' && !spec.group) return defaultIdentity(files);
  const users = await entries(files.passwd);
  const groups = await entries(files.group);
  let user: Entry | undefined;
  if (/^\d+$/.test(spec.user)) {
    user = users.find((u) => u.id === Number(spec.user));
    if (!user) throw new InvalidParameterError(`Uid ${spec.user} has no entry in /etc/passwd`);
  } else {
    user = users.find((u) => u.name === spec.user);
    if (!user) throw new InvalidParameterError(`Error during uid lookup for ${JSON.stringify(spec.user)}: user not found`);
  }
  if (user.id === 0) throw new InvalidParameterError('root cannot be remapped with itself: --userns-remap needs another user');
  const gspec = spec.group ?? (/^\d+$/.test(spec.user) ? spec.user : user.name);
  let group: Entry | undefined;
  if (/^\d+$/.test(gspec)) {
    group = groups.find((g) => g.id === Number(gspec));
    if (!group) throw new InvalidParameterError(`Gid ${gspec} has no entry in /etc/group`);
  } else {
    group = groups.find((g) => g.name === gspec);
    if (!group) throw new InvalidParameterError(`Error during gid lookup for ${JSON.stringify(gspec)}: group not found`);
  }
  return identityOf(user, group, files);
}

async function identityOf(user: Entry, group: Entry, files: RemapFiles): Promise<RemapIdentity> {
  const uids = rangesOf(parseSubordinateFile(await readFile(files.subuid, 'utf8').catch(() => '')), user.name, user.id);
  const gids = rangesOf(parseSubordinateFile(await readFile(files.subgid, 'utf8').catch(() => '')), group.name, group.id);
  if (!uids.length) throw new InvalidParameterError(`error creating ID mappings: no subuid ranges found for user ${JSON.stringify(user.name)}`);
  if (!gids.length) throw new InvalidParameterError(`error creating ID mappings: no subgid ranges found for group ${JSON.stringify(group.name)}`);
  return { user: user.name, group: group.name, uidMappings: mappingsOf(uids), gidMappings: mappingsOf(gids) };
}

async function defaultIdentity(files: RemapFiles): Promise<RemapIdentity> {
  let user = (await entries(files.passwd)).find((u) => u.name === DEFAULT_REMAP_USER);
  try {
    if (!user) {
      await runCommand(['useradd', '--system', '--shell', '/bin/false', '--no-create-home', '--no-user-group', '--gid', 'nogroup', DEFAULT_REMAP_USER]);
      user = (await entries(files.passwd)).find((u) => u.name === DEFAULT_REMAP_USER);
      if (!user) throw new SystemError('useradd left no passwd entry');
    }
    for (const [file, flag] of [[files.subuid, '--add-subuids'], [files.subgid, '--add-subgids']] as const) {
      const all = parseSubordinateFile(await readFile(file, 'utf8').catch(() => ''));
      if (rangesOf(all, user.name, user.id).length) continue;
      const start = nextFreeRange(all);
      await runCommand(['usermod', flag, `${start}-${start + DEFAULT_RANGE_LENGTH - 1}`, user.name]);
    }
  } catch (e) {
    throw new SystemError(`Error during ${JSON.stringify(DEFAULT_REMAP_USER)} user creation: ${errorMessage(e)}`, { cause: e });
  }
  // Ranges are by the user's name in both files (no group of its own: see the module comment).
  return identityOf(user, { name: user.name, id: -1 }, files);
}
