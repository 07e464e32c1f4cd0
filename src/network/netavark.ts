/**
 * The one module that runs netavark (containers/netavark 1.4, Debian's
 * /usr/lib/podman/netavark). It sets up and tears down a container's
 * interfaces in a network namespace: bridge, veth pair, addresses, NAT and
 * port-forwarding rules, and the aardvark-dns entries of DNS-enabled
 * networks. Every network definition travels on stdin (netavark keeps no
 * network store of its own); the addresses come from berth's IPAM
 * (`static_ips`), as Podman does it.
 *
 *   netavark --config <exec-root>/networks --rootless=false \
 *            --aardvark-binary=/usr/lib/podman/aardvark-dns setup|teardown <netns> < options.json
 *
 * Success prints a JSON map network name → StatusBlock; failure exits ≠ 0
 * with `{"error": "…"}` on stdout and logs on stderr
 * (containers/netavark@v1.4.0 src/main.rs, src/error/mod.rs).
 *
 * netavark creates shared iptables chains (NETAVARK_FORWARD,
 * NETAVARK-HOSTPORT-*) with check-then-create steps, so two runs at once —
 * two berthds, or parallel starts — can collide. Every run holds a host-wide
 * lock (flock(1) on /run/lock/berth-netavark.lock); `-o` keeps the lock out
 * of the aardvark-dns daemon netavark may start.
 *
 * When the last container leaves a bridge, netavark deletes the bridge and
 * the network's NAT chains, and the next container's setup makes them again:
 * ~150 ms each way, paid by every `run --rm` and every build step on the
 * default bridge. So a bridge without DNS (the default one, as Docker's
 * docker0 has none) gets an anchor once it exists: a veth pair, one end
 * enslaved to the bridge, that keeps it from ever being empty — the bridge
 * and its rules then live on like docker0. DNS-enabled networks are left as
 * they are: their aardvark-dns must still go when their last container does.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { readFile, rename, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createServer, type AddressInfo } from 'node:net';
import { createNetns, deleteNetns, ip, NETNS_DIR } from './netns.js';
import { CommandError, SystemError } from '../errors.js';
import { currentEnv, spawnInSpawner } from '../spawner.js';

export const NETAVARK_BINARY = '/usr/lib/podman/netavark';
export const AARDVARK_BINARY = '/usr/lib/podman/aardvark-dns';
const LOCK_FILE = existsSync('/run/lock') ? '/run/lock/berth-netavark.lock' : '/run/berth-netavark.lock';
/** The throwaway namespaces of NetavarkRunner.release(): `berth-release-<berthd pid>-<hex>`. */
const RELEASE_NETNS_PREFIX = 'berth-release-';

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the release namespaces of berthds that are gone (killed between
 * making one and deleting it); those of a berthd still running — another
 * daemon's, in the middle of a release — stay. Names without a pid come from
 * berth versions before this one.
 */
export async function sweepReleaseNetns(): Promise<void> {
  let names: string[];
  try {
    names = readdirSync(NETNS_DIR);
  } catch {
    return;
  }
  for (const n of names) {
    if (!n.startsWith(RELEASE_NETNS_PREFIX)) continue;
    const m = /^berth-release-(?:(\d+)-)?[0-9a-f]{8}$/.exec(n);
    if (!m || (m[1] !== undefined && processAlive(Number(m[1])))) continue;
    await deleteNetns(n).catch((e: unknown) => console.error(`berthd: cannot remove ${n}: ${(e as Error).message}`));
  }
}

/**
 * Whether process `pid` runs the very file `binary` (same device and inode
 * as what `/proc/<pid>/exe` opens). A pid file outlives its process and the
 * pid may since be anyone's, a container's process included, which chooses
 * its own command line and, inside its own root, its executable's path (what
 * a readlink of `exe` shows from here); the host file's inode it cannot
 * have. A pid reused in the instant between this check and the signal is
 * left open (Node has no pidfd_send_signal).
 */
export async function runsBinary(pid: number, binary: string): Promise<boolean> {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    const [exe, bin] = await Promise.all([stat(`/proc/${pid}/exe`), stat(binary)]);
    return exe.dev === bin.dev && exe.ino === bin.ino;
  } catch {
    return false; // gone, a kernel thread (no exe), or no such binary
  }
}

