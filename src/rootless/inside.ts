/**
 * Rootless berthd, inside half: what the inner berthd does first, in the
 * namespaces the launcher (launcher.ts) made for it, before the engine
 * starts.
 *
 * /run gets its own tmpfs here, with the host's entries bound back into it
 * (rootlesskit's "copy-up"): berthd, ip(8), runc, crun and iptables write
 * /run/netns, /run/lock, /run/runc, /run/crun and /run/xtables.lock, which
 * on the host are root's, and which in here must be this daemon's own. The
 * entries bound back keep the rest working: the user's runtime directory
 * (socket, exec root) and /run/systemd/resolve (where /etc/resolv.conf may
 * point). /sys gets this network namespace's own sysfs (ownSysfs), and
 * /etc/resolv.conf nameservers it can reach (resolv-conf.ts).
 *
 * Containers get a user namespace of their own inside berthd's, through the
 * `--userns-remap` machinery (engine/userns-remap.ts): container IDs 0…N-1
 * are berthd's 1…N, which are the user's subordinate IDs. So container root
 * is the first subordinate ID on the host, never the user (whose files
 * container root could otherwise change) and never host root.
 *
 * That machinery needs every directory above the roots to let the
 * container's root through, and the user's own directories
 * ($XDG_RUNTIME_DIR is 0700) do not. So the roots are bound, inside this
 * mount namespace only, on directories of the private /run: berthd works on
 * /run/berth and /run/berth-data, which are the user's exec and data roots.
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { userInfo } from 'node:os';
import { runCommand } from '../run-command.js';
import { SystemError } from '../errors.js';
import type { RemapIdentity } from '../runtime/remap-user.js';
import { namespaceResolvConf } from './resolv-conf.js';
import type { IdMapping } from '../runtime/oci-types.js';

/** The environment variables naming the inner berthd's fd to its launcher, the user (who is root in here), and the launcher's pid on the host. */
export const LAUNCHER_FD_ENV = '_BERTH_ROOTLESS_LAUNCHER_FD';
export const LAUNCHER_USER_ENV = '_BERTH_ROOTLESS_USER';
export const LAUNCHER_PID_ENV = '_BERTH_ROOTLESS_LAUNCHER_PID';

/**
 * What berthd and the tools it runs make in /run: fresh ones, never the
 * host's (mount(8) keeps its utab in /run/mount).
 */
const OWN_RUN_ENTRIES = new Set(['netns', 'lock', 'runc', 'crun', 'berth', 'berth-data', 'containers', 'xtables.lock', 'criu', 'mount']);

/** Read once: the variable is taken out of the environment, so conmon and containers never see it. */
const launcherUser = process.env[LAUNCHER_USER_ENV] ?? '';
const launcherPid = Number(process.env[LAUNCHER_PID_ENV] ?? 0);
const launcherFd = ((): number | undefined => {
  const v = process.env[LAUNCHER_FD_ENV];
  delete process.env[LAUNCHER_FD_ENV];
  delete process.env[LAUNCHER_USER_ENV];
  delete process.env[LAUNCHER_PID_ENV];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
})();

/** Whether this berthd is the inner one of a rootless launcher. */
export function insideRootlessNamespace(): boolean {
  return launcherFd !== undefined;
}

/**
 * The pid berthd names in its pid file and root locks. Inside, berthd has a
 * pid of its namespace (launcher.ts), meaningless on the host; the launcher
 * is what the host sees and signals: SIGTERM there stops berthd cleanly and
 * then everything in its namespaces.
 */
export function daemonPid(): number {
  return insideRootlessNamespace() && Number.isInteger(launcherPid) && launcherPid > 0 ? launcherPid : process.pid;
}

/** The slirp4netns API socket of a rootless berthd with exec root `execRoot`. */
export function slirpApiSocket(execRoot: string): string {
  return join(execRoot, 'slirp4netns.sock');
}

/** Where the roots are bound inside (see above). */
export const INNER_EXEC_ROOT = '/run/berth';
export const INNER_DATA_ROOT = '/run/berth-data';

export interface InnerRoots { dataRoot: string; execRoot: string }

/**
 * Tells the launcher the namespaces exist, waits for its network, and gives
 * this mount namespace its own /run, with the roots bound in it. If the
 * launcher goes away later, so does this berthd (nothing could publish its
 * ports or reach its network).
 */
