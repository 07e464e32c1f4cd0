/**
 * `berth fault run SCHEDULE`: a nemesis timeline played against running
 * containers (and a compose service, by its label), with an event log whose
 * timestamps read like `berth logs -t`; every fault — network faults, a
 * pause, a kill — is undone at the end, and at once on Ctrl-C.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

/** Delay line helpers of the container with init `pid` (see fault-delay.test.ts). */
function helpersOf(pid: number): number[] {
  const out: number[] = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const argv = readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (argv[0] === 'perl' && argv.includes(`/proc/${pid}/ns/net`)) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
}

const STAMP = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z) /;

describe('fault run: a nemesis schedule', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  const dir = mkdtempSync(join(tmpdir(), 'berth-fault-schedule-'));

  const berth = async (args: string[]) => {
    const r = await d.berth(args);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const state = async (name: string) => (await d.request('GET', `/containers/${name}/json`)).json<{ State: { Running: boolean; Paused: boolean; Pid: number } }>().State;
  const faults = async () => (await d.request('GET', '/faults')).json<{ Kind: string }[]>().map((f) => f.Kind).sort();
  /** Starts `berth fault run` on a schedule; its output so far, and its end. */
  const play = (schedule: object, extra: string[] = []) => {
    const file = join(dir, `s${Date.now()}.json`);
    writeFileSync(file, JSON.stringify(schedule));
    const c = d.berthCommand(['fault', 'run', ...extra, file]);
    const child = spawn(c.argv[0], c.argv.slice(1), { env: { ...process.env, ...c.env } as NodeJS.ProcessEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = { out: '', err: '', child, exit: new Promise<number | null>((r) => child.once('close', (code) => r(code))) };
    child.stdout.on('data', (b: Buffer) => { run.out += b.toString('utf8'); });
    child.stderr.on('data', (b: Buffer) => { run.err += b.toString('utf8'); });
    return run;
  };
  const events = (out: string) => out.trim().split('\n').map((l) => {
    const m = STAMP.exec(l);
    assert.ok(m, `a timestamp like berth logs -t: ${l}`);
    return { t: Date.parse(m[1]), text: l.slice(m[0].length).replace(/ fault=[0-9a-f]{12}$/, '') };
  });

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    await berth(['network', 'create', 'nemesisnet']);
    for (const name of ['sa', 'sb', 'sc']) await berth(['run', '-d', '--name', name, '--network', 'nemesisnet', 'busybox', 'sleep', '600']);
    await berth(['run', '-d', '--name', 'proj_web_1', '--label', 'com.docker.compose.service=web', '--network', 'nemesisnet', 'busybox', 'sleep', '600']);
  }, { timeout: 120_000 });

  after(async () => {
    await d?.request('DELETE', '/faults');
    await d?.berth(['rm', '-f', 'sa', 'sb', 'sc', 'proj_web_1']);
    await d?.berth(['network', 'rm', 'nemesisnet']);
    await d?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('Ctrl-C undoes every fault at once: partition, delay (its helper ends), pause', async () => {
    const saPid = (await state('sa')).Pid;
    const run = play({
      seed: 1, end: '120s',
      steps: [
        { at: '0s', fault: 'partition', target: 'sa', peers: ['sb'] },
        { at: '0s', fault: 'delay', target: 'sa', delay: '50ms' },
        { at: '0s', fault: 'pause', target: 'sc' },
      ],
    });
    try {
      await waitFor(() => (run.out.match(/ apply /g) ?? []).length === 3, 20_000, `three faults applied: ${run.out}${run.err}`);
      assert.deepEqual(await faults(), ['delay', 'partition']);
      assert.equal((await state('sc')).Paused, true);
      assert.equal(helpersOf(saPid).length, 1);
      run.child.kill('SIGINT');
      assert.equal(await run.exit, 130, run.err);
    } finally {
      run.child.kill('SIGKILL');
    }
    assert.deepEqual(await faults(), [], 'no fault left');
    assert.equal((await state('sc')).Paused, false, 'sc unpaused');
    assert.deepEqual(helpersOf(saPid), [], 'the delay line ended');
    const log = events(run.out);
    assert.deepEqual(log.map((e) => e.text), [
      'start seed=1 end=120s',
      'apply partition sa from sb', 'apply delay sa 50ms out', 'apply pause sc',
      'undo pause sc', 'undo delay sa 50ms out', 'undo partition sa from sb',
      'interrupted',
    ]);
    for (let i = 1; i < log.length; i++) assert.ok(log[i].t >= log[i - 1].t, 'in time order');
    assert.ok(log[log.length - 1].t - log[0].t < 60_000, 'ended long before the schedule would have');
  });

  test('a schedule runs to its end: faults come and go on time, a killed container is started again, a compose service is a target', async () => {
    const run = play({
      steps: [
        { at: '0s', fault: 'loss', target: 'web', probability: '30%', for: '1s' },
        { at: '0.2s', fault: 'kill', target: 'sc', for: '1s' },
        { at: '0.5s', fault: 'partition', target: { oneOf: ['sa', 'sb'] }, peers: ['web'], for: '0.5s' },
      ],
    }, ['--seed', '42']);
    assert.equal(await run.exit, 0, run.err);
    const log = events(run.out);
    const texts = log.map((e) => e.text);
    const chosen = /apply partition (s[ab]) from proj_web_1/.exec(texts.join('\n'))?.[1];
    assert.ok(chosen, texts.join('\n'));
    assert.deepEqual(texts, [
      'start seed=42 end=1.2s',
      'apply loss proj_web_1 30% out', 'apply kill sc signal KILL', `apply partition ${chosen} from proj_web_1`,
      'undo loss proj_web_1 30% out', `undo partition ${chosen} from proj_web_1`, 'undo kill sc signal KILL',
      'end',
    ]);
    const at = (text: string) => log.find((e) => e.text === text)!.t - log[0].t;
    assert.ok(at('undo loss proj_web_1 30% out') >= 1000, 'undone after its duration');
    assert.deepEqual(await faults(), []);
    assert.equal((await state('sc')).Running, true, 'sc was started again');

    // The same seed makes the same choice.
    const again = play({ steps: [{ at: '0s', fault: 'partition', target: { oneOf: ['sa', 'sb'] }, peers: ['web'], for: '0s' }] }, ['--seed', '42', '--dry-run']);
    assert.equal(await again.exit, 0, again.err);
    assert.match(again.out, new RegExp(`apply partition ${chosen} from web`));
  });
});
