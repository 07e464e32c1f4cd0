/**
 * A real ssh-agent for the `--ssh` tests, and a way to run the host's
 * ssh-add inside a busybox image: the binary and the libraries `ldd` names
 * are copied into a build context directory at their host paths, so
 * `COPY sshadd/ /` puts a working `ssh-add` into the image.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { waitFor } from '../../helpers/daemon.js';

export const SSH_ADD = '/usr/bin/ssh-add';

export const skipWithoutOpenssh = (): string | false =>
  (['/usr/bin/ssh-agent', SSH_ADD, '/usr/bin/ssh-keygen'].every((p) => existsSync(p)) ? false : 'no openssh-client (ssh-agent, ssh-add, ssh-keygen)');

function run(file: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${[file, ...args].join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

export interface TestAgent {
  /** The agent's socket (SSH_AUTH_SOCK). */
  sock: string;
  /** `ssh-add -l`'s line for the key, as the host sees it: `256 SHA256:… <comment> (ED25519)`. */
  fingerprint: string;
  stop(): Promise<void>;
}

/** Starts `ssh-agent -D` on `dir/agent.sock` with a fresh ed25519 key `comment` in it. */
export async function startAgent(dir: string, comment: string): Promise<TestAgent> {
  await mkdir(dir, { recursive: true });
  const sock = join(dir, 'agent.sock');
  const child: ChildProcess = spawn('/usr/bin/ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => { if (child.exitCode === null && child.signalCode === null) { child.kill('SIGTERM'); await exited; } };
  try {
    await waitFor(() => existsSync(sock), 10_000, 'ssh-agent to listen');
    const key = join(dir, 'id_ed25519');
    await run('/usr/bin/ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', key]);
    await run(SSH_ADD, ['-q', key], { SSH_AUTH_SOCK: sock });
    const fingerprint = (await run(SSH_ADD, ['-l'], { SSH_AUTH_SOCK: sock })).trim();
    if (!fingerprint.includes(comment)) throw new Error(`ssh-add -l shows no test key: ${fingerprint}`);
    return { sock, fingerprint, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Copies ssh-add and its shared libraries into `dir` at their host paths (for `COPY <dir>/ /`). */
export async function copySshAdd(dir: string): Promise<void> {
  const ldd = await run('/usr/bin/ldd', [SSH_ADD]);
  const files = [SSH_ADD];
  for (const line of ldd.split('\n')) {
    // `libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)` or `/lib64/ld-linux-x86-64.so.2 (0x…)`
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m) files.push(m[1]);
  }
  for (const f of files) {
    await mkdir(join(dir, dirname(f)), { recursive: true });
    await copyFile(f, join(dir, f)); // follows symlinks: the image gets the files themselves
  }
}