export async function enterRootlessNamespace(roots: InnerRoots): Promise<InnerRoots> {
  if (launcherFd === undefined) throw new SystemError('not started by a rootless launcher');
  const channel = new net.Socket({ fd: launcherFd, readable: true, writable: true });
  await new Promise<void>((resolve, reject) => {
    channel.once('data', () => resolve());
    channel.once('close', () => reject(new SystemError('rootless launcher: the network namespace could not be set up')));
    channel.write('ns\n');
  });
  channel.on('close', () => {
    console.error('berthd: rootless launcher gone, exiting');
    process.exit(1);
  });
  channel.unref();
  await privateRun();
  await ownSysfs();
  await reachableResolvConf();
  const inner = { dataRoot: INNER_DATA_ROOT, execRoot: INNER_EXEC_ROOT };
  for (const k of ['dataRoot', 'execRoot'] as const) {
    mkdirSync(roots[k], { recursive: true, mode: 0o700 });
    mkdirSync(inner[k], { mode: 0o700 });
    await runCommand(['mount', '--bind', roots[k], inner[k]]);
  }
  return inner;
}

/**
 * A sysfs of this network namespace on /sys: the host's shows the host's
 * interfaces (sysfs shows those of the namespace that mounted it), and
 * berthd looks for its bridges and veths under /sys/class/net. The cgroup
 * hierarchies under /sys/fs/cgroup are bound back.
 */
async function ownSysfs(): Promise<void> {
  const hostCgroupFd = openSync('/sys/fs/cgroup', 'r');
  try {
    await runCommand(['mount', '-t', 'sysfs', '-o', 'nosuid,nodev,noexec', 'sysfs', '/sys']);
    await runCommand(['mount', '--no-canonicalize', '--rbind', `/proc/${process.pid}/fd/${hostCgroupFd}`, '/sys/fs/cgroup']);
  } finally {
    closeSync(hostCgroupFd);
  }
}

/**
 * A resolv.conf whose nameservers this namespace can reach (resolv-conf.ts),
 * bound over the host's in this mount namespace only; containers get
 * theirs from it as from the host's.
 */
async function reachableResolvConf(): Promise<void> {
  const own = namespaceResolvConf(readFileSync('/etc/resolv.conf', 'utf8'));
  if (own === undefined) return;
  writeFileSync(join('/run', 'resolv.conf'), own, { mode: 0o644 });
  // Names still resolve where the host's file has other nameservers too: a warning, not a failed start.
  await runCommand(['mount', '--bind', join('/run', 'resolv.conf'), '/etc/resolv.conf'])
    .catch((e) => console.error(`berthd: WARNING: loopback nameservers of /etc/resolv.conf are out of reach: ${(e as Error).message}`));
}

/**
 * The maps of containers' user namespaces: container IDs 0… onto this
 * namespace's IDs 1… (the subordinate range the launcher mapped there).
 */
export function containerIdentity(): RemapIdentity {
  const above = (file: string): IdMapping[] => {
    const one = readFileSync(file, 'utf8').split('\n').map((l) => l.trim().split(/\s+/).map(Number)).find((f) => f.length === 3 && f[0] === 1);
    if (!one) throw new SystemError(`rootless berthd: ${file} maps no subordinate IDs from 1`);
    return [{ containerID: 0, hostID: 1, size: one[2] }];
  };
  const name = launcherUser || userInfo().username;
  return { user: name, group: name, uidMappings: above('/proc/self/uid_map'), gidMappings: above('/proc/self/gid_map') };
}

async function privateRun(): Promise<void> {
  const hostRunFd = openSync('/run', 'r');
  // Resolved by mount(8), another process: through berthd's own fd table, and not canonicalized
  // (libmount would turn the link back into the path /run, which is the new tmpfs by then).
  const hostRun = `/proc/${process.pid}/fd/${hostRunFd}`;
  await runCommand(['mount', '-t', 'tmpfs', '-o', 'mode=0755,nosuid,nodev', 'tmpfs', '/run']);
  for (const e of readdirSync(hostRun, { withFileTypes: true })) {
    const at = join('/run', e.name);
    if (OWN_RUN_ENTRIES.has(e.name) || existsSync(at)) continue;
    if (e.isSymbolicLink()) {
      symlinkSync(readlinkSync(join(hostRun, e.name)), at);
    } else if (e.isDirectory()) {
      mkdirSync(at);
      await runCommand(['mount', '--no-canonicalize', '--rbind', join(hostRun, e.name), at]);
    }
    // Plain files (utmp, pid files, locks) are the host's business, not berthd's.
  }
  closeSync(hostRunFd);
  // flock(1)'s lock files (network/netavark.ts), as on any Debian host.
  mkdirSync('/run/lock', { mode: 0o1777 });
  // /run/netns as `ip netns add` makes it, a shared mount point (network/netns.ts binds namespaces there).
  mkdirSync('/run/netns', { mode: 0o755 });
  await runCommand(['mount', '--bind', '/run/netns', '/run/netns']);
  await runCommand(['mount', '--make-shared', '/run/netns']);
}
