/**
 * Throw-away registries on loopback for the push/pull figure: Debian's
 * `docker-registry` (distribution 2.8) and `berth registry serve`, each on a
 * free 127.0.0.1 port with its storage in a fresh directory, so every push
 * uploads every blob (nothing to mount or skip).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CLEAN_ENV, sleep } from './proc.js';
import { freePort, startDockerRegistry } from '../test/helpers/docker-registry.js';

export type RegistryKind = 'docker-registry' | 'berth registry serve';

export interface Registry {
  /** `127.0.0.1:<port>`, the reference's domain. */
  readonly host: string;
  stop(): Promise<void>;
}

/** Starts a registry of that kind; `berthBin` is this checkout's CLI entry (bin/berth). */
export async function startRegistry(kind: RegistryKind, berthBin: string): Promise<Registry> {
  const dir = mkdtempSync('/tmp/berth-bench-registry-');
  if (kind === 'docker-registry') {
    // The same fixture the tests use.
    const r = await startDockerRegistry(dir);
    return { host: r.host, stop: async () => { await r.stop(); rmSync(dir, { recursive: true, force: true }); } };
  }
  const host = `127.0.0.1:${await freePort()}`;
  // Access log lines go to stderr: drained, not kept.
  const child: ChildProcess = spawn(process.execPath, [berthBin, 'registry', 'serve', '--addr', host, '--root', join(dir, 'storage')],
    { env: { ...CLEAN_ENV }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (b: Buffer) => { if (stderr.length < 4096) stderr += b.toString(); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', () => { /* seen as exit below */ });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const done = await Promise.race([exited.then(() => true), sleep(5000).then(() => false)]);
      if (!done) { child.kill('SIGKILL'); await exited; }
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop();
      throw new Error(`${kind} exited at start: ${stderr.trim()}`);
    }
    try {
      const res = await fetch(`http://${host}/v2/`);
      await res.arrayBuffer();
      if (res.status === 200 || res.status === 401) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${kind} did not answer on ${host} within 15 s: ${stderr.trim()}`);
    }
    await sleep(50);
  }
  return { host, stop };
}
