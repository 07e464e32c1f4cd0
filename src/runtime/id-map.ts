/**
 * User namespace ID maps, pure logic: the `/etc/subuid` and `/etc/subgid`
 * formats (subuid(5): `name-or-uid:start:count` a line), the OCI
 * `uidMappings`/`gidMappings` a set of ranges gives (container IDs counted
 * from 0 across the ranges in file order, as dockerd's IdentityMapping
 * does), and the translation of one ID either way.
 *
 * Vocabulary: a *container ID* is a uid/gid as the container sees it, a
 * *host ID* is the kernel's (what `ls -n` shows on the host); the
 * *remapped root* is the host uid/gid container root becomes.
 */
import { InvalidParameterError } from '../errors.js';
import type { IdMapping } from './oci-types.js';

export type { IdMapping } from './oci-types.js';

/** The uid and gid maps of one user namespace. */
export interface IdMap {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/** One line of /etc/subuid or /etc/subgid. */
export interface SubordinateRange { owner: string; start: number; count: number }

/** Docker's default size and lowest start of a range it allocates (dockremap's `usermod -v`). */
export const DEFAULT_RANGE_LENGTH = 65536;
export const DEFAULT_RANGE_START = 100000;

const MAX_ID = 2 ** 32 - 1;

/** Parses subuid(5)/subgid(5) text; comments, blank and malformed lines are skipped, as shadow's own reader does. */
export function parseSubordinateFile(text: string): SubordinateRange[] {
  const out: SubordinateRange[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const [owner, start, count, ...rest] = line.split(':');
    if (rest.length || !owner || !/^\d+$/.test(start ?? '') || !/^\d+$/.test(count ?? '')) continue;
    const s = Number(start);
    const n = Number(count);
    if (n === 0 || s + n - 1 > MAX_ID) continue;
    out.push({ owner, start: s, count: n });
  }
  return out;
}

/** The ranges of one user or group, by name or by its numeric ID (both spellings are valid in the files). */
export function rangesOf(all: SubordinateRange[], name: string, id?: number): SubordinateRange[] {
  return all.filter((r) => r.owner === name || (id !== undefined && r.owner === String(id)));
}

/** OCI mappings of a list of ranges: container IDs 0.. laid over the ranges in order. */
export function mappingsOf(ranges: SubordinateRange[]): IdMapping[] {
  const out: IdMapping[] = [];
  let next = 0;
  for (const r of ranges) {
    out.push({ containerID: next, hostID: r.start, size: r.count });
    next += r.count;
  }
  return out;
}

/** The host ID a container ID maps to, or undefined when it is outside every mapping. */
export function toHost(mappings: IdMapping[], id: number): number | undefined {
  for (const m of mappings) if (id >= m.containerID && id < m.containerID + m.size) return m.hostID + (id - m.containerID);
  return undefined;
}

/** The container ID a host ID shows as, or undefined when no mapping covers it (the container sees the overflow ID). */
export function toContainer(mappings: IdMapping[], id: number): number | undefined {
  for (const m of mappings) if (id >= m.hostID && id < m.hostID + m.size) return m.containerID + (id - m.hostID);
  return undefined;
}

/** /proc/sys/kernel/overflowuid: what a user namespace shows for an unmapped ID. */
export const OVERFLOW_ID = 65534;

/** A file's owner as the container sees it (the overflow ID where the maps do not reach). */
export function ownerInContainer(map: IdMap, uid: number, gid: number): { uid: number; gid: number } {
  return { uid: toContainer(map.uidMappings, uid) ?? OVERFLOW_ID, gid: toContainer(map.gidMappings, gid) ?? OVERFLOW_ID };
}

/** The host owner of a container owner; an ID outside the maps is refused (dockerd's words). */
export function ownerOnHost(map: IdMap, uid: number, gid: number): { uid: number; gid: number } {
  const hu = toHost(map.uidMappings, uid);
  const hg = toHost(map.gidMappings, gid);
  if (hu === undefined || hg === undefined) throw new InvalidParameterError(`Container ID ${hu === undefined ? uid : gid} cannot be mapped to a host ID`);
  return { uid: hu, gid: hg };
}

/** Host uid and gid of container root. */
export function remappedRoot(map: IdMap): { uid: number; gid: number } {
  const uid = toHost(map.uidMappings, 0);
  const gid = toHost(map.gidMappings, 0);
  if (uid === undefined || gid === undefined) throw new InvalidParameterError('the user namespace maps no ID to container root (0)');
  return { uid, gid };
}

/** The lines of /proc/<pid>/uid_map (or gid_map) for these mappings. */
export function procMapText(mappings: IdMapping[]): string {
  return mappings.map((m) => `${m.containerID} ${m.hostID} ${m.size}`).join('\n') + '\n';
}

/** A short stable name of a map (`<root uid>.<root gid>`, dockerd's per-remap directory name). */
export function mapDirName(map: IdMap): string {
  const r = remappedRoot(map);
  return `${r.uid}.${r.gid}`;
}

/**
 * The first `length` IDs from DEFAULT_RANGE_START on that no range in the
 * file overlaps (any owner's): where a new remap user's range goes.
 */
export function nextFreeRange(all: SubordinateRange[], length = DEFAULT_RANGE_LENGTH): number {
  const sorted = [...all].sort((a, b) => a.start - b.start);
  let start = DEFAULT_RANGE_START;
  for (const r of sorted) {
    if (r.start + r.count <= start) continue;
    if (r.start >= start + length) break;
    start = r.start + r.count;
  }
  if (start + length - 1 > MAX_ID) throw new InvalidParameterError('no free subordinate ID range is left');
  return start;
}

/** `--userns-remap`'s value split: `default`, `user`, `user:group`, `uid`, `uid:gid` (dockerd's parseRemappedRoot). */
export function splitRemapSpec(value: string): { user: string; group?: string } {
  const parts = value.split(':');
  if (parts.length > 2 || !parts[0] || (parts.length === 2 && !parts[1])) {
    throw new InvalidParameterError(`Invalid user/group specification in --userns-remap: ${JSON.stringify(value)}`);
  }
  return parts.length === 2 ? { user: parts[0], group: parts[1] } : { user: parts[0] };
}
