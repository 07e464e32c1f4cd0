/**
 * The engines the benchmark compares, each driven through its own CLI with a
 * clean environment:
 *
 * - berth: this checkout's CLI (`node bin/berth`) against the bench's
 *   private berthd;
 * - the Docker CLI against that same berthd: berth's daemon without the
 *   start-up cost of a Node CLI;
 * - dockerd through the Docker CLI, when a dockerd answers on
 *   /var/run/docker.sock;
 * - podman, when its binary is installed and can run a container here.
 *
 * On peers the bench only touches what it made: images under the
 * `berth-bench/` name, containers of those images, and images that appeared
 * during the run and are left untagged (build intermediates).
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { CLEAN_ENV, firstErrorLine, listProcesses, run, which } from './proc.js';
import { apiRequest } from './api.js';

/** The busybox image every engine runs, imported from the same rootfs tar. */
export const IMAGE = 'berth-bench/busybox:latest';
/** The 9-step build's tag. */
export const BUILD_IMAGE = 'berth-bench/build:latest';
/** The 100 MB, four-layer image of the push/pull figure. */
export const BIG_IMAGE = 'berth-bench/big:latest';

export type EngineKind = 'berth' | 'docker-cli-berthd' | 'dockerd' | 'podman';

export interface Engine {
  readonly kind: EngineKind;
  /** Its name in the table. */
  readonly label: string;
  /** argv of one CLI call. */
  cli(...args: string[]): string[];
  readonly env: Readonly<Record<string, string>>;
  /** Extra flags for `run` and `create` (podman's rlimits, see detectPodman). */
  readonly runFlags: readonly string[];
  /** `rm` flags that remove running containers at once (Docker's `rm -f` kills; podman's waits 10 s unless `-t 0`). */
  readonly rmForceFlags: readonly string[];
  /** Flags for push and pull to a plain-HTTP registry on loopback. */
  readonly registryFlags: readonly string[];
  /** Flags for `build`. */
  readonly buildFlags: readonly string[];
  /** Environment for `build` (the classic builder for the Docker CLI). */
  readonly buildEnv: Readonly<Record<string, string>>;
  /** The daemon's Docker API socket, for set-up that is not measured; undefined for podman. */
  readonly apiSocket?: string;
  /** Processes whose memory is the daemon's (none for podman). */
  daemonPids(): number[];
  /** What the table says about runtime and flags. */
  readonly notes: readonly string[];
}

/** The processes that watch these containers (conmon, containerd-shim): those whose argv names a container's id. */
export function monitorPids(ids: readonly string[]): number[] {
  const full = ids.filter((id) => id.length >= 12);
  return listProcesses().filter((p) => p.pid !== process.pid && full.some((id) => p.cmdline.includes(id))).map((p) => p.pid);
}

export function privateDockerConfig(): string {
  return mkdtempSync('/tmp/berth-bench-docker-config-');
}

export function berthEngine(berthBin: string, host: string, daemonPid: number, socket: string): Engine {
  return {
    kind: 'berth', label: 'berth CLI',
    cli: (...args) => [process.execPath, berthBin, '-H', host, ...args],
    env: CLEAN_ENV, runFlags: [], rmForceFlags: ['-f'], registryFlags: [], buildFlags: [], buildEnv: CLEAN_ENV,
    apiSocket: socket,
    daemonPids: () => [daemonPid],
    notes: [],
  };
}

/** The Docker CLI against berthd; null when there is no docker CLI. */
export function dockerCliOnBerthd(host: string, daemonPid: number, socket: string, dockerConfig: string): Engine | null {
  const docker = which('docker');
  if (!docker) return null;
  const env = { ...CLEAN_ENV, DOCKER_CONFIG: dockerConfig };
  return {
    kind: 'docker-cli-berthd', label: 'docker CLI → berthd',
    cli: (...args) => [docker, '-H', host, ...args],
    env, runFlags: [], rmForceFlags: ['-f'], registryFlags: [], buildFlags: [], buildEnv: { ...env, DOCKER_BUILDKIT: '0' },
    apiSocket: socket,
    daemonPids: () => [daemonPid],
    notes: [],
  };
}

export const DOCKERD_SOCKET = '/var/run/docker.sock';

