/**
 * Rootless berthd, outside half: started by an ordinary user, berthd
 * starts itself again inside a new user, mount and network namespace and
 * stays outside as its launcher (what rootlesskit is to dockerd-rootless).
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
 * - The two halves talk over one socket pair (the child's fd 3): the child
 *   says it is in its namespaces, the launcher answers once the network is
 *   up; when either side goes, the other sees the socket close.
 *
 * When the inner berthd exits, every process left in its user namespace
 * (conmon and the containers) is killed, which ends the namespaces and
 * every mount in them: a rootless berthd's containers do not outlive it
 * (as dockerd-rootless without live-restore), and nothing is left mounted.
 * The launcher may kill them: it owns their user namespace.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { constants, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import { findExecutable } from '../executable.js';
import { InvalidParameterError, SystemError } from '../errors.js';
import { parseSubordinateFile, rangesOf, type SubordinateRange } from '../runtime/id-map.js';
import { slirp4netnsPath, startSlirp4netns, type Slirp4netns } from './slirp4netns.js';
import { LAUNCHER_FD_ENV, LAUNCHER_USER_ENV, slirpApiSocket } from './inside.js';

const DIRS = ['/usr/bin', '/usr/sbin', '/bin', '/sbin', '/usr/local/bin'];

export interface LauncherOptions {
  /** berthd's own argv (after the script), passed on to the inner berthd with `--rootless`. */
  argv: string[];
  execRoot: string;
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

/** Runs the inner berthd and returns its exit code once it and everything it left are gone. */
export async function runRootlessLauncher(o: LauncherOptions): Promise<number> {
  const me = userInfo();
  const uidRange = firstRange(o.subuidFile ?? '/etc/subuid', me.username, me.uid, 'UIDs');
  const gidRange = firstRange(o.subgidFile ?? '/etc/subgid', me.username, me.uid, 'GIDs');
  need('newuidmap', 'uidmap');
  need('newgidmap', 'uidmap');
  const unshare = need('unshare', 'util-linux');
  if (!slirp4netnsPath()) need('slirp4netns', 'slirp4netns');
  mkdirSync(o.execRoot, { recursive: true, mode: 0o700 });

  const child = spawn(unshare, [
    '--map-user=0', '--map-group=0',
    `--map-users=${uidRange.start},1,${uidRange.count}`, `--map-groups=${gidRange.start},1,${gidRange.count}`,
    '--mount', '--net', '--propagation', 'private',
    '--', process.execPath, ...process.execArgv, process.argv[1], ...o.argv, '--rootless',
  ], { stdio: ['inherit', 'inherit', 'inherit', 'pipe'], env: { ...process.env, [LAUNCHER_FD_ENV]: '3', [LAUNCHER_USER_ENV]: me.username } });
  const channel = child.stdio[3] as Socket;
  const exited = new Promise<number>((resolve) => child.once('exit', (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] ?? 0 : 0))));
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => child.kill(sig));

  let slirp: Slirp4netns | undefined;
  let setupFailed = false;
  let userns: string | undefined;
  channel.on('error', () => undefined);
  channel.once('data', () => {
    // The child speaks once unshare has made its namespaces and exec'd it: same pid.
    void (async () => {
      try {
        userns = readlinkSync(`/proc/${child.pid}/ns/user`);
        slirp = await startSlirp4netns(child.pid!, slirpApiSocket(o.execRoot));
        channel.write('go\n');
      } catch (e) {
        console.error(`berthd: ${(e as Error).message}`);
        setupFailed = true;
        child.kill('SIGKILL');
      }
    })();
  });
  const code = await exited;
  channel.destroy();
  if (userns) await killNamespace(userns, uidRange);
  await slirp?.stop();
  return setupFailed ? 1 : code;
}

/**
 * SIGKILLs every process of the inner berthd's world, until none is left:
 * those in its user namespace (`userns`, as readlink shows it), and those
 * in the containers' namespaces nested in it, which run as the user's
 * subordinate IDs (`subuids`) in a user namespace other than the
 * launcher's own.
 */
async function killNamespace(userns: string, subuids: SubordinateRange): Promise<void> {
  const own = readlinkSync('/proc/self/ns/user');
  const ours = (pid: string): boolean => {
    try {
      const ns = readlinkSync(join('/proc', pid, 'ns', 'user'));
      if (ns === userns) return true;
      if (ns === own) return false;
      const uid = Number(/^Uid:\s+(\d+)/m.exec(readFileSync(join('/proc', pid, 'status'), 'utf8'))?.[1] ?? -1);
      return uid >= subuids.start && uid < subuids.start + subuids.count;
    } catch {
      return false;
    }
  };
  for (let round = 0; round < 50; round++) {
    const pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d) && ours(d)).map(Number);
    if (!pids.length) return;
    for (const pid of pids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone already */ }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  console.error(`berthd: processes of the rootless namespace ${userns} did not exit`);
}
