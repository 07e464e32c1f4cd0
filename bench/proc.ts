/**
 * Running and timing commands for the benchmark, and reading processes'
 * memory from /proc.
 *
 * Every command runs with CLEAN_ENV unless told otherwise: variables such as
 * NODE_EXTRA_CA_CERTS add ~85 ms to every Node start on the machines this was
 * written for, which would swamp the figures of a Node CLI.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync } from 'node:fs';

export const CLEAN_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/root',
};

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** How many bytes came on stdout (all of them, also when countStdoutOnly kept none). */
  stdoutBytes: number;
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
}

export interface CommandOptions {
  env?: Readonly<Record<string, string>>;
  cwd?: string;
  /** Killed (SIGKILL) after this long; default 10 minutes. */
  timeoutMs?: number;
  /** Count stdout's bytes (CommandResult.stdoutBytes) instead of keeping them: for outputs of gigabytes. */
  countStdoutOnly?: boolean;
}

/**
 * Ctrl-C: from `interrupt()` on, no new measuring command starts (run()
 * rejects with InterruptedError), so the figures unwind; commands under way
 * finish (`settle()` waits for them), then the clean-up's own commands run
 * (`allowCleanupCommands()`).
 */
export class InterruptedError extends Error {
  constructor() { super('interrupted'); }
}

let interrupted = false;
let cleaningUp = false;
const live = new Set<ChildProcess>();

export function interrupt(): void { interrupted = true; }
export function isInterrupted(): boolean { return interrupted; }
export function allowCleanupCommands(): void { cleaningUp = true; }
/** Rejects with InterruptedError after interrupt(), until the clean-up starts. */
export function throwIfInterrupted(): void {
  if (interrupted && !cleaningUp) throw new InterruptedError();
}

/** Resolves when no command started by run() is still running (at most `ms`). */
export async function settle(ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (live.size && Date.now() < end) await sleep(100);
}

/** Runs argv to completion; never rejects on a non-zero exit (see `check`). */
export function run(argv: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    throwIfInterrupted();
    const start = process.hrtime.bigint();
    const child = spawn(argv[0], argv.slice(1), { env: { ...(opts.env ?? CLEAN_ENV) }, cwd: opts.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let stdoutBytes = 0;
    child.stdout.on('data', (b: Buffer) => {
      stdoutBytes += b.length;
      if (!opts.countStdoutOnly) out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => err.push(b));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 600_000);
    child.on('error', (e) => { live.delete(child); clearTimeout(timer); reject(new Error(`${argv[0]}: ${e.message}`)); });
    // Timed at 'exit'; the output is complete at 'close', unless a daemonised
    // grandchild (conmon) inherited the pipes: then stop waiting for it.
    let ms = 0;
    let code: number | null = null;
    child.on('exit', (c) => {
      ms = Number(process.hrtime.bigint() - start) / 1e6;
      code = c;
      live.delete(child);
      clearTimeout(timer);
      setTimeout(() => { child.stdout.destroy(); child.stderr.destroy(); }, 500);
    });
    child.on('close', () => {
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), stdoutBytes, ms });
    });
  });
}

/** The first meaningful line of a failed command's output, for a table cell. */
export function firstErrorLine(r: CommandResult): string {
  const lines = `${r.stderr}\n${r.stdout}`.split('\n').map((l) => l.trim()).filter(Boolean);
  const error = lines.find((l) => /error|denied|not implemented|failed|unknown|invalid/i.test(l)) ?? lines[0] ?? `exit status ${r.code}`;
  return error.replace(/\|/g, '\\|').slice(0, 200);
}

export class CommandError extends Error {
  constructor(readonly argv: readonly string[], readonly result: CommandResult) {
    super(firstErrorLine(result));
  }
}

/** Runs argv and rejects with a CommandError when it exits non-zero. */
export async function check(argv: readonly string[], opts: CommandOptions = {}): Promise<CommandResult> {
  const r = await run(argv, opts);
  if (r.code !== 0) throw new CommandError(argv, r);
  return r;
}

/** Runs `make(0)` … `make(count - 1)`, at most `parallel` at a time; resolves with their results in order. */
export async function runPool<T>(count: number, parallel: number, make: (i: number) => Promise<T>): Promise<T[]> {
  const results: T[] = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await make(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  return results;
}

/** Whether an executable of that name is on CLEAN_ENV's PATH; its path if so. */
export function which(name: string): string | null {
  for (const dir of CLEAN_ENV.PATH.split(':')) {
    try {
      accessSync(`${dir}/${name}`, constants.X_OK);
      return `${dir}/${name}`;
    } catch { /* not there or not executable */ }
  }
  return null;
}

export interface ProcessInfo {
  pid: number;
  ppid: number;
  comm: string;
  /** argv joined by spaces. */
  cmdline: string;
}

/** Every process on the machine (those that vanish while listing are skipped). */
export function listProcesses(): ProcessInfo[] {
  const list: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // comm is in parentheses and may contain spaces: the fields after the last ')' are fixed.
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      list.push({ pid: Number(name), ppid, comm, cmdline });
    } catch { /* exited meanwhile */ }
  }
  return list;
}

/** Resident set size of a process in MiB (0 when it is gone). */
export function rssMiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * A process's proportional set size in MiB (0 when it is gone): its private
 * pages plus its share of pages it maps with others. RSS counts a shared
 * library's pages in full in every process that maps it, so the RSS of 1000
 * monitors of one binary counts its code 1000 times; their PSS adds up to
 * the memory they really take.
 */
export function pssMiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) a process has used, in seconds (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat(5), in clock ticks (USER_HZ, 100 on Linux).
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Median of `samples` readings of `read`, `intervalMs` apart (RSS moves with the garbage collector). */
export async function steadyReading(read: () => number, samples = 3, intervalMs = 300): Promise<number> {
  const values: number[] = [];
  for (let i = 0; i < samples; i++) {
    if (i) await sleep(intervalMs);
    values.push(read());
  }
  values.sort((a, b) => a - b);
  return values[values.length >> 1];
}
