/**
 * The flags `berth run` and `berth create` share — Docker's
 * `addFlags(containerOptions)` — with the same names, shorthands, value
 * kinds and per-value validation, so a `docker run` line that parses in
 * Docker parses here, and one Docker rejects fails with the same message.
 */
import type { FlagSpec } from '../flags.js';
import { parseDevice, parseThrottleBps, parseThrottleIops, parseWeightDevice, validateDevice } from '../opts/devices.js';
import { validateEnv, validateLabel, type LookupEnv } from '../opts/kvfile.js';
import { parseMountOpt } from '../opts/mounts.js';
import { parseNetworkOpt, validateDnsSearch, validateExtraHost, validateIPAddress, validateLink } from '../opts/network.js';
import { parseUlimit } from '../opts/ulimit.js';

const ATTACH_STREAMS = ['stdin', 'stdout', 'stderr'];

function validateAttach(v: string): string {
  const s = v.toLowerCase();
  if (!ATTACH_STREAMS.includes(s)) throw new Error('valid streams are STDIN, STDOUT and STDERR');
  return s;
}

/** opts.ValidateSysctl: IPC namespace sysctls and `net.*`, `fs.mqueue.*`. */
function validateSysctl(val: string): string {
  const allowed = new Set(['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced']);
  const eq = val.indexOf('=');
  const k = eq >= 0 ? val.slice(0, eq) : '';
  if (eq < 0 || k === '') throw new Error(`sysctl '${val}' is not allowed`);
  if (allowed.has(k) || k.startsWith('net.') || k.startsWith('fs.mqueue.')) return val;
  throw new Error(`sysctl '${val}' is not allowed`);
}

function validateKv(val: string): string {
  if (!val.includes('=')) throw new Error(`invalid key=value pair: ${val}`);
  return val;
}

/** Device cgroup rules: `c|b|a major:minor rwm` (opts.ValidateDeviceCgroupRule). */
function validateDeviceCgroupRule(val: string): string {
  if (!/^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.test(val)) throw new Error(`invalid device cgroup format '${val}'`);
  return val;
}

