/**
 * How a connection to the daemon is made, for each kind of address
 * (host.ts): a unix socket, TCP, TCP with TLS (Node's tls module; the
 * client's certificate when it has one), or ssh: `ssh … -- host berth system
 * dial-stdio` (what Docker's connhelper runs, with berth on the far side),
 * whose stdin and stdout are the connection. The HTTP client (client.ts)
 * speaks plain HTTP/1.1 over whatever `dial()` returns, so hijacked streams
 * and half-closes work the same on every transport.
 */
import net from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { readFileSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import { Duplex } from 'node:stream';
import type { DaemonAddress } from './host.js';
import { StatusError } from './errors.js';
import { tls } from './builtin.js';

/** The arguments of `ssh` for an ssh:// address (Docker's connhelper/ssh: `-o ConnectTimeout=30 -T`, `-l`, `-p`). */
export function sshArgs(addr: Extract<DaemonAddress, { kind: 'ssh' }>, remote: string[]): string[] {
  const args = ['-o', 'ConnectTimeout=30', '-T'];
  if (addr.user) args.push('-l', addr.user);
  if (addr.port) args.push('-p', String(addr.port));
  // `--` ends ssh's options: the host can never be taken for one.
  return [...args, '--', addr.hostname, ...remote];
}

/** The command run on the far side of ssh://: berth's own dial-stdio, to the socket named in the URL if any. */
export function remoteDialCommand(addr: Extract<DaemonAddress, { kind: 'ssh' }>): string[] {
  return ['berth', ...(addr.remoteSocket ? ['--host', `unix://${addr.remoteSocket}`] : []), 'system', 'dial-stdio'];
}

/**
 * An ssh child's stdio as one socket-like Duplex: writes go to its stdin,
 * its stdout is read, end() closes its stdin (the half-close dial-stdio
 * passes on), destroy() ends the process. The no-op socket methods are those
 * Node's HTTP agent calls on its sockets.
 */
export class CommandSocket extends Duplex {
  private readonly child: ChildProcess;
  private stderr = '';

  constructor(file: string, args: string[]) {
    super({ allowHalfOpen: true });
    this.child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const { stdin, stdout, stderr } = this.child;
    let received = false;
    let stdoutEnded = false;
    let exitCode: number | null | undefined;
    // The end of stdout is the connection's end, unless ssh failed without a byte from the daemon:
    // then it is a connection error with ssh's own words (a refused key, an unknown host…).
    const settle = () => {
      if (!stdoutEnded || exitCode === undefined || this.destroyed) return;
      if (!received && exitCode !== 0) {
        this.destroy(Object.assign(new Error(`ssh exited with status ${exitCode}: ${this.stderr.trim()}`), { code: 'ESSH' }));
      } else this.push(null);
    };
    stdout!.on('data', (b: Buffer) => { received = true; if (!this.push(b)) stdout!.pause(); });
    stdout!.on('end', () => { stdoutEnded = true; if (received) this.push(null); else settle(); });
    stderr!.on('data', (b: Buffer) => { this.stderr = (this.stderr + b.toString()).slice(-4096); });
    stdin!.on('error', () => undefined);
    this.child.on('error', (e) => this.destroy(e));
    this.child.on('exit', (code) => { exitCode = code; settle(); });
    process.nextTick(() => this.emit('connect'));
  }

  override _read(): void { this.child.stdout?.resume(); }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void { this.child.stdin!.write(chunk, cb); }
  override _final(cb: (e?: Error | null) => void): void { this.child.stdin!.end(); cb(); }
  override _destroy(err: Error | null, cb: (e?: Error | null) => void): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    cb(err);
  }
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  setTimeout(): this { return this; }
  ref(): this { this.child.ref(); return this; }
  unref(): this {
    // An idle pooled connection must not keep the CLI alive.
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr]) (s as unknown as { unref?: () => void })?.unref?.();
    return this;
  }
}

function readPem(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new StatusError(1, `could not read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * The trust store for a TLS connection without --tlscacert when bin/berth
 * took NODE_EXTRA_CA_CERTS out of Node's start (see there): Node's own roots
 * and that file's certificates, as Node would have had them. A file that
 * cannot be read is skipped with Node's warning, as Node skips it.
 */
function deferredExtraCa(): (string | Buffer)[] | undefined {
  const file = (globalThis as Record<symbol, unknown>)[Symbol.for('berth.deferredExtraCaCerts')];
  if (typeof file !== 'string') return undefined;
  try {
    return [...tls().rootCertificates, readFileSync(file)];
  } catch (e) {
    process.emitWarning(`Ignoring extra certs from \`${file}\`, load failed: ${(e as Error).message}`);
    return undefined;
  }
}

/** A new connection to the daemon. Resolves nothing: errors come as the socket's 'error'. */
export function dial(addr: DaemonAddress): Duplex {
  switch (addr.kind) {
    case 'unix':
      return net.connect({ path: addr.socketPath, allowHalfOpen: true });
    case 'tcp': {
      if (!addr.tls) return net.connect({ host: addr.hostname, port: addr.port, allowHalfOpen: true });
      const t = addr.tls;
      // allowHalfOpen (a net.Socket option tls.connect passes on, missing from its typings): an attach half-closes when stdin ends.
      return tls().connect({
        host: addr.hostname, port: addr.port, ...({ allowHalfOpen: true } as ConnectionOptions),
        ...(net.isIP(addr.hostname) ? {} : { servername: addr.hostname }),
        ...(t.caFile ? { ca: readPem(t.caFile) } : { ca: deferredExtraCa() }),
        ...(t.certFile && t.keyFile ? { cert: readPem(t.certFile), key: readPem(t.keyFile) } : {}),
        rejectUnauthorized: t.verify,
        minVersion: 'TLSv1.2',
      });
    }
    case 'ssh':
      return new CommandSocket('ssh', sshArgs(addr, remoteDialCommand(addr)));
  }
}
