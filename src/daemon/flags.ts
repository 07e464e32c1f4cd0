/**
 * berthd's command line: dockerd's flags where they apply.
 */
import { InvalidParameterError } from '../errors.js';
import { formatMirrorEntry, parseMirrorFlag } from '../registry/client/endpoint.js';
import { defaultTlsFlags, parseTlsFlag, TLS_USAGE, type TlsFlags } from './tls-flags.js';
import { rootlessRoots } from '../rootless/defaults.js';

export interface DaemonFlags {
  hosts: string[];
  dataRoot: string;
  execRoot: string;
  group: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'fatal';
  debug: boolean;
  defaultRuntime: string;
  pidfile: string;
  insecureRegistries: string[];
  /**
   * `--registry-mirror [REGISTRY=]URL`, repeatable: validated, with a trailing slash (as dockerd keeps them);
   * Docker Hub's as bare URLs, another registry's as `REGISTRY=URL` (endpoint.ts parseMirrorFlag).
   */
  registryMirrors: string[];
  /** Device of the default bridge network (`--bridge`); '' = berth's default. */
  bridge: string;
  /** Gateway address/prefix of the default bridge (`--bip`); '' = berth's default. */
  bip: string;
  /** `--default-address-pool base=CIDR,size=N`, repeatable. */
  defaultAddressPools: string[];
  /** `--tls`, `--tlsverify` (true/false when given, undefined when not) and the PEM files: see tls.ts. */
  tls: TlsFlags;
  /** The CRI's gRPC socket (`--cri-socket`); '' disables the CRI. Default <exec root>/cri.sock. */
  criSocket: string;
  /** The CRI streaming server's `host:port` (`--cri-stream-address`); port 0 picks a free one. */
  criStreamAddress: string;
  /**
   * `--experimental`, dockerd's flag: `/_ping`, `/version` and `/info` say
   * so, which is what makes the Docker CLI show `docker checkpoint` and
   * `start --checkpoint` (berth's API serves them either way).
   */
  experimental: boolean;
  /** `--userns-remap default|user[:group]|uid[:gid]` ('' = off): see runtime/remap-user.ts. */
  usernsRemap: string;
  /**
   * Rootless mode (src/rootless/): `--rootless`, or implied when berthd is
   * started by a user other than root. The roots and socket then default to
   * the user's own directories (rootless/defaults.ts) and the socket keeps
   * the user's group.
   */
  rootless: boolean;
  help: boolean;
  version: boolean;
}

export const DAEMON_USAGE = `Usage:	berthd [OPTIONS]

A Docker-compatible container engine daemon

Options:
      --bip string              Gateway address and prefix of the default bridge network (default "10.77.0.1/16")
      --bridge string           Device name of the default bridge network (default "berth0")
      --cri-socket string       Unix socket of the Kubernetes CRI (gRPC) server; '' disables it (default "/run/berth/cri.sock")
      --cri-stream-address string
                                Address of the CRI streaming server (exec, attach, port-forward URLs) (default "127.0.0.1:0")
      --data-root string        Root directory of persistent berth state (default "/var/lib/berth")
      --default-address-pool list
                                Subnets for user-defined networks, base=CIDR,size=N (default base=10.78.0.0/16,size=24)
  -D, --debug                   Enable debug mode
      --experimental            Advertise experimental features (the Docker CLI's checkpoint commands need it)
      --default-runtime string  Default OCI runtime for containers: runc or crun (default crun when it is
                                installed and usable on this host's cgroups, else runc)
      --exec-root string        Root directory for execution state files (default "/run/berth")
  -G, --group string            Group for the unix socket (default "berth")
  -H, --host list               Daemon socket(s) to connect to (default unix:///run/berth/berth.sock)
      --insecure-registry list  Registries reached over plain HTTP or unverified TLS (localhost is always)
  -l, --log-level string        Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")
  -p, --pidfile string          Path to use for daemon PID file (default "/run/berth/berthd.pid")
      --rootless                Run as an ordinary user, in a user namespace of the user's subordinate IDs
                                (implied when started by a user other than root)
      --registry-mirror list    Preferred Docker registry mirror (pulls of Docker Hub images try it first);
                                REGISTRY=URL mirrors another registry (e.g. registry.k8s.io=http://10.0.0.5:5000)
      --userns-remap string     User/Group setting for user namespaces ("default" creates and uses the berth user)
${TLS_USAGE}  -v, --version                 Print version information and quit
`;

