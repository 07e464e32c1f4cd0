/**
 * Commands in a real terminal, for `run -it`, `exec -it` and `attach`
 * tests: util-linux `script` gives the command a pty (stdin, stdout and
 * stderr are the pty's slave side); we feed keystrokes through script's
 * stdin and read what the terminal shows from its stdout.
 *
 *   const p = spawnPty([process.execPath, berthBin, '-H', d.host, 'run', '-it', 'busybox', 'sh']);
 *   await p.expect(/# $/);
 *   p.write('echo $((6*7))\r');
 *   await p.expect(/^42$/m);
 *   p.write('exit\r');
 *   assert.equal((await p.exit()).code, 0);
 *
 * The terminal echoes what is typed, so match output on a line of its own
 * (`/^42$/m`) rather than a substring of the command line.
 */
import { spawn } from 'node:child_process';
import { TimeoutError, withTimeout } from './wait.js';

export interface PtyOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Terminal size set with stty before the command starts (default 24×80). */
  rows?: number;
  cols?: number;
}

export interface PtyExit { code: number | null; signal: NodeJS.Signals | null }

export interface PtySession {
  readonly pid: number | undefined;
  /** Sends keystrokes (use `\r` for Enter, `\x03` for ctrl-c, `\x10\x11` for ctrl-p ctrl-q). */
  write(data: string): void;
  /** Everything the terminal showed so far, raw. */
  output(): string;
  /** The same without `\r` and ANSI escape sequences. */
  text(): string;
  /**
   * Waits until `pattern` appears in text() after the end of the previous
   * match, and returns the matched text.
   */
  expect(pattern: RegExp | string, timeoutMs?: number): Promise<string>;
  /** Waits for the command to exit (script passes its exit code through). */
  exit(timeoutMs?: number): Promise<PtyExit>;
  /** SIGKILLs script; the command then gets SIGHUP from its closing terminal. */
  kill(): void;
}

/** Single-quotes `s` for sh. */
export function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

export function stripAnsi(s: string): string {
  // CSI sequences, OSC sequences (ended by BEL or ST), and two-byte escapes.
  // eslint-disable-next-line no-control-regex
  return s.replace(/\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[@-Z\\-_]/g, '').replace(/\r/g, '');
}

export function spawnPty(argv: string[], opts: PtyOptions = {}): PtySession {
  const rows = opts.rows ?? 24;
  const cols = opts.cols ?? 80;
  const command = `stty rows ${rows} cols ${cols} 2>/dev/null; exec ${argv.map(shellQuote).join(' ')}`;
  const env: NodeJS.ProcessEnv = { ...process.env, SHELL: '/bin/sh', TERM: 'xterm' };
  for (const [k, v] of Object.entries(opts.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  // -q quiet, -f flush at once, -e pass the command's exit code through, -c run this command.
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  let raw = '';
  let consumed = 0;
  const waiters = new Set<() => void>();
  const notify = () => { for (const w of [...waiters]) w(); };
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stdout.on('data', (s: string) => { raw += s; notify(); });
  child.stderr.on('data', (s: string) => { raw += s; notify(); });
  child.stdin.on('error', () => { /* script exited */ });
  const exited = new Promise<PtyExit>((resolve) => {
    child.once('close', (code, signal) => { notify(); resolve({ code, signal }); });
    child.once('error', () => { notify(); resolve({ code: null, signal: null }); });
  });
  let done = false;
  void exited.then(() => { done = true; notify(); });

  const session: PtySession = {
    get pid() { return child.pid; },
    write(data) { child.stdin.write(data); },
    output: () => raw,
    text: () => stripAnsi(raw),
    expect(pattern, timeoutMs = 10_000) {
      const find = (): string | null => {
        const t = stripAnsi(raw).slice(consumed);
        if (typeof pattern === 'string') {
          const i = t.indexOf(pattern);
          if (i < 0) return null;
          consumed += i + pattern.length;
          return pattern;
        }
        const m = new RegExp(pattern.source, pattern.flags.replace('g', '')).exec(t);
        if (!m) return null;
        consumed += m.index + m[0].length;
        return m[0];
      };
      return new Promise<string>((resolve, reject) => {
        const check = () => {
          const hit = find();
          if (hit !== null) { cleanup(); resolve(hit); return; }
          if (done) { cleanup(); reject(new Error(`command exited before ${String(pattern)} appeared; terminal showed:\n${stripAnsi(raw)}`)); }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new TimeoutError(`${String(pattern)} did not appear within ${timeoutMs} ms; terminal showed:\n${stripAnsi(raw)}`));
        }, timeoutMs);
        const cleanup = () => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
    async exit(timeoutMs = 15_000) {
      try {
        return await withTimeout(exited, timeoutMs, 'the terminal command to exit');
      } catch (e) {
        throw new TimeoutError(`${(e as Error).message}; terminal showed:\n${stripAnsi(raw)}`);
      }
    },
    kill() {
      try { if (child.pid) process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    },
  };
  return session;
}
