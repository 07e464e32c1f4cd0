/**
 * Whether CRIU can work on this host at all (`criu check`), asked once per
 * berthd: a CRIU older than the kernel fails every dump and restore the same
 * way (Debian 12's CRIU 3.17 does not know the `[vvar_vclock]` mapping of
 * kernels ≥ 6.13 and stops at "Unexpected rt vDSO area bounds"), and a user
 * should read that, not a runtime's "criu failed: type DUMP errno 0".
 */
import { readFile } from 'node:fs/promises';
import { release } from 'node:os';
import { delimiter } from 'node:path';
import { findExecutable } from '../executable.js';
import { execFileInSpawner } from '../spawner.js';

let verdict: Promise<string | null> | undefined;

/** null when `criu check` passes; otherwise why checkpoint/restore cannot work here. */
export function criuUnavailable(): Promise<string | null> {
  verdict ??= (async () => {
    // The one the runtime will run: runc and crun look criu up in $PATH.
    const path = (process.env.PATH ?? '').split(delimiter).filter((d) => d.startsWith('/'));
    const criu = findExecutable('criu', [...path, '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', '/sbin']);
    if (!criu) return 'criu is not installed (Debian package criu)';
    const r = await execFileInSpawner(criu, ['check']);
    if (!r.failure) return null;
    const version = (await execFileInSpawner(criu, ['--version'])).stdout.match(/Version:\s*(\S+)/)?.[1] ?? '?';
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('Error')).map((l) => l.replace(/^Error \([^)]*\):\s*/, '').trim());
    return `CRIU ${version} cannot work on this host (kernel ${release()}): criu check failed: ${errors.slice(0, 2).join('; ') || r.stderr.trim()}`;
  })();
  return verdict;
}

/** The last `Error` lines CRIU wrote to its log (dump.log, restore.log): what a runtime's "criu failed" leaves out. */
export async function criuErrors(logPath: string): Promise<string> {
  const text = await readFile(logPath, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => /\bError\b/.test(l)).slice(-3).map((l) => l.replace(/^\(\s*[\d.]+\)\s*/, '').trim()).join('; ');
}
