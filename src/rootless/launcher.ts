/**
 * Rootless berthd, outside half: started by an ordinary user, berthd
 * starts itself again inside a new user, mount, network and PID namespace
 * and stays outside as its launcher (what rootlesskit is to dockerd-rootless).
 *
 * - The user namespace maps the user to root and the user's subordinate IDs
 *   (/etc/subuid, /etc/subgid: the first range) to 1…N, through the setuid
 *   newuidmap/newgidmap (Debian `uidmap`) that util-linux's unshare(1)
 *   calls for `--map-users/--map-groups`. Inside, berthd is root of that
 *   namespace: it mounts overlays, makes bridges and iptables rules, runs
 *   conmon and runc, with no privilege on the host. Container root is the
 *   user; container IDs 1… are the subordinate IDs.
 * - The network namespace reaches the world through slirp4netns
 *   (slirp4netns.ts), started here once the namespace exists; published
 *   ports are its host forwards.
 * - The PID namespace holds everything berthd starts: conmon, runtimes,
 *   containers (their own PID namespaces nest in it). Its init is tini
 *   (`unshare --pid --fork --mount-proc`, then tini, then berthd), which
 *   reaps the orphans every namespace init adopts (conmon daemonizes; node
 *   reaps only its own children, and a zombie conmon would look alive) and
 *   passes signals on to berthd. /proc inside is this namespace's own, so
 *   berthd, conmon and the runtimes see and report their own pids.
 * - The two halves talk over one socket pair (the child's fd 3): the child
 *   says it is in its namespaces, the launcher answers once the network is
 *   up; when either side goes, the other sees the socket close.
 *
 * When berthd exits, cleanly or not, tini exits with its status, and the
 * kernel kills everything left in the PID namespace: conmon and the
 * containers go, the namespaces and every mount in them with them. A
 * rootless berthd's containers do not outlive it (as dockerd-rootless
 * without live-restore), and nothing outside its namespace is touched: the
 * same user's other rootless engines (podman, another berthd on other
 * roots) use the same subordinate IDs in namespaces of their own.
 *
 * SIGTERM, SIGINT and SIGHUP to the launcher go to tini, which passes them
 * to berthd: a clean stop first, then the end of the namespace. The
 * launcher's pid is the one berthd writes in its pid file (inside.ts
 * daemonPid). One launcher per exec root and per data root: it locks both
 * (store/root-lock.ts) before making any namespace, so a second rootless
 * berthd on them is refused before it could take the first's slirp4netns
 * API socket.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { constants, userInfo } from 'node:os';
import type { Socket } from 'node:net';
import { findExecutable } from '../executable.js';
import { InvalidParameterError, SystemError } from '../errors.js';
import { parseSubordinateFile, rangesOf, type SubordinateRange } from '../runtime/id-map.js';
import { initBinary } from '../runtime/spec.js';
import { lockRoot } from '../store/root-lock.js';
import { slirp4netnsPath, startSlirp4netns, type Slirp4netns } from './slirp4netns.js';
import { LAUNCHER_FD_ENV, LAUNCHER_PID_ENV, LAUNCHER_USER_ENV, slirpApiSocket } from './inside.js';

const DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'];
/** The launcher's own lock file in each root, beside the inner berthd's berthd.lock (which the launcher must leave to it). */
export const LAUNCHER_LOCK_FILE = 'rootless-launcher.lock';

export interface LauncherOptions {
  /** berthd's own argv (after the script), passed on to the inner berthd with `--rootless`. */
  argv: string[];
  execRoot: string;
  dataRoot: string;
  subuidFile?: string;
  subgidFile?: string;
}

/** The user's first subordinate range in `file`, or a clear error. */
function firstRange(file: string, user: string, id: number, kind: 'UIDs' | 'GIDs'): SubordinateRange {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new SystemError(`rootless berthd needs subordinate ${kind} for ${user} in ${file}: ${(e as Error).message}`);
  }
  const r = rangesOf(parseSubordinateFile(text), user, id)[0];
  if (!r) throw new InvalidParameterError(`rootless berthd needs subordinate ${kind} for ${user} in ${file} (add a range, e.g. \`usermod --add-sub${kind === 'UIDs' ? 'uids' : 'gids'} 100000-165535 ${user}\`)`);
  return r;
}

