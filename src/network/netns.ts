/**
 * A container's network namespace is a named, bind-mounted namespace
 * `/run/netns/berth-<short id>` that exists before the container (netavark
 * configures it, then the OCI runtime joins it by path) and is deleted after
 * netavark's teardown — the same files `ip netns` makes and reads.
 *
 * `ip netns add` sets up /run/netns once (a shared mount point, so namespaces
 * mounted later show in every mount namespace); after that berthd makes and
 * deletes namespaces through its long-lived syscall helper (fs-special.ts),
 * which saves two ip(8) spawns per container start — each one blocks the
 * daemon's event loop for milliseconds.
 */
import { existsSync, readFileSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { EINVAL, SpecialFsError, sharedSpecialFs, specialFsSupported } from '../image/fs-special.js';
import { runCommand } from '../run-command.js';
import { NotImplementedError } from '../errors.js';

export const NETNS_DIR = '/run/netns';
const MNT_DETACH = 2;

export function netnsName(containerId: string): string {
  return `berth-${containerId.slice(0, 12)}`;
}

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/** ip(8) with `args`. */
export async function ip(args: string[]): Promise<void> {
  await runCommand(['ip', ...args]);
}

let dirShared = false;

/** Whether /run/netns is already the shared mount point `ip netns add` makes it. */
function netnsDirShared(): boolean {
  if (dirShared) return true;
  try {
    // mountinfo: id parent major:minor root mount-point options optional-fields… - fstype source super-options
    dirShared = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => {
      const f = line.split(' ');
      return f[4] === NETNS_DIR && f.slice(6, f.indexOf('-')).some((o) => o.startsWith('shared:'));
    });
  } catch {
    dirShared = false;
  }
  return dirShared;
}

/**
 * Creates the named namespace (replacing a stale one a crash left) and
 * returns its path. With `userns` (a bound user namespace), the network
 * namespace is that user namespace's own: a container in it (berthd
 * --userns-remap) can then mount sysfs, set its sysctls and be exec'd into.
 */
export async function createNetns(name: string, o: { userns?: string } = {}): Promise<string> {
  const path = netnsPath(name);
  if (existsSync(path)) await deleteNetns(name).catch(() => undefined);
  if (o.userns && !(specialFsSupported() && netnsDirShared())) {
    throw new NotImplementedError(`network namespaces of user namespaces need berth's syscall helper (${process.arch}) and a shared ${NETNS_DIR}`);
  }
  if (specialFsSupported() && netnsDirShared()) {
    await writeFile(path, '', { flag: 'wx', mode: 0 });
    try {
      await sharedSpecialFs().newNetns(path, o.userns);
    } catch (e) {
      await unlink(path).catch(() => undefined);
      throw e;
    }
    return path;
  }
  await ip(['netns', 'add', name]);
  return path;
}

/** Deletes the named namespace; one that is already gone is fine. */
export async function deleteNetns(name: string): Promise<void> {
  const path = netnsPath(name);
  if (!existsSync(path)) return;
  if (!specialFsSupported()) {
    await ip(['netns', 'delete', name]);
    return;
  }
  // What `ip netns delete` does: detach the bind mount (a namespace still in use lives on), then the file.
  await sharedSpecialFs().umount(path, MNT_DETACH).catch((e: unknown) => {
    if (!(e instanceof SpecialFsError && e.errno === EINVAL)) throw e; // EINVAL: not mounted (a half-made one)
  });
  await unlink(path).catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
}

/**
 * Adds `cidr` to interface `ifname` inside the named namespace (dockerd's
 * `--link-local-ip`); an IPv6 address skips duplicate address detection,
 * which would keep it tentative, unusable, for a second or more.
 */
export async function addLinkLocalAddress(name: string, ifname: string, cidr: string): Promise<void> {
  await ip(['-n', name, 'addr', 'add', cidr, 'dev', ifname, ...(cidr.includes(':') ? ['nodad'] : [])]);
}

