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
 * point).
 */
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readlinkSync, symlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { runCommand } from '../run-command.js';
import { SystemError } from '../errors.js';

/** The environment variable naming the inner berthd's fd to its launcher. */
export const LAUNCHER_FD_ENV = '_BERTH_ROOTLESS_LAUNCHER_FD';

/**
 * What berthd and the tools it runs make in /run: fresh ones, never the
 * host's (mount(8) keeps its utab in /run/mount).
 */
const OWN_RUN_ENTRIES = new Set(['netns', 'lock', 'runc', 'crun', 'berth', 'containers', 'xtables.lock', 'criu', 'mount']);

/** Read once: the variable is taken out of the environment, so conmon and containers never see it. */
const launcherFd = ((): number | undefined => {
  const v = process.env[LAUNCHER_FD_ENV];
  delete process.env[LAUNCHER_FD_ENV];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
})();

/** Whether this berthd is the inner one of a rootless launcher. */
export function insideRootlessNamespace(): boolean {
  return launcherFd !== undefined;
}

/** The slirp4netns API socket of a rootless berthd with exec root `execRoot`. */
export function slirpApiSocket(execRoot: string): string {
  return join(execRoot, 'slirp4netns.sock');
}

/**
 * Tells the launcher the namespaces exist, waits for its network, and gives
 * this mount namespace its own /run. If the launcher goes away later, so
 * does this berthd (nothing could publish its ports or reach its network).
 */
export async function enterRootlessNamespace(): Promise<void> {
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
}

async function privateRun(): Promise<void> {
  const hostRunFd = openSync('/run', 'r');
  // Resolved by mount(8), another process: through berthd's own fd table.
  const hostRun = `/proc/${process.pid}/fd/${hostRunFd}`;
  await runCommand(['mount', '-t', 'tmpfs', '-o', 'mode=0755,nosuid,nodev', 'tmpfs', '/run']);
  for (const e of readdirSync(hostRun, { withFileTypes: true })) {
    const at = join('/run', e.name);
    if (OWN_RUN_ENTRIES.has(e.name) || existsSync(at)) continue;
    if (e.isSymbolicLink()) {
      symlinkSync(readlinkSync(join(hostRun, e.name)), at);
    } else if (e.isDirectory()) {
      mkdirSync(at);
      await runCommand(['mount', '--rbind', join(hostRun, e.name), at]);
    }
    // Plain files (utmp, pid files, locks) are the host's business, not berthd's.
  }
  closeSync(hostRunFd);
  // flock(1)'s lock files (network/netavark.ts), as on any Debian host.
  mkdirSync('/run/lock', { mode: 0o1777 });
}
