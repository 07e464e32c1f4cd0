/**
 * External programs the interop tests drive: skopeo, and Debian's
 * docker-registry (distribution 2.8.2) started on a free port with a
 * throw-away config and storage.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
export { freePort, startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';

export async function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `berth-${prefix}-`));
}

export function hasProgram(name: string): Promise<boolean> {
  return new Promise((resolve) => execFile('sh', ['-c', `command -v ${name}`], (err) => resolve(!err)));
}

/** Runs a program; rejects with its stderr on failure. */
export function run(cmd: string, args: string[], timeoutMs = 120_000, env?: NodeJS.ProcessEnv): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 << 20, env }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`));
      else resolve({ stdout, stderr });
    });
  });
}

/** skopeo with a throw-away policy (accept anything) so the host's policy.json does not matter. */
export function skopeo(args: string[]): Promise<{ stdout: string; stderr: string }> {
  return run('skopeo', ['--insecure-policy', ...args]);
}
