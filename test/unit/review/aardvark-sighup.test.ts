/**
 * review1: setDnsNames has aardvark-dns reload its names with SIGHUP, to the
 * pid in `<config>/aardvark-dns/aardvark.pid`. That file outlives its
 * process, and the pid may since be another's: a container's process, whose
 * command line (and, seen from the host, its exe path) it chooses itself.
 * Only a process running the very aardvark binary berth runs gets the signal.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Netavark, catchesSighup, runsBinary } from '../../../src/network/netavark.js';

const ID = 'a'.repeat(64);
const SLEEP = ['/usr/bin/sleep', '/bin/sleep'].find((p) => existsSync(p)) ?? 'sleep';

/** A network's aardvark-dns file with one entry for ID, and `pid` as aardvark-dns's. */
async function aardvarkConfig(t: { after(fn: () => Promise<void>): void }, pid: number): Promise<string> {
  const config = await mkdtemp(join(tmpdir(), 'review1-aardvark-'));
  t.after(() => rm(config, { recursive: true, force: true }));
  await mkdir(join(config, 'aardvark-dns'));
  await writeFile(join(config, 'aardvark-dns', 'net1'), `10.89.0.1\n${ID} 10.89.0.2  old\n`);
  await writeFile(join(config, 'aardvark-dns', 'aardvark.pid'), `${pid}\n`);
  return config;
}

/** `sleep` running until killed; its exit's signal is the first one it got. */
function sleeper(t: { after(fn: () => void): void }, argv0?: string): { child: ChildProcess; signal: Promise<NodeJS.Signals | null> } {
  const child = spawn(SLEEP, ['600'], { stdio: 'ignore', argv0 });
  t.after(() => { child.kill('SIGKILL'); });
  const signal = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
  return { child, signal };
}

async function spawned(child: ChildProcess): Promise<number> {
  await new Promise<void>((resolve, reject) => { child.once('spawn', () => resolve()); child.once('error', reject); });
  return child.pid!;
}

test('a stale pid whose process only calls itself aardvark-dns gets no SIGHUP', async (t) => {
  const { child, signal } = sleeper(t, 'aardvark-dns');
  const pid = await spawned(child);
  assert.match(await readFile(`/proc/${pid}/cmdline`, 'utf8'), /aardvark-dns/);
  const config = await aardvarkConfig(t, pid);
  // berth's aardvark binary is some other file than the process's (here: node itself).
  await new Netavark(config, 'netavark', process.execPath).setDnsNames('net1', ID, ['new']);
  assert.match(await readFile(join(config, 'aardvark-dns', 'net1'), 'utf8'), new RegExp(`${ID} 10.89.0.2  new`));
  // Had it been sent, the SIGHUP (lower-numbered, and first) would be what ends it.
  child.kill('SIGTERM');
  assert.equal(await signal, 'SIGTERM');
});

test('the process that runs the aardvark binary berth runs gets SIGHUP once it catches it', async (t) => {
  // A shell as "aardvark-dns": it installs its SIGHUP handler (trap) a moment after it starts, as aardvark-dns does.
  const child = spawn('/bin/sh', ['-c', 'sleep 0.3; trap "echo hup; exit 0" HUP; while :; do sleep 0.05; done'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => { child.kill('SIGKILL'); });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => { out += b; });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const pid = await spawned(child);
  const config = await aardvarkConfig(t, pid);
  await new Netavark(config, 'netavark', '/bin/sh').setDnsNames('net1', ID, ['new']);
  const end = await Promise.race([exited, new Promise<null>((r) => setTimeout(() => r(null), 5000))]);
  // A SIGHUP sent before the trap would have killed it by the signal instead.
  assert.deepEqual(end, { code: 0, signal: null });
  assert.equal(out.trim(), 'hup');
});

test('a process that never catches SIGHUP is not sent one (it would end it)', async (t) => {
  const { child, signal } = sleeper(t);
  const pid = await spawned(child);
  assert.equal(await catchesSighup(pid, 200), false);
  const config = await aardvarkConfig(t, pid);
  await new Netavark(config, 'netavark', SLEEP).setDnsNames('net1', ID, ['new']);
  child.kill('SIGTERM');
  assert.equal(await signal, 'SIGTERM');
});

test('runsBinary: a gone pid, a garbage pid and a missing binary are all "no"', async () => {
  assert.equal(await runsBinary(process.pid, process.execPath), true);
  assert.equal(await runsBinary(process.pid, '/nonexistent/aardvark-dns'), false);
  assert.equal(await runsBinary(0, process.execPath), false);
  assert.equal(await runsBinary(-1, process.execPath), false);
  assert.equal(await runsBinary(Number.NaN, process.execPath), false);
  assert.equal(await runsBinary(2 ** 22 + 1, process.execPath), false);
});