function need(name: string, pkg: string): string {
  const p = findExecutable(name, DIRS);
  if (!p) throw new SystemError(`rootless berthd needs ${name} (Debian package ${pkg})`);
  return p;
}

/** Runs the inner berthd and returns its exit code once it and everything in its namespaces are gone. */
export async function runRootlessLauncher(o: LauncherOptions): Promise<number> {
  const me = userInfo();
  const uidRange = firstRange(o.subuidFile ?? '/etc/subuid', me.username, me.uid, 'UIDs');
  const gidRange = firstRange(o.subgidFile ?? '/etc/subgid', me.username, me.uid, 'GIDs');
  need('newuidmap', 'uidmap');
  need('newgidmap', 'uidmap');
  const unshare = need('unshare', 'util-linux');
  const tini = initBinary();
  if (!tini) throw new SystemError('rootless berthd needs tini (Debian package tini), the init of its PID namespace');
  if (!slirp4netnsPath()) need('slirp4netns', 'slirp4netns');
  for (const root of [o.execRoot, o.dataRoot]) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
    lockRoot(root, { name: LAUNCHER_LOCK_FILE });
  }

  const child = spawn(unshare, [
    '--map-user=0', '--map-group=0',
    `--map-users=${uidRange.start},1,${uidRange.count}`, `--map-groups=${gidRange.start},1,${gidRange.count}`,
    '--mount', '--net', '--propagation', 'private',
    // The namespace's init is unshare's child; should unshare die, so does it (and with it the namespace).
    '--pid', '--fork', '--mount-proc', '--kill-child',
    '--', tini, '--', process.execPath, ...process.execArgv, process.argv[1], ...o.argv, '--rootless',
  ], {
    stdio: ['inherit', 'inherit', 'inherit', 'pipe'],
    env: { ...process.env, [LAUNCHER_FD_ENV]: '3', [LAUNCHER_USER_ENV]: me.username, [LAUNCHER_PID_ENV]: String(process.pid) },
  });
  const channel = child.stdio[3] as Socket;
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] ?? 0 : 0))));
  // The namespace's init on the host, once known: unshare itself holds SIGTERM and SIGINT blocked while it waits.
  let init: number | undefined;
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(sig, () => {
      if (init !== undefined) signal(init, sig);
      else child.kill('SIGKILL'); // still starting: nothing to stop cleanly, and --kill-child ends the rest
    });
  }

  let slirp: Slirp4netns | undefined;
  let setupFailed = false;
  channel.on('error', () => undefined);
  channel.once('data', () => {
    // berthd speaks once it runs in its namespaces: unshare's child (tini) is their init by then.
    void (async () => {
      try {
        init = namespaceInit(child.pid!);
        slirp = await startSlirp4netns(init, slirpApiSocket(o.execRoot));
        channel.write('go\n');
      } catch (e) {
        console.error(`berthd: ${(e as Error).message}`);
        setupFailed = true;
        child.kill('SIGKILL');
      }
    })();
  });
  const code = await exited;
  init = undefined; // its pid may name another process from now on
  channel.destroy();
  await slirp?.stop();
  return setupFailed ? 1 : code;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* gone already: the namespace is ending */ }
}

/** The host pid of the PID namespace's init: the child of `unshare` (pid) in a PID namespace other than ours. */
function namespaceInit(unsharePid: number): number {
  const own = readlinkSync('/proc/self/ns/pid');
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)/m.exec(readFileSync(`/proc/${d}/status`, 'utf8'))?.[1]);
      if (ppid === unsharePid && readlinkSync(`/proc/${d}/ns/pid`) !== own) return Number(d);
    } catch { /* gone, or not ours to read */ }
  }
  throw new SystemError(`rootless berthd: unshare (pid ${unsharePid}) has no child in a new PID namespace`);
}
