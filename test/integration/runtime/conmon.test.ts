/**
 * conmon + runc/crun for real: create/start, exit codes through the exit
 * watcher, the k8s-file log read back, stdin over the attach socket, a pty
 * with resize, kill, pause/resume, update, delete, and a failing create.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createContainer, isConmonAlive, resizeTerminal } from '../../../src/runtime/conmon.js';
import { attachContainer } from '../../../src/runtime/attach.js';
import { readExitCode, watchExits } from '../../../src/runtime/exit-watcher.js';
import { readLogs, type LogEntry } from '../../../src/runtime/logs.js';
import { prepareCgroupsForCrun } from '../../../src/runtime/cgroup-setup.js';
import { CommandError } from '../../../src/errors.js';
import { collect, conmonsMentioning, makeBundle, setUp, sleep, waitFor, type Bundle, type Env } from './bundle-fixture.js';

async function allLogs(path: string): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogs(path, { follow: false, stdout: true, stderr: true, times: true })) out.push(e);
  return out;
}

for (const runtimeName of ['runc', 'crun'] as const) {
  describe(`conmon with ${runtimeName}`, () => {
    let env: Env;
    let watcher: { close(): void };
    const exits = new Map<string, number>();
    const exitOf = (id: string): Promise<number> => waitFor(`exit of ${id}`, () => exits.get(id) ?? null);

    before(async () => {
      if (runtimeName === 'crun') await prepareCgroupsForCrun();
      env = setUp(runtimeName);
      watcher = watchExits(env.exitDir, (id, code) => exits.set(id, code));
    });
    after(() => {
      watcher?.close();
      env?.teardown();
    });

    const create = (b: Bundle, o: { tty?: boolean; stdin?: boolean; consoleSize?: [number, number]; logSizeMax?: number } = {}) =>
      createContainer({
        id: b.id, name: `name-${b.id}`, bundleDir: b.dir, runtime: env.runtime, exitDir: env.exitDir, logPath: b.logPath,
        tty: !!o.tty, stdin: !!o.stdin, consoleSize: o.consoleSize, logSizeMax: o.logSizeMax,
      });

    test('create + start: pid, exit code via the watcher, log with partial line, no conmon left', async (t) => {
      const b = makeBundle(t, env, { args: ['sh', '-c', 'echo out; echo err >&2; printf part; sleep 0.3; printf "ial\\n"; exit 42'] });
      const t0 = performance.now();
      const created = await create(b);
      const t1 = performance.now();
      const st = await env.runtime.state(b.id);
      assert.deepEqual(st, { status: 'created', pid: created.pid });
      assert.ok(await isConmonAlive(created.conmonPid));
      assert.ok(existsSync(join(b.dir, 'attach')) && existsSync(join(b.dir, 'ctl')));
      await env.runtime.start(b.id);
      const t2 = performance.now();
      t.diagnostic(`${runtimeName}: create ${(t1 - t0).toFixed(1)} ms, start ${(t2 - t1).toFixed(1)} ms`);
      assert.equal(await exitOf(b.id), 42);
      assert.equal(readExitCode(env.exitDir, b.id), 42);
      assert.equal(readFileSync(join(b.dir, 'exit'), 'utf8'), '42');
      assert.equal((await env.runtime.state(b.id))?.status, 'stopped');
      await waitFor('conmon to exit', async () => ((await isConmonAlive(created.conmonPid)) ? null : true));

      const entries = await allLogs(b.logPath);
      const out = entries.filter((e) => e.stream === 'stdout');
      assert.equal(Buffer.concat(out.map((e) => e.line)).toString(), 'out\npartial\n');
      assert.deepEqual(out.map((e) => e.line.toString()), ['out\n', 'part', 'ial\n']);
      assert.deepEqual(entries.filter((e) => e.stream === 'stderr').map((e) => e.line.toString()), ['err\n']);
      for (const e of entries) {
        assert.match(e.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
        assert.ok(Math.abs(Number(e.timeNs / 1_000_000n) - Date.now()) < 60_000);
      }
      const tail = [];
      for await (const e of readLogs(b.logPath, { follow: false, tail: 1, stdout: true, stderr: true })) tail.push(e.line.toString());
      assert.deepEqual(tail, ['part', 'ial\n']);

      await env.runtime.delete(b.id);
      assert.equal(await env.runtime.state(b.id), null);
      assert.ok(!existsSync(`/sys/fs/cgroup/memory${b.cgroupsPath}`));
    });

    test('-i: stdin through the attach socket, stdout/stderr apart, half-close is EOF', async (t) => {
      const b = makeBundle(t, env, { args: ['sh', '-c', 'read x; echo got:$x; echo to-err >&2; wc -c; exit 3'] });
      await create(b, { stdin: true });
      const a = await attachContainer(b.dir);
      const c = collect(a);
      await env.runtime.start(b.id);
      a.writeStdin(Buffer.from('hello\n'));
      a.writeStdin(Buffer.alloc(100_000, 0x61)); // more than one 32 KiB packet
      a.closeStdin();
      await c.closed;
      assert.equal(c.text(1), 'got:hello\n100000\n');
      assert.equal(c.text(2), 'to-err\n');
      assert.equal(await exitOf(b.id), 3);
    });

    test('a bundle path too long for sun_path still attaches', async (t) => {
      const b = makeBundle(t, env, { padding: 120, args: ['sh', '-c', 'read x; echo long:$x'] });
      assert.ok(Buffer.byteLength(join(b.dir, 'attach')) > 107);
      await create(b, { stdin: true });
      const a = await attachContainer(b.dir);
      const c = collect(a);
      await env.runtime.start(b.id);
      a.writeStdin(Buffer.from('path\n'));
      await c.closed;
      assert.equal(c.text(1), 'long:path\n');
      assert.equal(await exitOf(b.id), 0);
    });

    test('-t: console size at create, resize through ctl, output on stdout with \\r\\n', async (t) => {
      const b = makeBundle(t, env, { terminal: true, args: ['sh', '-c', 'stty size; read x; stty size; echo got:$x; exit 4'] });
      await create(b, { tty: true, consoleSize: [33, 101] });
      const a = await attachContainer(b.dir);
      const c = collect(a);
      await env.runtime.start(b.id);
      await waitFor('first stty size', () => (c.text(1).includes('33 101') ? true : null));
      await resizeTerminal(b.dir, 40, 120);
      a.writeStdin(Buffer.from('typed\n'));
      await c.closed;
      assert.match(c.text(1), /^33 101\r\n/);
      assert.match(c.text(1), /40 120\r\ngot:typed\r\n/);
      assert.equal(c.text(2), '');
      assert.equal(await exitOf(b.id), 4);
      const logged = Buffer.concat((await allLogs(b.logPath)).map((e) => e.line)).toString();
      assert.match(logged, /33 101\r\n/);
      // Nothing listens any more: resizing is a no-op, not an error.
      await resizeTerminal(b.dir, 1, 1);
      await resizeTerminal(join(b.dir, 'nope'), 1, 1);
    });

    test('kill → 137; pids, pause/resume, update while running', async (t) => {
      const b = makeBundle(t, env, { args: ['sleep', '100'] });
      const created = await create(b);
      await env.runtime.start(b.id);
      assert.deepEqual(await env.runtime.pids(b.id), [created.pid]);
      await env.runtime.pause(b.id);
      assert.equal((await env.runtime.state(b.id))?.status, 'paused');
      await env.runtime.resume(b.id);
      assert.equal((await env.runtime.state(b.id))?.status, 'running');
      const res = join(b.dir, 'resources.json');
      writeFileSync(res, JSON.stringify({ pids: { limit: 50 } }));
      await env.runtime.update(b.id, res);
      assert.equal(readFileSync(`/sys/fs/cgroup/pids${b.cgroupsPath}/pids.max`, 'utf8').trim(), '50');
      await env.runtime.kill(b.id, 'KILL', true);
      assert.equal(await exitOf(b.id), 137);
      assert.deepEqual(await env.runtime.pids(b.id), []);
      await env.runtime.delete(b.id, true);
      await env.runtime.delete(b.id, true); // gone already: fine
      assert.deepEqual(await env.runtime.pids(b.id), []);
      await assert.rejects(env.runtime.kill(b.id, 15), CommandError);
    });

    test('signals by number; delete -f of a running container', async (t) => {
      const b = makeBundle(t, env, { args: ['sh', '-c', 'trap "exit 7" TERM; while :; do sleep 0.05; done'] });
      await create(b);
      await env.runtime.start(b.id);
      await sleep(100);
      await env.runtime.kill(b.id, 15);
      assert.equal(await exitOf(b.id), 7);
      const b2 = makeBundle(t, env, { args: ['sleep', '100'] });
      await create(b2);
      await env.runtime.start(b2.id);
      await env.runtime.delete(b2.id, true);
      assert.equal(await env.runtime.state(b2.id), null);
      assert.equal(await exitOf(b2.id), 137);
    });

    test('a missing executable fails create with the runtime\'s error; nothing is left behind', async (t) => {
      const b = makeBundle(t, env, { args: ['/nosuch'] });
      await assert.rejects(create(b), (e: Error) => {
        t.diagnostic(`${runtimeName}: ${e.message}`);
        return /^OCI runtime create failed: .*\/nosuch.*(no such file or directory|not found).*: unknown$/i.test(e.message);
      });
      await sleep(50);
      assert.equal(await env.runtime.state(b.id), null);
      assert.deepEqual(conmonsMentioning(b.id), []);
      assert.equal(readExitCode(env.exitDir, b.id), null);
    });

    test('an invalid bundle fails create with the runtime\'s message', async (t) => {
      const b = makeBundle(t, env, { args: ['true'] });
      writeFileSync(join(b.dir, 'config.json'), '{"ociVersion": "1.0.2", "process": 5}');
      await assert.rejects(create(b), (e: Error) => {
        t.diagnostic(`${runtimeName}: ${e.message}`);
        return /^OCI runtime create failed: .+: unknown$/s.test(e.message);
      });
      await sleep(50);
      assert.deepEqual(conmonsMentioning(b.id), []);
      assert.equal(await env.runtime.state(b.id), null);
    });

    test('--log-size-max: a follower survives conmon replacing the log', async (t) => {
      const b = makeBundle(t, env, { args: ['sh', '-c', 'i=0; while [ $i -lt 300 ]; do echo line-$i-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; i=$((i+1)); done; sleep 0.3; echo last'] });
      await create(b, { logSizeMax: 4096 });
      const lines: string[] = [];
      let done = false;
      const reading = (async () => {
        for await (const e of readLogs(b.logPath, { follow: true, stdout: true, stderr: true, isDone: () => done })) lines.push(e.line.toString());
      })();
      await env.runtime.start(b.id);
      assert.equal(await exitOf(b.id), 0);
      done = true;
      await reading;
      assert.equal(lines.at(-1), 'last\n');
      assert.ok(lines.length > 1);
      assert.ok(readFileSync(b.logPath).length < 4096);
    });
  });
}
