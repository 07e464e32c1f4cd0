/**
 * Bind mounts with shared or slave propagation, as dockerd handles them
 * (moby daemon/oci_linux.go WithMounts, ensureShared/ensureSharedOrSlave):
 *
 * - `shared`/`rshared` needs the host mount holding the source to be
 *   shared, `slave`/`rslave` shared or a slave: otherwise no mount event
 *   could ever travel the way asked, and the start fails saying so;
 * - the container's root then gets `rshared` (any shared bind) or `rslave`
 *   propagation (`linux.rootfsPropagation`): the runtime's default, a
 *   private root, would cut the bind off from the host's peer group, so
 *   mounts made on the host after the start would not appear in the
 *   container (nor, for rshared, the container's on the host). This is
 *   what Kubernetes' Bidirectional and HostToContainer mounts rely on.
 */
import { readFileSync, realpathSync } from 'node:fs';
import { InvalidParameterError } from '../errors.js';
import type { MountPoint } from '../store/container-store.js';

/** One line of /proc/self/mountinfo: where a mount sits and its propagation (optional fields). */
export interface MountInfo { mountPoint: string; optional: string[] }

/** mountinfo escapes blanks, tabs, newlines and backslashes as octal (`\040`). */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** The host's mounts: `id parent major:minor root mount-point options optional… - fstype source super-options`. */
export function readMountInfo(text = readFileSync('/proc/self/mountinfo', 'utf8')): MountInfo[] {
  return text.split('\n').filter(Boolean).map((line) => {
    const f = line.split(' ');
    const dash = f.indexOf('-', 6);
    return { mountPoint: unescape(f[4] ?? ''), optional: f.slice(6, dash < 0 ? undefined : dash) };
  });
}

/** The mount `path` lives on: the last-mounted one with the longest mount point containing it. */
function mountOf(path: string, mounts: MountInfo[]): MountInfo | undefined {
  let best: MountInfo | undefined;
  for (const m of mounts) {
    const inside = m.mountPoint === '/' || path === m.mountPoint || path.startsWith(`${m.mountPoint}/`);
    if (inside && (!best || m.mountPoint.length >= best.mountPoint.length)) best = m;
  }
  return best;
}

const SHARED = new Set(['shared', 'rshared']);
const SLAVE = new Set(['slave', 'rslave']);

/**
 * The root propagation a container's mounts need (undefined: the runtime's
 * default), after checking each shared or slave bind's source mount.
 * `mounts` defaults to the host's now; sources are resolved through symlinks.
 */
export function rootfsPropagation(binds: readonly MountPoint[], mounts?: MountInfo[]): 'rshared' | 'rslave' | undefined {
  let wanted: 'rshared' | 'rslave' | undefined;
  for (const b of binds) {
    if (b.Type !== 'bind' || !(SHARED.has(b.Propagation) || SLAVE.has(b.Propagation))) continue;
    mounts ??= readMountInfo();
    let source = b.Source;
    try { source = realpathSync(b.Source); } catch { /* the runtime reports a missing source */ }
    const m = mountOf(source, mounts);
    const shared = !!m?.optional.some((o) => o.startsWith('shared:'));
    const slave = !!m?.optional.some((o) => o.startsWith('master:'));
    if (SHARED.has(b.Propagation)) {
      if (!shared) throw new InvalidParameterError(`path ${b.Source} is mounted on ${m?.mountPoint ?? '/'} but it is not a shared mount`);
      wanted = 'rshared';
    } else {
      if (!shared && !slave) throw new InvalidParameterError(`path ${b.Source} is mounted on ${m?.mountPoint ?? '/'} but it is not a shared or slave mount`);
      wanted ??= 'rslave';
    }
  }
  return wanted;
}