/**
 * Waits (up to `timeoutMs`) until process `pid` catches SIGHUP, from the
 * SigCgt mask in /proc/<pid>/status. aardvark-dns is spawned by netavark and
 * installs its SIGHUP handler a moment after its pid file is written; a
 * SIGHUP before that takes the default action and ends it, and with it the
 * network's DNS. False when it never does (or is gone).
 */
export async function catchesSighup(pid: number, timeoutMs = 2000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const status = await readFile(`/proc/${pid}/status`, 'utf8').catch(() => '');
    const m = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
    if (!m) return false;
    if (BigInt(`0x${m[1]}`) & 1n) return true; // bit 0 is signal 1, SIGHUP
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A network as netavark reads it (`src/network/types.rs` `Network`). */
export interface NetavarkNetwork {
  name: string;
  id: string;
  driver: 'bridge';
  network_interface: string;
  created?: string;
  subnets: { subnet: string; gateway?: string }[];
  ipv6_enabled: boolean;
  internal: boolean;
  dns_enabled: boolean;
  options?: Record<string, string>;
  ipam_options: { driver: 'host-local' };
}

/** `PerNetworkOptions`: this container's interface on one network. */
export interface PerNetworkOptions {
  interface_name: string;
  static_ips: string[];
  aliases?: string[];
  static_mac?: string;
}

/** `PortMapping`; `host_ip` '' means every address. */
export interface PortMapping {
  host_ip: string;
  container_port: number;
  host_port: number;
  range: number;
  protocol: string;
}

/** `NetworkOptions`: what one setup or teardown is about. */
export interface NetworkOptions {
  container_id: string;
  container_name: string;
  port_mappings?: PortMapping[];
  networks: Record<string, PerNetworkOptions>;
  network_info: Record<string, NetavarkNetwork>;
  /** Upstream servers aardvark-dns uses for this container's other names. */
  dns_servers?: string[];
}

/** `StatusBlock`: what setup did on one network. */
export interface StatusBlock {
  dns_search_domains?: string[];
  dns_server_ips?: string[];
  interfaces?: Record<string, { mac_address: string; subnets?: { ipnet: string; gateway?: string }[] }>;
}

/** The seam the engine uses, so unit tests can record calls instead of running netavark. */
export interface NetworkDriver {
  setup(netnsPath: string, options: NetworkOptions): Promise<Record<string, StatusBlock>>;
  teardown(netnsPath: string, options: NetworkOptions): Promise<void>;
  /** Lets a network's bridge go when nothing is on it (daemon shutdown); `spareIp` is free in its subnet. */
  release?(network: NetavarkNetwork, spareIp: string): Promise<void>;
  /** Sets the names aardvark-dns answers for a container that is up on a DNS-enabled network. */
  setDnsNames?(networkName: string, containerId: string, names: string[], opts?: { reload?: boolean }): Promise<void>;
}

export class Netavark implements NetworkDriver {
  /**
   * @param configDir  netavark's `--config`: aardvark-dns keeps its per-network
   *   files and pid there, so each berthd has its own (under its exec root)
   */
  constructor(
    readonly configDir: string,
    readonly binary = NETAVARK_BINARY,
    readonly aardvarkBinary = AARDVARK_BINARY,
  ) {}

  /**
   * Every netavark run and every edit of aardvark-dns's files by this daemon,
   * one at a time: runs are serialised host-wide by flock anyway, and an edit
   * must not interleave with a run that rewrites the same file.
   */
  private tail: Promise<unknown> = Promise.resolve();

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.tail.then(fn, fn);
    this.tail = p.catch(() => undefined);
    return p;
  }

  async setup(netnsPath: string, options: NetworkOptions): Promise<Record<string, StatusBlock>> {
    const out = await this.run('setup', netnsPath, options);
    for (const n of Object.values(options.network_info)) {
      if (n.driver !== 'bridge') continue;
      await pinBridgeAddress(n.network_interface);
      if (!n.dns_enabled) await this.anchor(n.network_interface);
    }
    try {
      return JSON.parse(out) as Record<string, StatusBlock>;
    } catch {
      throw new SystemError(`netavark setup: unreadable result: ${out.slice(0, 300)}`);
    }
  }

  async teardown(netnsPath: string, options: NetworkOptions): Promise<void> {
    await this.run('teardown', netnsPath, options);
  }

  private readonly anchoring = new Map<string, Promise<void>>();

  /** Enslaves one end of a veth pair to `bridge` (once), so netavark never sees it empty. */
  private anchor(bridge: string): Promise<void> {
    const { name, peer } = anchorNames(bridge);
    if (existsSync(`/sys/class/net/${name}`)) return Promise.resolve();
    let p = this.anchoring.get(bridge);
    if (!p) {
      // Only a cost saving: if it cannot be made, netavark behaves as it always does.
      p = ip(['link', 'add', name, 'type', 'veth', 'peer', 'name', peer])
        .then(() => ip(['link', 'set', name, 'master', bridge, 'up']))
        .catch((e) => { console.error(`berthd: bridge ${bridge} keeps its default life cycle: ${(e as Error).message}`); })
        .finally(() => this.anchoring.delete(bridge));
      this.anchoring.set(bridge, p);
    }
    return p;
  }

  /**
   * Drops a bridge's anchor; when no container is on the bridge any more, a
   * throwaway endpoint is set up and torn down so that netavark removes the
   * bridge and the network's rules as it does after a last container.
   */
  async release(network: NetavarkNetwork, spareIp: string): Promise<void> {
    const bridge = network.network_interface;
    const { name } = anchorNames(bridge);
    if (!existsSync(`/sys/class/net/${name}`)) return;
    await ip(['link', 'delete', name]).catch(() => undefined);
    if (!existsSync(`/sys/class/net/${bridge}`) || readdirSync(`/sys/class/net/${bridge}/brif`).length > 0) return;
    // The daemon's pid in the name: a berthd killed in between leaves it, and the next one removes it (sweepReleaseNetns).
    const ns = `${RELEASE_NETNS_PREFIX}${process.pid}-${randomBytes(4).toString('hex')}`;
    const nsPath = await createNetns(ns);
    try {
      // A port mapping too: only a teardown with ports removes the network's port-forwarding chain.
      const options: NetworkOptions = {
        container_id: randomBytes(32).toString('hex'), container_name: ns,
        port_mappings: [{ host_ip: '127.0.0.1', container_port: 1, host_port: await freeLoopbackPort(), range: 1, protocol: 'tcp' }],
        networks: { [network.name]: { interface_name: 'eth0', static_ips: [spareIp] } },
        network_info: { [network.name]: network },
      };
      await this.run('setup', nsPath, options);
      await this.run('teardown', nsPath, options);
    } finally {
      await deleteNetns(ns);
    }
  }

  /**
   * Rewrites the names column of `containerId`'s line in aardvark-dns's file
   * for the network (`<config>/aardvark-dns/<network>`, lines `<id> <ipv4s>
   * <ipv6s> <names> [<dns servers>]`, containers/netavark@v1.4.0
   * src/dns/aardvark.rs) and has aardvark-dns reload it (SIGHUP), as
   * netavark does after its own edits; netavark 1.4 has no command for it.
   * Names with anything but [a-zA-Z0-9_.-] never get here.
   */
  async setDnsNames(networkName: string, containerId: string, names: string[], opts: { reload?: boolean } = {}): Promise<void> {
    if (!names.length || names.some((n) => !/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(n))) throw new SystemError(`invalid DNS names for ${containerId}: ${names.join(',')}`);
    const dir = join(this.configDir, 'aardvark-dns');
    const file = join(dir, networkName);
    await this.serial(async () => {
      let text: string;
      try { text = await readFile(file, 'utf8'); } catch { return; } // no DNS entries on the network (any more)
      let changed = false;
      const lines = text.split('\n').map((line, i) => {
        const cols = line.split(' ');
        if (i === 0 || cols[0] !== containerId || cols.length < 4) return line;
        changed = true;
        cols[3] = names.join(',');
        return cols.join(' ');
      });
      if (!changed) return;
      const tmp = `${file}.berth-tmp`;
      await writeFile(tmp, lines.join('\n'));
      await rename(tmp, file);
      if (opts.reload === false) return; // the caller's next netavark setup or teardown reloads aardvark-dns
      const pidText = (await readFile(join(dir, 'aardvark.pid'), 'utf8').catch(() => '')).trim();
      const pid = /^[1-9][0-9]{0,9}$/.test(pidText) ? Number(pidText) : 0;
      // Only our aardvark-dns gets the signal: a stale pid file must not make berthd signal another process.
      if (pid > 0 && await runsBinary(pid, this.aardvarkBinary) && await catchesSighup(pid)) {
        try { process.kill(pid, 'SIGHUP'); } catch { /* exited since: its successor reads the file afresh */ }
      }
    });
  }

  private run(command: 'setup' | 'teardown', netnsPath: string, options: NetworkOptions): Promise<string> {
    return this.serial(() => this.runNow(command, netnsPath, options));
  }

  private runNow(command: 'setup' | 'teardown', netnsPath: string, options: NetworkOptions): Promise<string> {
    const argv = [
      'flock', '-o', '-w', '120', LOCK_FILE,
      this.binary, '--config', this.configDir, '--rootless=false', `--aardvark-binary=${this.aardvarkBinary}`, command, netnsPath,
    ];
    const what = ['netavark', command, netnsPath];
    // Spawned by the spawner process (spawner.ts): a fork of berthd stalls its event loop.
    const child = spawnInSpawner(argv[0], argv.slice(1), {
      cwd: process.cwd(), env: currentEnv(), stdio: ['pipe', 'pipe', 'pipe'], detached: false, input: JSON.stringify(options),
    });
    const stdoutPipe = child.stdio[1]!;
    const stderrPipe = child.stdio[2]!;
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      let exitCode: number | null | undefined;
      let ended = false;
      let settled = false;
      const finish = () => {
        if (settled || exitCode === undefined) return;
        settled = true;
        stdoutPipe.destroy();
        stderrPipe.destroy();
        const stdout = Buffer.concat(out).toString('utf8').trim();
        const stderr = Buffer.concat(err).toString('utf8').trim();
        if (exitCode === 0) return resolve(stdout);
        let message = '';
        try { message = (JSON.parse(stdout) as { error?: string }).error ?? ''; } catch { /* not JSON */ }
        reject(new CommandError(what, exitCode, message || stderr || stdout));
      };
      stdoutPipe.on('data', (b: Buffer) => out.push(b));
      stdoutPipe.on('end', () => { ended = true; finish(); });
      stderrPipe.on('data', (b: Buffer) => err.push(b));
      void child.exited.then(({ code, error }) => {
        // It could not run (no flock): spawn's error, as spawn from here reported it.
        if (error !== undefined) {
          if (!settled) { settled = true; stdoutPipe.destroy(); stderrPipe.destroy(); reject(new CommandError(what, null, error)); }
          return;
        }
        // The aardvark-dns daemon netavark starts may inherit and hold the
        // pipes: after the exit, wait for the end of stdout only briefly.
        exitCode = code;
        if (ended) finish();
        else setTimeout(finish, 300);
      });
    });
  }
}