/** dockerd through the Docker CLI, when a dockerd process answers on /var/run/docker.sock. */
export async function detectDockerd(dockerConfig: string): Promise<{ engine: Engine | null; why: string }> {
  const docker = which('docker');
  if (!docker) return { engine: null, why: 'no docker CLI' };
  if (!existsSync(DOCKERD_SOCKET)) return { engine: null, why: `no ${DOCKERD_SOCKET}` };
  const dockerds = () => listProcesses().filter((p) => p.comm === 'dockerd');
  if (dockerds().length === 0) return { engine: null, why: `${DOCKERD_SOCKET} exists but no dockerd process runs` };
  const ping = await apiRequest(DOCKERD_SOCKET, 'GET', '/_ping', undefined, 5000).catch((e: Error) => ({ status: 0, body: e.message }));
  if (ping.status !== 200) return { engine: null, why: `dockerd does not answer on ${DOCKERD_SOCKET}: ${ping.body}` };
  const host = `unix://${DOCKERD_SOCKET}`;
  const env = { ...CLEAN_ENV, DOCKER_CONFIG: dockerConfig };
  const info = await run([docker, '-H', host, 'info', '--format', '{{.ServerVersion}} {{.DefaultRuntime}} {{.Driver}}'], { env });
  const [version, runtime, driver] = info.stdout.trim().split(' ');
  const daemonPids = () => {
    const all = listProcesses();
    const dockerd = all.filter((p) => p.comm === 'dockerd');
    // dockerd's own (managed) containerd if it has one, else the machine's containerd it talks to.
    const managed = all.filter((p) => p.comm === 'containerd' && dockerd.some((d) => d.pid === p.ppid));
    const containerd = managed.length ? managed : all.filter((p) => p.comm === 'containerd');
    return [...dockerd, ...containerd].map((p) => p.pid);
  };
  return {
    engine: {
      kind: 'dockerd', label: `dockerd ${version ?? ''}`.trim(),
      cli: (...args) => [docker, '-H', host, ...args],
      env, runFlags: [], rmForceFlags: ['-f'], registryFlags: [], buildFlags: [],
      buildEnv: { ...env, DOCKER_BUILDKIT: '0' },
      apiSocket: DOCKERD_SOCKET,
      daemonPids,
      notes: [`dockerd ${version} (runtime ${runtime}, ${driver}; found running, not restarted; memory is dockerd + containerd)`],
    },
    why: '',
  };
}

function ownHardLimit(name: string): number | null {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith(name));
  const hard = line?.slice(26).trim().split(/\s+/)[1];
  return hard && /^\d+$/.test(hard) ? Number(hard) : null;
}

/**
 * podman, when installed and able to run a container here; imports `tar` as
 * `image` first (the probe needs an image). Rootful podman asks for
 * RLIMIT_NOFILE 1048576 and RLIMIT_NPROC 4194304 in every container; where
 * the host's hard limits are lower (and podman itself runs with
 * RLIMIT_NPROC 32768 on these machines) the runtime refuses, so the bench
 * then passes the highest limits that work and the table says so.
 */
export async function detectPodman(image: string, tar: string): Promise<{ engine: Engine | null; why: string }> {
  const podman = which('podman');
  if (!podman) return { engine: null, why: 'no podman binary' };
  const env = CLEAN_ENV;
  const info = await run([podman, 'info', '--format', '{{.Version.Version}} {{.Host.OCIRuntime.Name}} {{.Host.CgroupManager}}'], { env });
  if (info.code !== 0) return { engine: null, why: `podman info: ${firstErrorLine(info)}` };
  const [version, runtime, cgroupManager] = info.stdout.trim().split(' ');
  const imported = await run([podman, 'import', tar, image], { env });
  if (imported.code !== 0) return { engine: null, why: `podman import: ${firstErrorLine(imported)}` };

  const nofile = ownHardLimit('Max open files');
  const nproc = ownHardLimit('Max processes');
  const candidates: string[][] = [[]];
  if (nofile && nproc) {
    for (const p of new Set([nproc, Math.min(nproc, 32768)])) candidates.push(['--ulimit', `nofile=${nofile}:${nofile}`, '--ulimit', `nproc=${p}:${p}`]);
  }
  let why = '';
  for (const runFlags of candidates) {
    const r = await run([podman, 'run', '--rm', ...runFlags, '--network', 'none', image, 'true'], { env });
    if (r.code === 0) {
      return {
        engine: {
          kind: 'podman', label: `podman ${version}`,
          cli: (...args) => [podman, ...args],
          env, runFlags, rmForceFlags: ['-f', '-t', '0'], registryFlags: ['--tls-verify=false'],
          buildFlags: runFlags, buildEnv: env,
          daemonPids: () => [],
          notes: [`podman ${version} (runtime ${runtime}, cgroup manager ${cgroupManager}; \`rm -f -t 0\`${runFlags.length ? `; \`${runFlags.join(' ')}\` because its default rlimits exceed this host's` : ''})`],
        },
        why: '',
      };
    }
    why = `podman run: ${firstErrorLine(r)}`;
    if (!/rlimit/i.test(why)) break;
  }
  return { engine: null, why };
}
