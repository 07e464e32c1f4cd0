/**
 * Test fixture for the runtime layer: a busybox rootfs, minimal OCI bundles
 * (from `runc spec`, not berth's spec builder) under a short path, and
 * cleanup that runs even when a test fails — runtime state, stray conmons,
 * cgroups, directories.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { findRuntime, OciRuntime } from '../../../src/runtime/oci-runtime.js';
import { removeCgroup } from '../../../src/runtime/cgroup-setup.js';
import type { AttachStream } from '../../../src/runtime/attach.js';

/** Short on purpose: `<bundle>/attach` must fit in sun_path. */
export const BASE = '/run/berth-t';
export const CGROUP_PARENT = '/berth-test';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Env {
  dir: string;
  rootfs: string;
  exitDir: string;
  runtime: OciRuntime;
  /** Removes everything; registered with `after` by `setUp`. */
  teardown(): void;
}

let spec: Record<string, any> | null = null;

function baseSpec(): Record<string, any> {
  if (spec) return structuredClone(spec);
  const tmp = mkdtempSync('/tmp/berth-spec-');
  try {
    execFileSync(findRuntime('runc').path, ['spec'], { cwd: tmp });
    spec = JSON.parse(readFileSync(join(tmp, 'config.json'), 'utf8')) as Record<string, any>;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return structuredClone(spec);
}

/** One working dir per test file and runtime: rootfs, exit dir, runtime state root. */
export function setUp(runtimeName: 'runc' | 'crun'): Env {
  mkdirSync(BASE, { recursive: true });
  const dir = mkdtempSync(join(BASE, `${runtimeName[0]}`));
  const rootfs = join(dir, 'rootfs');
  mkdirSync(join(rootfs, 'bin'), { recursive: true });
  mkdirSync(join(rootfs, 'tmp'), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  chmodSync(join(rootfs, 'bin', 'busybox'), 0o755);
  execFileSync('chroot', [rootfs, '/bin/busybox', '--install', '-s', '/bin']);
  const exitDir = join(dir, 'exits');
  mkdirSync(exitDir);
  const runtime = new OciRuntime(runtimeName, findRuntime(runtimeName).path, join(dir, 'state'));
  return {
    dir, rootfs, exitDir, runtime,
    teardown: () => {
      rmSync(dir, { recursive: true, force: true });
      // The shared parent cgroup goes when the last test process is done with it.
      for (const h of readdirSync('/sys/fs/cgroup')) {
        try { rmdirSync(join('/sys/fs/cgroup', h, CGROUP_PARENT)); } catch { /* busy, absent, or a file */ }
      }
    },
  };
}

let counter = 0;

export interface Bundle { id: string; dir: string; logPath: string; cgroupsPath: string }

export interface BundleOptions {
  args: string[];
  terminal?: boolean;
  env?: string[];
  /** Put the bundle under a directory this long (to test sun_path limits). */
  padding?: number;
}

/**
 * Writes `<env.dir>/<n>/config.json` and registers cleanup with `t.after`:
 * `runtime delete -f`, SIGKILL for a conmon still alive, the cgroup, the dir.
 */
export function makeBundle(t: TestContext, env: Env, o: BundleOptions): Bundle {
  const n = `${++counter}`;
  const id = `bt${process.pid}-${env.runtime.name[0]}${n}`;
  const dir = o.padding ? join(env.dir, 'p'.repeat(o.padding), n) : join(env.dir, n);
  mkdirSync(dir, { recursive: true });
  const c = baseSpec();
  c.process.terminal = !!o.terminal;
  c.process.args = o.args;
  if (o.env) c.process.env = [...c.process.env, ...o.env];
  delete c.process.rlimits;
  c.root = { path: env.rootfs, readonly: false };
  c.hostname = id.slice(0, 12);
  c.linux.cgroupsPath = `${CGROUP_PARENT}/${id}`;
  writeFileSync(join(dir, 'config.json'), JSON.stringify(c));
  const bundle = { id, dir, logPath: join(dir, 'ctr.log'), cgroupsPath: c.linux.cgroupsPath as string };
  t.after(() => cleanupBundle(env, bundle));
  return bundle;
}

export async function cleanupBundle(env: Env, b: Bundle): Promise<void> {
  await env.runtime.delete(b.id, true).catch(() => undefined);
  // The container's conmon and those of its exec sessions (their dirs are inside the bundle).
  for (let i = 0; i < 50; i++) {
    const stray = conmonsMentioning(b.dir);
    if (stray.length === 0) break;
    if (i === 10) for (const pid of stray) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await sleep(10);
  }
  await removeCgroup(b.cgroupsPath).catch(() => undefined);
  rmSync(b.dir, { recursive: true, force: true });
}

/** Resolves when `fn` returns a non-null value, polling; rejects after `ms`. */
export async function waitFor<T>(what: string, fn: () => T | null | Promise<T | null>, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Live conmon processes whose command line mentions `needle` (stray check). */
export function conmonsMentioning(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      if (stat.slice(stat.indexOf('(') + 1, close) !== 'conmon' || stat[close + 2] === 'Z') continue;
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(needle)) out.push(Number(name));
    } catch { /* exited */ }
  }
  return out;
}

/** Gathers what an attach stream delivers, per stream (1 stdout, 2 stderr). */
export function collect(a: AttachStream): { text: (n: 1 | 2) => string; closed: Promise<void> } {
  const chunks: Record<1 | 2, Buffer[]> = { 1: [], 2: [] };
  a.on('output', (n: 1 | 2, c: Buffer) => chunks[n].push(Buffer.from(c)));
  const closed = new Promise<void>((r) => a.once('close', () => r()));
  return { text: (n) => Buffer.concat(chunks[n]).toString(), closed };
}