/**
 * Gives a bridge its current MAC address for good. netavark 1.4 leaves a
 * bridge's address to the kernel, which makes it the lowest of its ports'
 * and changes it whenever that port goes: each container stopping on a
 * network could change its gateway's MAC under the others, whose ARP caches
 * then send to the old one until they re-probe — DNS (aardvark-dns on the
 * gateway) and the way out gone for 5 to 30 s, e.g. for `client` while
 * docker-compose recreates `web`. An address set by hand
 * (`addr_assign_type` 3, NET_ADDR_SET) is never recomputed, which is why
 * dockerd gives its bridges one at creation.
 */
async function pinBridgeAddress(bridge: string): Promise<void> {
  const sys = `/sys/class/net/${bridge}`;
  let mac: string;
  try {
    if (readFileSync(`${sys}/addr_assign_type`, 'utf8').trim() === '3') return;
    mac = readFileSync(`${sys}/address`, 'utf8').trim();
  } catch {
    return; // no such bridge (yet): nothing to pin
  }
  await ip(['link', 'set', 'dev', bridge, 'address', mac]);
}

/**
 * Whether the host has a network interface called `name` (in berthd's
 * network namespace). A network's bridge is netavark's to make and to
 * delete: its teardown after the network's last container removes the
 * bridge with its addresses, whoever made it.
 */
export function hostInterfaceExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

/** The anchor veth pair of a bridge: `bk<hash>` on the bridge, `bp<hash>` its idle peer (≤ 15 characters). */
export function anchorNames(bridge: string): { name: string; peer: string } {
  const h = createHash('sha256').update(bridge).digest('hex').slice(0, 11);
  return { name: `bk${h}`, peer: `bp${h}` };
}

/** A TCP port nothing listens on at 127.0.0.1 right now. */
function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