function uint16(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) > 65535) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(v)}: ${/^\d+$/.test(v) ? 'value out of range' : 'invalid syntax'}`);
  return Number(v);
}

const WINDOWS_ONLY = 'it only applies to Windows containers';

export function createFlagSpecs(lookupEnv: LookupEnv, mode: 'run' | 'create'): FlagSpec[] {
  const specs: FlagSpec[] = [
    { name: 'add-host', kind: 'list', usage: 'Add a custom host-to-IP mapping (host:ip)', parse: validateExtraHost },
    { name: 'annotation', kind: 'list', varname: 'map', defaultText: 'map[]', usage: 'Add an annotation to the container (passed through to the OCI runtime)', parse: validateKv },
    { name: 'attach', short: 'a', kind: 'list', usage: 'Attach to STDIN, STDOUT or STDERR', parse: validateAttach },
    { name: 'blkio-weight', kind: 'uint', varname: 'uint16', defaultText: '0', usage: 'Block IO (relative weight), between 10 and 1000, or 0 to disable', parse: uint16 },
    { name: 'blkio-weight-device', kind: 'list', defaultText: '[]', usage: 'Block IO weight (relative device weight)', parse: parseWeightDevice },
    { name: 'cap-add', kind: 'list', usage: 'Add Linux capabilities' },
    { name: 'cap-drop', kind: 'list', usage: 'Drop Linux capabilities' },
    { name: 'cgroup-parent', kind: 'string', usage: 'Optional parent cgroup for the container' },
    { name: 'cgroupns', kind: 'string', usage: "Cgroup namespace to use (host|private)\n'host':    Run the container in the Docker host's cgroup namespace\n'private': Run the container in its own private cgroup namespace\n'':        Use the cgroup namespace as configured by the\n           default-cgroupns-mode option on the daemon (default)" },
    { name: 'cidfile', kind: 'string', usage: 'Write the container ID to the file' },
    { name: 'cpu-count', kind: 'int', usage: 'CPU count (Windows only)', unsupported: WINDOWS_ONLY },
    { name: 'cpu-percent', kind: 'int', usage: 'CPU percent (Windows only)', unsupported: WINDOWS_ONLY },
    { name: 'cpu-period', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) period' },
    { name: 'cpu-quota', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
    { name: 'cpu-rt-period', kind: 'int', usage: 'Limit CPU real-time period in microseconds' },
    { name: 'cpu-rt-runtime', kind: 'int', usage: 'Limit CPU real-time runtime in microseconds' },
    { name: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)' },
    { name: 'cpus', kind: 'decimal', usage: 'Number of CPUs' },
    { name: 'cpuset-cpus', kind: 'string', usage: 'CPUs in which to allow execution (0-3, 0,1)' },
    { name: 'cpuset-mems', kind: 'string', usage: 'MEMs in which to allow execution (0-3, 0,1)' },
    { name: 'device', kind: 'list', usage: 'Add a host device to the container', parse: (v) => { validateDevice(v); return parseDevice(v); } },
    { name: 'device-cgroup-rule', kind: 'list', usage: 'Add a rule to the cgroup allowed devices list', parse: validateDeviceCgroupRule },
    { name: 'device-read-bps', kind: 'list', defaultText: '[]', usage: 'Limit read rate (bytes per second) from a device', parse: parseThrottleBps },
    { name: 'device-read-iops', kind: 'list', defaultText: '[]', usage: 'Limit read rate (IO per second) from a device', parse: parseThrottleIops },
    { name: 'device-write-bps', kind: 'list', defaultText: '[]', usage: 'Limit write rate (bytes per second) to a device', parse: parseThrottleBps },
    { name: 'device-write-iops', kind: 'list', defaultText: '[]', usage: 'Limit write rate (IO per second) to a device', parse: parseThrottleIops },
    { name: 'disable-content-trust', kind: 'bool', default: true, defaultText: 'true', usage: 'Skip image verification' },
    { name: 'dns', kind: 'list', usage: 'Set custom DNS servers', parse: validateIPAddress },
    { name: 'dns-option', kind: 'list', aliases: ['dns-opt'], usage: 'Set DNS options' },
    { name: 'dns-search', kind: 'list', usage: 'Set custom DNS search domains', parse: validateDnsSearch },
    { name: 'domainname', kind: 'string', usage: 'Container NIS domain name' },
    { name: 'entrypoint', kind: 'string', usage: 'Overwrite the default ENTRYPOINT of the image' },
    { name: 'env', short: 'e', kind: 'list', usage: 'Set environment variables', parse: (v) => validateEnv(v, lookupEnv) },
    { name: 'env-file', kind: 'list', usage: 'Read in a file of environment variables' },
    { name: 'expose', kind: 'list', usage: 'Expose a port or a range of ports' },
    { name: 'gpus', kind: 'string', varname: 'gpu-request', usage: "GPU devices to add to the container ('all' to pass all GPUs)", unsupported: 'berth has no GPU device support' },
    { name: 'group-add', kind: 'list', usage: 'Add additional groups to join' },
    { name: 'health-cmd', kind: 'string', usage: 'Command to run to check health' },
    { name: 'health-interval', kind: 'duration', defaultText: '0s', usage: 'Time between running the check (ms|s|m|h)' },
    { name: 'health-retries', kind: 'int', usage: 'Consecutive failures needed to report unhealthy' },
    { name: 'health-start-interval', kind: 'duration', defaultText: '0s', usage: 'Time between running the check during the start period (ms|s|m|h)' },
    { name: 'health-start-period', kind: 'duration', defaultText: '0s', usage: 'Start period for the container to initialize before starting health-retries countdown (ms|s|m|h)' },
    { name: 'health-timeout', kind: 'duration', defaultText: '0s', usage: 'Maximum time to allow one check to run (ms|s|m|h)' },
    { name: 'help', kind: 'bool', usage: 'Print usage' },
    { name: 'hostname', short: 'h', kind: 'string', usage: 'Container host name' },
    { name: 'init', kind: 'bool', usage: 'Run an init inside the container that forwards signals and reaps processes' },
    { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open even if not attached' },
    { name: 'io-maxbandwidth', kind: 'bytes', usage: 'Maximum IO bandwidth limit for the system drive (Windows only)', unsupported: WINDOWS_ONLY },
    { name: 'io-maxiops', kind: 'uint', usage: 'Maximum IOps limit for the system drive (Windows only)', unsupported: WINDOWS_ONLY },
    { name: 'ip', kind: 'string', usage: 'IPv4 address (e.g., 172.30.100.104)' },
    { name: 'ip6', kind: 'string', usage: 'IPv6 address (e.g., 2001:db8::33)' },
    { name: 'ipc', kind: 'string', usage: 'IPC mode to use' },
    { name: 'isolation', kind: 'string', usage: 'Container isolation technology' },
    { name: 'kernel-memory', kind: 'bytes', usage: 'Kernel memory limit' },
    { name: 'label', short: 'l', kind: 'list', usage: 'Set meta data on a container', parse: validateLabel },
    { name: 'label-file', kind: 'list', usage: 'Read in a line delimited file of labels' },
    { name: 'link', kind: 'list', usage: 'Add link to another container', parse: validateLink },
    { name: 'link-local-ip', kind: 'list', usage: 'Container IPv4/IPv6 link-local addresses' },
    { name: 'log-driver', kind: 'string', usage: 'Logging driver for the container' },
    { name: 'log-opt', kind: 'list', usage: 'Log driver options' },
    { name: 'mac-address', kind: 'string', usage: 'Container MAC address (e.g., 92:d0:c6:0a:29:33)' },
    { name: 'memory', short: 'm', kind: 'bytes', usage: 'Memory limit' },
    { name: 'memory-reservation', kind: 'bytes', usage: 'Memory soft limit' },
    { name: 'memory-swap', kind: 'swapbytes', usage: "Swap limit equal to memory plus swap: '-1' to enable unlimited swap" },
    { name: 'memory-swappiness', kind: 'int', default: -1, defaultText: '-1', usage: 'Tune container memory swappiness (0 to 100)' },
    { name: 'mount', kind: 'list', varname: 'mount', usage: 'Attach a filesystem mount to the container', parse: parseMountOpt },
    { name: 'name', kind: 'string', usage: 'Assign a name to the container' },
    { name: 'network', kind: 'list', varname: 'network', aliases: ['net'], usage: 'Connect a container to a network', parse: parseNetworkOpt },
    { name: 'network-alias', kind: 'list', aliases: ['net-alias'], usage: 'Add network-scoped alias for the container' },
    { name: 'no-healthcheck', kind: 'bool', usage: 'Disable any container-specified HEALTHCHECK' },
    { name: 'oom-kill-disable', kind: 'bool', usage: 'Disable OOM Killer' },
    { name: 'oom-score-adj', kind: 'int', usage: "Tune host's OOM preferences (-1000 to 1000)" },
    { name: 'pid', kind: 'string', usage: 'PID namespace to use' },
    { name: 'pids-limit', kind: 'int', usage: 'Tune container pids limit (set -1 for unlimited)' },
    { name: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable' },
    { name: 'privileged', kind: 'bool', usage: 'Give extended privileges to this container' },
    { name: 'publish', short: 'p', kind: 'list', usage: "Publish a container's port(s) to the host" },
    { name: 'publish-all', short: 'P', kind: 'bool', usage: 'Publish all exposed ports to random ports' },
    { name: 'pull', kind: 'string', default: 'missing', defaultText: '"missing"', usage: `Pull image before ${mode === 'run' ? 'running' : 'creating'} ("always", "missing", "never")` },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the pull output' },
    { name: 'read-only', kind: 'bool', usage: "Mount the container's root filesystem as read only" },
    { name: 'restart', kind: 'string', default: 'no', defaultText: '"no"', usage: 'Restart policy to apply when a container exits' },
    { name: 'rm', kind: 'bool', usage: 'Automatically remove the container and its associated anonymous volumes when it exits' },
    { name: 'runtime', kind: 'string', usage: 'Runtime to use for this container' },
    { name: 'security-opt', kind: 'list', usage: 'Security Options' },
    { name: 'shm-size', kind: 'bytes', usage: 'Size of /dev/shm' },
    { name: 'stop-signal', kind: 'string', usage: 'Signal to stop the container' },
    { name: 'stop-timeout', kind: 'int', usage: 'Timeout (in seconds) to stop a container' },
    { name: 'storage-opt', kind: 'list', usage: 'Storage driver options for the container' },
    { name: 'sysctl', kind: 'list', varname: 'map', defaultText: 'map[]', usage: 'Sysctl options', parse: validateSysctl },
    { name: 'tmpfs', kind: 'list', usage: 'Mount a tmpfs directory' },
    { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
    { name: 'ulimit', kind: 'list', varname: 'ulimit', defaultText: '[]', usage: 'Ulimit options', parse: parseUlimit },
    { name: 'use-api-socket', kind: 'bool', usage: 'Bind mount Docker API socket and required auth', unsupported: 'berth does not mount its API socket into containers' },
    { name: 'user', short: 'u', kind: 'string', usage: 'Username or UID (format: <name|uid>[:<group|gid>])' },
    { name: 'userns', kind: 'string', usage: 'User namespace to use' },
    { name: 'uts', kind: 'string', usage: 'UTS namespace to use' },
    { name: 'volume', short: 'v', kind: 'list', usage: 'Bind mount a volume' },
    { name: 'volume-driver', kind: 'string', usage: 'Optional volume driver for the container' },
    { name: 'volumes-from', kind: 'list', usage: 'Mount volumes from the specified container(s)' },
    { name: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
  ];
  if (mode === 'run') {
    specs.push(
      { name: 'detach', short: 'd', kind: 'bool', usage: 'Run container in background and print container ID' },
      { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
      { name: 'sig-proxy', kind: 'bool', default: true, defaultText: 'true', usage: 'Proxy received signals to the process' },
    );
  }
  return specs;
}