export function parseDaemonFlags(argv: string[], env: NodeJS.ProcessEnv = process.env, euid: number = process.geteuid?.() ?? 0): DaemonFlags {
  // '' until the end: a root not given gets the default of the mode (rootful or rootless).
  const f: DaemonFlags = {
    hosts: [], dataRoot: '', execRoot: '', group: '\0', logLevel: 'info', debug: false,
    defaultRuntime: '', pidfile: '', insecureRegistries: [], registryMirrors: [], bridge: '', bip: '', defaultAddressPools: [], tls: defaultTlsFlags(), criSocket: '\0',
    criStreamAddress: '127.0.0.1:0', experimental: false, usernsRemap: '', rootless: euid !== 0, help: false, version: false,
  };
  const takes: Record<string, keyof DaemonFlags> = {
    '-H': 'hosts', '--host': 'hosts', '--data-root': 'dataRoot', '--exec-root': 'execRoot', '-G': 'group', '--group': 'group',
    '-l': 'logLevel', '--log-level': 'logLevel', '--default-runtime': 'defaultRuntime', '-p': 'pidfile', '--pidfile': 'pidfile', '--insecure-registry': 'insecureRegistries',
    '--registry-mirror': 'registryMirrors', '--userns-remap': 'usernsRemap',
    '--bridge': 'bridge', '-b': 'bridge', '--bip': 'bip', '--default-address-pool': 'defaultAddressPools', '--cri-socket': 'criSocket',
    '--cri-stream-address': 'criStreamAddress',
  };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let val: string | undefined;
    const eq = a.indexOf('=');
    if (a.startsWith('--') && eq > 0) { val = a.slice(eq + 1); a = a.slice(0, eq); }
    if (a === '-D' || a === '--debug') { f.debug = true; continue; }
    if (a === '--experimental') { f.experimental = true; continue; }
    if (a === '--rootless') { f.rootless = val === undefined || val === 'true'; continue; }
    if (a === '-h' || a === '--help') { f.help = true; continue; }
    if (a === '-v' || a === '--version') { f.version = true; continue; }
    if (parseTlsFlag(f.tls, a, val, () => argv[++i])) continue;
    const key = takes[a];
    if (!key) throw new InvalidParameterError(`unknown flag: ${a}`);
    if (val === undefined) {
      val = argv[++i];
      if (val === undefined) throw new InvalidParameterError(`flag needs an argument: ${a}`);
    }
    if (key === 'hosts') f.hosts.push(val);
    else if (key === 'insecureRegistries') f.insecureRegistries.push(val);
    else if (key === 'registryMirrors') { const m = formatMirrorEntry(parseMirrorFlag(val)); if (!f.registryMirrors.includes(m)) f.registryMirrors.push(m); }
    else if (key === 'defaultAddressPools') f.defaultAddressPools.push(val);
    else (f as unknown as Record<string, string>)[key] = val;
  }
  if (!['debug', 'info', 'warn', 'error', 'fatal'].includes(f.logLevel)) throw new InvalidParameterError(`Unable to parse logging level: ${f.logLevel}`);
  if (f.debug) f.logLevel = 'debug';
  if (f.rootless && f.usernsRemap) throw new InvalidParameterError('--userns-remap is not supported in rootless mode: the daemon already runs in a user namespace of the user\'s subordinate IDs');
  const rootless = f.rootless && (!f.dataRoot || !f.execRoot || f.hosts.length === 0) ? rootlessRoots(env) : undefined;
  if (!f.dataRoot) f.dataRoot = rootless?.dataRoot ?? '/var/lib/berth';
  if (!f.execRoot) f.execRoot = rootless?.execRoot ?? '/run/berth';
  // Rootless: the socket stays the user's own (mode 0660, the user's group), as dockerd-rootless's does.
  if (f.group === '\0') f.group = f.rootless ? '' : 'berth';
  if (f.hosts.length === 0) f.hosts.push(rootless ? `unix://${rootless.socket}` : `unix://${f.execRoot}/berth.sock`);
  if (!f.pidfile) f.pidfile = `${f.execRoot}/berthd.pid`;
  // Not given at all: beside the API socket; given as '': no CRI.
  if (f.criSocket === '\0') f.criSocket = `${f.execRoot}/cri.sock`;
  else if (f.criSocket.startsWith('unix://')) f.criSocket = f.criSocket.slice('unix://'.length);
  if (f.criSocket && !f.criSocket.startsWith('/')) throw new InvalidParameterError(`--cri-socket must be an absolute path: ${f.criSocket}`);
  return f;
}
