/**
 * Where a container's cgroup is. Every part of berth that names it asks
 * here: the OCI spec's `linux.cgroupsPath`, stats, live updates, the "is
 * this pid still the container's" test, and the cleanup after a failed
 * create, a `rm` or a crash (reconcile).
 *
 * berth runs the cgroupfs driver (what `docker info` reports as
 * CgroupDriver and the CRI's RuntimeConfig as cgroup_driver). With it the
 * driver's form of the path is the path itself: a directory below the root
 * of every hierarchy (each v1 controller's mount, or the one v2 mount),
 * `<parent>/<container id>`. That is how dockerd (`oci_linux.go`, a join of
 * parent and id) and containerd's CRI (`<cgroup_parent>/<id>`) compose it
 * for cgroupfs. The parent is the container's `HostConfig.CgroupParent`,
 * else the daemon's default, `/berth` (dockerd's is `/docker`). The systemd
 * driver's `slice:prefix:name` form is not offered: berth never asks the
 * runtime to talk to systemd, so a `.slice` name is, as under dockerd's
 * cgroupfs driver, an ordinary directory name.
 *
 * `CgroupParent` is client input (the Docker API, a Dockerfile build's
 * `--cgroup-parent`, a pod's `linux.cgroup_parent`), so what it may name is
 * narrowed here, before anything is created or removed:
 * - no `..` component: dockerd cleans the path instead, but a relative
 *   `../x` survives Go's clean and the runtime resolves it against its own
 *   cgroup; refusing is simpler than proving every cleaned form stays put;
 * - relative parents are anchored at the hierarchy root (`mygroup` is
 *   `/mygroup`). runc would resolve them against its own cgroup, which on a
 *   v1 host differs per controller (this machine's memory cgroup is not its
 *   cpu cgroup), and stats and cleanup must find the same directory berth
 *   asked for; on a host where berthd sits in the root cgroup, the usual
 *   case, the two agree;
 * - nothing below the default parent: `/berth/<x>` is a container's own
 *   leaf, which berth removes with everything under it;
 * - no control characters (`/proc/<pid>/cgroup` is line-based) and no
 *   component longer than a file name may be.
 *
 * What goes when a container goes is its own leaf, `<parent>/<id>` (and
 * whatever its processes made below it), never the parent, even one that
 * the runtime created for it and that is empty now. dockerd (runc's
 * `destroy`) and containerd do the same: a parent is shared by other
 * containers and pods, may belong to someone else (kubelet makes and
 * removes its pod cgroups itself, with limits of its own on them), and
 * removing an empty one would race a sibling's create, which makes the
 * parent and then its own leaf in two steps. berth does not record which
 * parents it caused to exist, so it cannot tell its own from others'.
 */
import { posix } from 'node:path';
import { InvalidParameterError } from '../errors.js';

/** The drivers berth can run; the daemon reports this one. */
export type CgroupDriver = 'cgroupfs';

/** The driver berthd uses (docker info `CgroupDriver`, CRI RuntimeConfig). */
export const CGROUP_DRIVER: CgroupDriver = 'cgroupfs';

/** Where containers without a `CgroupParent` go. */
export const DEFAULT_CGROUP_PARENT = '/berth';

/** NAME_MAX: the longest directory name a cgroup file system takes. */
const NAME_MAX = 255;

/**
 * The parent `cgroupParent` names, normalised (absolute, no `.`, no double
 * slashes, no trailing slash); the default parent for an empty one. Throws
 * an InvalidParameterError (400) for what may not be named.
 */
export function cgroupParentPath(cgroupParent: unknown, defaultParent = DEFAULT_CGROUP_PARENT): string {
  if (cgroupParent === undefined || cgroupParent === null || cgroupParent === '') return defaultParent;
  if (typeof cgroupParent !== 'string') throw new InvalidParameterError('invalid cgroup parent: must be a string');
  const shown = JSON.stringify(cgroupParent.slice(0, 300));
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(cgroupParent)) throw new InvalidParameterError(`invalid cgroup parent ${shown}: control characters are not allowed`);
  const parts = cgroupParent.split('/');
  if (parts.includes('..')) throw new InvalidParameterError(`invalid cgroup parent ${shown}: '..' is not allowed in a cgroup path`);
  const long = parts.find((p) => p.length > NAME_MAX);
  if (long) throw new InvalidParameterError(`invalid cgroup parent ${shown}: a path component is longer than ${NAME_MAX} characters`);
  const path = posix.normalize('/' + cgroupParent).replace(/(.)\/$/, '$1');
  if (path.startsWith(defaultParent + '/')) {
    throw new InvalidParameterError(`invalid cgroup parent ${shown}: ${defaultParent} holds berth's own container cgroups; choose a parent outside it`);
  }
  return path;
}

/**
 * Container `id`'s cgroup, in the driver's form (`linux.cgroupsPath`):
 * `<parent>/<id>`. The parent is checked as `cgroupParentPath` checks it,
 * so a stored record that predates a rule cannot name anything else either.
 */
export function containerCgroupPath(id: string, cgroupParent?: unknown, defaultParent = DEFAULT_CGROUP_PARENT): string {
  if (!/^[0-9a-f]{64}$/.test(id)) throw new InvalidParameterError(`invalid container id for a cgroup: ${JSON.stringify(id.slice(0, 80))}`);
  const parent = cgroupParentPath(cgroupParent, defaultParent);
  return parent === '/' ? `/${id}` : `${parent}/${id}`;
}

/** A container record's cgroup: `containerCgroupPath` of its id and its `HostConfig.CgroupParent`. */
export function cgroupOfContainer(c: { Id: string; HostConfig: { CgroupParent?: unknown } }): string {
  return containerCgroupPath(c.Id, c.HostConfig.CgroupParent);
}

/**
 * Whether a `/proc/<pid>/cgroup` text puts the process in `cgroupsPath`
 * itself (not a parent, not a child) in some hierarchy, v1 or v2. Lines are
 * `hierarchy-id:controllers:path`, the path everything after the second
 * colon. The path may carry a prefix: a berthd whose v1 hierarchies are
 * mounted from a sub-cgroup without a cgroup namespace of its own (a
 * container run with `--cgroupns host`) sees `/<outer>/<parent>/<id>`.
 */
export function inCgroup(procCgroup: string, cgroupsPath: string): boolean {
  return procCgroup.split('\n').some((line) => {
    const first = line.indexOf(':');
    const second = first < 0 ? -1 : line.indexOf(':', first + 1);
    // cgroupsPath starts with '/', so a suffix match ends on a component boundary.
    return second >= 0 && line.slice(second + 1).endsWith(cgroupsPath);
  });
}
