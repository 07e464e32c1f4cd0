/**
 * A scripted stand-in for berthd speaking the Docker Engine API on a unix
 * socket, for CLI smoke tests: it records every request (method, URL, body,
 * upgrade) and plays containers whose "command" decides what happens —
 *
 *   ["echo", …words]      prints the words on stdout
 *   ["err", …words]       prints them on stderr
 *   ["cat"]               echoes stdin until the client half-closes
 *   ["exit", N]           exits with N
 *   ["notfound"]          start fails with Docker's "executable file not found"
 *   anything else         exits 0 silently
 *
 * Hijacked attach/exec answer 101 and frame output with stdcopy unless the
 * container has a tty; `wait` sends its headers at once and its body at exit,
 * as dockerd does. Run it standalone with `node fake-daemon.js SOCKET` to
 * point the real docker CLI at it.
 */
import http from 'node:http';
import type { Duplex } from 'node:stream';
import { rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { encodeFrame } from '../../../src/cli/stream/stdcopy.js';

export interface RecordedRequest {
  method: string;
  url: string;
  body: string;
  upgrade: boolean;
}

interface FakeContainer {
  id: string;
  name: string;
  cmd: string[];
  tty: boolean;
  openStdin: boolean;
  autoRemove: boolean;
  running: boolean;
  exitCode: number;
  stdin: Buffer[];
  stdinClosed: boolean;
  attachSockets: Duplex[];
  waiters: { res: http.ServerResponse; removed: boolean }[];
  onStdinEnd: (() => void)[];
}

interface FakeExec {
  id: string;
  container: FakeContainer;
  cmd: string[];
  tty: boolean;
  exitCode: number | null;
}

function frame(tty: boolean, stream: 1 | 2, text: string): Buffer {
  return tty ? Buffer.from(text) : encodeFrame(stream, text);
}

export class FakeDaemon {
  readonly requests: RecordedRequest[] = [];
  /** Connections accepted so far. */
  connections = 0;
  readonly containers = new Map<string, FakeContainer>();
  readonly execs = new Map<string, FakeExec>();
  /** Images that `create` treats as present; others get a 404 until pulled. */
  readonly images = new Set<string>(['busybox']);
  private server: http.Server;

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', body, upgrade: false });
        this.handle(req, res, body);
      });
    });
    this.server.on('connection', () => { this.connections++; });
    this.server.on('upgrade', (req, socket: Duplex, head: Buffer) => {
      // The exec start body travels in `head` and/or on the socket.
      const len = Number(req.headers['content-length'] ?? 0);
      let buf = head;
      const proceed = () => {
        const body = buf.subarray(0, len).toString('utf8');
        const rest = buf.subarray(len);
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', body, upgrade: true });
        this.handleUpgrade(req, socket, body, rest);
      };
      if (buf.length >= len) return proceed();
      const onData = (c: Buffer) => {
        buf = Buffer.concat([buf, c]);
        if (buf.length >= len) {
          socket.off('data', onData);
          proceed();
        }
      };
      socket.on('data', onData);
    });
  }

  listen(socketPath: string): Promise<void> {
    rmSync(socketPath, { force: true });
    return new Promise((resolve) => this.server.listen(socketPath, () => resolve()));
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Requests without the pings, as `METHOD /path?query`. */
  lines(): string[] {
    return this.requests.filter((r) => !r.url.includes('/_ping')).map((r) => `${r.method} ${r.url.replace(/^\/v1\.\d+/, '')}${r.upgrade ? ' (upgrade)' : ''}`);
  }

  private find(idOrName: string): FakeContainer | undefined {
    for (const c of this.containers.values()) if (c.id === idOrName || c.id.startsWith(idOrName) || c.name === idOrName) return c;
    return undefined;
  }

  private json(res: http.ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Api-Version': '1.50' });
    res.end(`${JSON.stringify(body)}\n`);
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse, body: string): void {
    const u = new URL(req.url ?? '/', 'http://fake');
    const path = u.pathname.replace(/^\/v1\.\d+/, '');
    const m = req.method;
    let match: RegExpExecArray | null;
    if (path === '/_ping') {
      // With its length, as dockerd and berthd send it, HEAD included: without one the client cannot keep the connection.
      res.writeHead(200, { 'Api-Version': '1.50', 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': '2' });
      res.end(m === 'HEAD' ? undefined : 'OK');
      return;
    }
    if (m === 'POST' && path === '/containers/create') {
      const cfg = JSON.parse(body) as { Image: string; Cmd: string[] | null; Tty: boolean; OpenStdin: boolean; HostConfig: { AutoRemove: boolean } };
      if (!this.images.has(cfg.Image.replace(/:latest$/, ''))) return this.json(res, 404, { message: `No such image: ${cfg.Image}` });
      const id = randomBytes(32).toString('hex');
      this.containers.set(id, {
        id, name: u.searchParams.get('name') ?? `c${this.containers.size}`, cmd: cfg.Cmd ?? [], tty: cfg.Tty, openStdin: cfg.OpenStdin,
        autoRemove: cfg.HostConfig.AutoRemove, running: false, exitCode: 0, stdin: [], stdinClosed: false,
        attachSockets: [], waiters: [], onStdinEnd: [],
      });
      return this.json(res, 201, { Id: id, Warnings: [] });
    }
    if (m === 'POST' && path === '/images/create') {
      const from = u.searchParams.get('fromImage') ?? '';
      this.images.add(from.replace(/^docker\.io\/library\//, ''));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write(`${JSON.stringify({ status: 'Pulling from library/busybox', id: 'latest' })}\r\n`);
      res.write(`${JSON.stringify({ status: 'Downloading', progressDetail: { current: 1, total: 2 }, id: 'abc' })}\r\n`);
      res.end(`${JSON.stringify({ status: `Status: Downloaded newer image for ${from}:latest` })}\r\n`);
      return;
    }
    if ((match = /^\/containers\/([^/]+)\/(\w+)$/.exec(path))) {
      const c = this.find(decodeURIComponent(match[1]));
      const action = match[2];
      if (!c) return this.json(res, 404, { message: `No such container: ${decodeURIComponent(match[1])}` });
      switch (action) {
        case 'json':
          return this.json(res, 200, {
            Id: c.id, Name: `/${c.name}`, State: { Status: c.running ? 'running' : 'exited', Running: c.running, Paused: false, Restarting: false, ExitCode: c.exitCode },
            Config: { Tty: c.tty, OpenStdin: c.openStdin, Cmd: c.cmd }, HostConfig: { AutoRemove: c.autoRemove },
            NetworkSettings: { Ports: { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }] } },
          });
        case 'wait': {
          res.writeHead(200, { 'Content-Type': 'application/json' });
          res.flushHeaders();
          c.waiters.push({ res, removed: u.searchParams.get('condition') === 'removed' });
          return;
        }
        case 'start':
          if (c.cmd[0] === 'notfound') {
            return this.json(res, 400, { message: 'failed to create task for container: exec: "notfound": executable file not found in $PATH: unknown' });
          }
          res.writeHead(204);
          res.end();
          this.startProcess(c);
          return;
        case 'resize':
        case 'kill':
        case 'stop':
          res.writeHead(action === 'resize' ? 200 : 204);
          res.end();
          return;
        case 'logs': {
          res.writeHead(200, { 'Content-Type': c.tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
          res.write(frame(c.tty, 1, 'log-out\n'));
          res.end(frame(c.tty, 2, 'log-err\n'));
          return;
        }
        case 'exec': {
          const cfg = JSON.parse(body) as { Cmd: string[]; Tty: boolean };
          const id = randomBytes(32).toString('hex');
          this.execs.set(id, { id, container: c, cmd: cfg.Cmd, tty: cfg.Tty, exitCode: null });
          return this.json(res, 201, { Id: id });
        }
        default:
          return this.json(res, 404, { message: `fake: ${m} ${path}` });
      }
    }
    if ((match = /^\/exec\/([^/]+)\/(\w+)$/.exec(path))) {
      const e = this.execs.get(match[1]);
      if (!e) return this.json(res, 404, { message: `No such exec instance: ${match[1]}` });
      if (match[2] === 'json') return this.json(res, 200, { ID: e.id, Running: false, ExitCode: e.exitCode });
      if (match[2] === 'start') {
        e.exitCode = this.exitCodeOf(e.cmd);
        res.writeHead(200);
        res.end();
        return;
      }
      res.writeHead(200);
      res.end();
      return;
    }
    return this.json(res, 404, { message: `fake: ${m} ${path}` });
  }

  private handleUpgrade(req: http.IncomingMessage, socket: Duplex, body: string, rest: Buffer): void {
    const u = new URL(req.url ?? '/', 'http://fake');
    const path = u.pathname.replace(/^\/v1\.\d+/, '');
    const ok = 'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n';
    let match: RegExpExecArray | null;
    if ((match = /^\/containers\/([^/]+)\/attach$/.exec(path))) {
      const c = this.find(decodeURIComponent(match[1]));
      if (!c) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 39\r\n\r\n{"message":"No such container: nosuch"}');
        return;
      }
      socket.write(ok);
      c.attachSockets.push(socket);
      const takeStdin = u.searchParams.get('stdin') === '1';
      const onData = (d: Buffer) => { if (takeStdin) c.stdin.push(d); };
      if (rest.length) onData(rest);
      socket.on('data', onData);
      socket.on('end', () => {
        if (takeStdin) {
          c.stdinClosed = true;
          for (const f of c.onStdinEnd.splice(0)) f();
        }
      });
      socket.on('error', () => undefined);
      return;
    }
    if ((match = /^\/exec\/([^/]+)\/start$/.exec(path))) {
      const e = this.execs.get(match[1]);
      if (!e) {
        socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
        return;
      }
      socket.write(ok);
      const input: Buffer[] = rest.length ? [rest] : [];
      socket.on('data', (d: Buffer) => input.push(d));
      socket.on('error', () => undefined);
      const run = () => {
        e.exitCode = this.exitCodeOf(e.cmd);
        const out = this.outputOf(e.cmd, Buffer.concat(input).toString('utf8'), e.tty);
        socket.end(out);
      };
      if (e.cmd[0] === 'cat') socket.on('end', run);
      else setImmediate(run);
      void body;
      return;
    }
    socket.end('HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n');
  }

  private exitCodeOf(cmd: string[]): number {
    return cmd[0] === 'exit' ? Number(cmd[1] ?? 0) : 0;
  }

  private outputOf(cmd: string[], stdin: string, tty: boolean): Buffer {
    switch (cmd[0]) {
      case 'echo': return frame(tty, 1, `${cmd.slice(1).join(' ')}\n`);
      case 'err': return frame(tty, 2, `${cmd.slice(1).join(' ')}\n`);
      case 'cat': return stdin ? frame(tty, 1, stdin) : Buffer.alloc(0);
      default: return Buffer.alloc(0);
    }
  }

  private startProcess(c: FakeContainer): void {
    c.running = true;
    const finish = () => {
      const out = this.outputOf(c.cmd, Buffer.concat(c.stdin).toString('utf8'), c.tty);
      c.exitCode = this.exitCodeOf(c.cmd);
      for (const s of c.attachSockets.splice(0)) s.end(out);
      c.running = false;
      const result = `${JSON.stringify({ Error: null, StatusCode: c.exitCode })}\n`;
      for (const w of c.waiters.splice(0)) w.res.end(result);
      if (c.autoRemove) this.containers.delete(c.id);
    };
    // `cat` runs until stdin is closed (StdinOnce); the rest finish right away.
    if (c.cmd[0] === 'cat' && !c.stdinClosed) c.onStdinEnd.push(() => setImmediate(finish));
    else setTimeout(finish, 20);
  }
}

// Standalone: `node fake-daemon.js /tmp/x.sock` (for running the docker CLI against the same fake).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && process.argv[2]) {
  const d = new FakeDaemon();
  await d.listen(process.argv[2]);
  process.on('SIGTERM', () => {
    process.stdout.write(`${JSON.stringify(d.requests)}\n`);
    process.exit(0);
  });
}
