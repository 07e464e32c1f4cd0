/**
 * `berth registry serve` (this checkout's) as a process of its own on
 * 127.0.0.1 and a free port, storage under `root`, for tests and scripts
 * that need a registry to pull from.
 */
import { spawn } from 'node:child_process';
import { berthBin } from './paths.js';

export interface BerthRegistry {
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>`, the registry part of image names. */
  host: string;
  stop(): Promise<void>;
}

/** Starts the server and resolves once it says where it listens. */
export function startBerthRegistry(root: string): Promise<BerthRegistry> {
  return new Promise((resolve, reject) => {
    const child = spawn(berthBin, ['registry', 'serve', '--addr', '127.0.0.1:0', '--root', root], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    const stop = () => new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) { done(); return; }
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
    const timer = setTimeout(() => { void stop(); reject(new Error(`berth registry serve did not start: ${err}`)); }, 30_000);
    child.stdout.on('data', (b) => {
      out += b;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve({ url: m[1], host: new URL(m[1]).host, stop });
      }
    });
    child.stderr.on('data', (b) => { err = (err + b).slice(-4000); });
    child.on('exit', (c) => { clearTimeout(timer); reject(new Error(`berth registry serve exited (${c}): ${err}`)); });
  });
}
