/**
 * The one module that runs slirp4netns (rootless-containers/slirp4netns 1.2,
 * Debian's `slirp4netns`): user-mode networking for the network namespace a
 * rootless berthd lives in. It runs outside, as the user, and moves packets
 * between a tap device in the namespace (tap0, 10.0.2.100/24, gateway
 * 10.0.2.2, DNS 10.0.2.3) and ordinary sockets on the host:
 *
 *   slirp4netns --configure --mtu=65520 --disable-host-loopback \
 *               --api-socket <exec-root>/slirp4netns.sock --ready-fd=3 --exit-fd=4 <pid> tap0
 *
 * `--disable-host-loopback` keeps containers (and berthd) from reaching the
 * host's 127.0.0.1 through 10.0.2.2: services bound to loopback on the host
 * trust local users, and a container is not one (dockerd-rootless's default
 * too). `--exit-fd` ties its life to the launcher's: when that pipe closes,
 * for whatever reason, slirp4netns exits.
 *
 * Published ports go through its API socket (one JSON request per
 * connection, the client half-closes after sending, slirp4netns(1) "API"):
 * `add_hostfwd` makes slirp4netns listen on the host port and deliver each
 * connection to the same port on 10.0.2.100, where netavark's DNAT rules in
 * the namespace take it to the container.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { Readable, Writable } from 'node:stream';
import { findExecutable } from '../executable.js';
import { SystemError } from '../errors.js';
import type { HostPortForwarder, PublishedPort } from '../network/ports.js';
import { PortInUseError } from '../network/ports.js';

const DIRS = ['/usr/bin', '/usr/local/bin', '/bin', '/usr/sbin', '/sbin'];
/** The namespace's own address on tap0 (slirp4netns --configure's default). */
export const SLIRP_GUEST_ADDRESS = '10.0.2.100';
/** slirp4netns recommends 65520 for throughput (its man page, "--mtu"). */
const MTU = 65520;

export function slirp4netnsPath(): string | undefined {
  return findExecutable('slirp4netns', DIRS);
}

export interface Slirp4netns {
  readonly process: ChildProcess;
  /** Ends slirp4netns (closes its exit fd) and waits for it. */
  stop(): Promise<void>;
}

/**
 * Starts slirp4netns for the network namespace of `pid` (which must be in
 * its own user namespace already: slirp4netns joins it) and resolves once
 * tap0 is configured.
 */
export function startSlirp4netns(pid: number, apiSocket: string): Promise<Slirp4netns> {
  const bin = slirp4netnsPath();
  if (!bin) return Promise.reject(new SystemError('rootless networking needs slirp4netns (Debian package slirp4netns)'));
  const child = spawn(bin, [
    '--configure', `--mtu=${MTU}`, '--disable-host-loopback', `--api-socket=${apiSocket}`, '--ready-fd=3', '--exit-fd=4', String(pid), 'tap0',
  ], { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => { stderr = (stderr + b.toString('utf8')).slice(-4000); });
  const ready = child.stdio[3] as Readable;
  const exitFd = child.stdio[4] as Writable;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const handle: Slirp4netns = {
    process: child,
    async stop() {
      exitFd.destroy();
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    },
  };
  return new Promise((resolve, reject) => {
    const fail = (why: string) => {
      child.kill('SIGKILL');
      reject(new SystemError(`slirp4netns: ${why}${tunHint(stderr)}: ${stderr.trim()}`));
    };
    ready.once('data', () => resolve(handle));
    child.once('error', (e) => fail(e.message));
    child.once('exit', (code, signal) => fail(`exited (${code ?? signal}) before the network was ready`));
  });
}

/** The usual cause of a failing slirp4netns, said plainly. */
function tunHint(stderr: string): string {
  return /\/dev\/net\/tun.*(Permission denied|No such file)/.test(stderr)
    ? ' (/dev/net/tun must exist and be usable by every user, mode 0666 as udev makes it; scripts/install.sh sets it)'
    : '';
}

interface ApiReply { return?: { id?: number }; error?: { desc?: string } }

/** One request on the API socket: send, half-close, read the whole reply. */
function apiRequest(socket: string, body: unknown): Promise<ApiReply> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    const chunks: Buffer[] = [];
    c.once('connect', () => c.end(JSON.stringify(body)));
    c.on('data', (b: Buffer) => chunks.push(b));
    c.once('error', (e) => reject(new SystemError(`slirp4netns API ${socket}: ${e.message}`, { cause: e })));
    c.once('close', () => {
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as ApiReply);
      } catch {
        reject(new SystemError(`slirp4netns API ${socket}: unreadable reply ${JSON.stringify(Buffer.concat(chunks).toString('utf8').slice(0, 200))}`));
      }
    });
  });
}

/**
 * Host ports of a rootless berthd: each published port is a hostfwd of
 * slirp4netns, the same port number inside the namespace. slirp4netns
 * forwards TCP and UDP; SCTP cannot cross it.
 */
export class Slirp4netnsPorts implements HostPortForwarder {
  constructor(private readonly apiSocket: string) {}

  async forward(p: PublishedPort): Promise<() => Promise<void>> {
    if (p.protocol === 'sctp') throw new SystemError('publishing SCTP ports is not supported in rootless mode (slirp4netns forwards TCP and UDP)');
    const address = p.hostIp || '0.0.0.0';
    const reply = await apiRequest(this.apiSocket, {
      execute: 'add_hostfwd', arguments: { proto: p.protocol, host_addr: address, host_port: p.hostPort, guest_port: p.hostPort },
    });
    const id = reply.return?.id;
    if (id === undefined) {
      const desc = reply.error?.desc ?? JSON.stringify(reply);
      // slirp4netns says only "add_hostfwd failed" when the host port is taken (or below
      // net.ipv4.ip_unprivileged_port_start for this user): Docker's words for a port it cannot have.
      throw new PortInUseError(`Error starting userland proxy: listen ${p.protocol}4 ${address}:${p.hostPort}: bind: address already in use or not permitted for this user (${desc})`);
    }
    return async () => { await apiRequest(this.apiSocket, { execute: 'remove_hostfwd', arguments: { id } }).catch(() => undefined); };
  }
}
