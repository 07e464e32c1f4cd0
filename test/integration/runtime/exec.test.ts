/**
 * Exec sessions through conmon for real: the attach handshake with stdin,
 * exit codes, a tty with its size, detached sessions, and failures carrying
 * the runtime's message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createContainer, resizeTerminal } from '../../../src/runtime/conmon.js';
import { startExec, type ExecOptions } from '../../../src/runtime/exec.js';
import { prepareCgroupsForCrun } from '../../../src/runtime/cgroup-setup.js';
import { collect, conmonsMentioning, makeBundle, setUp, waitFor, type Bundle, type Env } from './bundle-fixture.js';

const PATH_ENV = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'];

function proc(args: string[], terminal = false): object {
  return { terminal, user: { uid: 0, gid: 0 }, args, env: terminal ? [...PATH_ENV, 'TERM=xterm'] : PATH_ENV, cwd: '/' };
}

for (const runtimeName of ['runc', 'crun'] as const) {
  describe(`exec with ${runtimeName}`, () => {
    let env: Env;
    let ctr: Bundle;
    let sessions = 0;

    before(async () => {
      if (runtimeName === 'crun') await prepareCgroupsForCrun();
      env = setUp(runtimeName);
    });
    after(() => env?.teardown());

    /** A running `sleep` container per test. */
    async function running(t: import('node:test').TestContext): Promise<Bundle> {
      ctr = makeBundle(t, env, { args: ['sleep', '100'] });
      await createContainer({
        id: ctr.id, name: ctr.id, bundleDir: ctr.dir, runtime: env.runtime, exitDir: env.exitDir,
        logPath: ctr.logPath, tty: false, stdin: false,
      });
      await env.runtime.start(ctr.id);
      return ctr;
    }

    function session(c: Bundle, o: Partial<ExecOptions> & { process: object }): ExecOptions {
      const sessionId = `s${++sessions}`;
      const sessionDir = join(c.dir, sessionId);
      mkdirSync(sessionDir);
      return { containerId: c.id, sessionId, sessionDir, runtime: env.runtime, tty: false, stdin: false, ...o };
    }

    test('attached exec: stdin in, stdout/stderr out, exit code from the sync pipe', async (t) => {
      const c = await running(t);
      const t0 = performance.now();
      const s = await startExec(session(c, {
        stdin: true, process: proc(['sh', '-c', 'echo ex-out; read l; echo ex-got:$l; echo ex-err >&2; exit 5']),
      }));
      t.diagnostic(`${runtimeName}: exec started in ${(performance.now() - t0).toFixed(1)} ms`);
      assert.ok(s.pid > 0);
      assert.ok(s.attach);
      const out = collect(s.attach);
      s.attach.writeStdin(Buffer.from('to-exec-stdin\n'));
      s.attach.closeStdin();
      assert.equal(await s.exited, 5);
      await out.closed;
      assert.equal(out.text(1), 'ex-out\nex-got:to-exec-stdin\n');
      assert.equal(out.text(2), 'ex-err\n');
    });

    test('output of a short-lived exec is not lost', async (t) => {
      const c = await running(t);
      for (let i = 0; i < 5; i++) {
        const s = await startExec(session(c, { process: proc(['echo', `quick-${i}`]) }));
        const out = collect(s.attach!);
        assert.equal(await s.exited, 0);
        await out.closed;
        assert.equal(out.text(1), `quick-${i}\n`);
      }
    });

    test('tty exec: console size applied before the process runs, resize later', async (t) => {
      const c = await running(t);
      const o = session(c, { tty: true, stdin: true, consoleSize: [20, 70], process: proc(['sh', '-c', 'stty size; read x; stty size'], true) });
      const s = await startExec(o);
      const out = collect(s.attach!);
      await waitFor('stty size', () => (out.text(1).includes('20 70') ? true : null));
      await resizeTerminal(o.sessionDir, 30, 90);
      s.attach!.writeStdin(Buffer.from('\n'));
      assert.equal(await s.exited, 0);
      await out.closed;
      assert.match(out.text(1), /^20 70\r\n.*30 90\r\n$/s);
    });

    test('detached exec: no attach stream, exit code still arrives', async (t) => {
      const c = await running(t);
      const s = await startExec(session(c, { detach: true, process: proc(['sh', '-c', 'sleep 0.2; exit 7']) }));
      assert.equal(s.attach, null);
      assert.ok(s.pid > 0);
      assert.equal(await s.exited, 7);
    });

    test('a missing executable: the runtime\'s message, no conmon left', async (t) => {
      const c = await running(t);
      const o = session(c, { process: proc(['nosuch']) });
      await assert.rejects(startExec(o), (e: Error) => {
        t.diagnostic(`${runtimeName}: ${e.message}`);
        return /^OCI runtime exec failed: .*nosuch.*not found.*: unknown$/.test(e.message);
      });
      assert.deepEqual(conmonsMentioning(o.sessionDir), []);
      // Same for a tty session, which conmon runs differently.
      const o2 = session(c, { tty: true, process: proc(['nosuch'], true) });
      await assert.rejects(startExec(o2), /OCI runtime exec failed: .*nosuch/);
      assert.deepEqual(conmonsMentioning(o2.sessionDir), []);
    });

    test('exec into a stopped container fails with the runtime\'s message', async (t) => {
      const c = await running(t);
      await env.runtime.kill(c.id, 'KILL');
      await waitFor('stop', async () => ((await env.runtime.state(c.id))?.status === 'stopped' ? true : null));
      const o = session(c, { process: proc(['true']) });
      await assert.rejects(startExec(o), (e: Error) => {
        t.diagnostic(`${runtimeName}: ${e.message}`);
        return /^OCI runtime exec failed: /.test(e.message);
      });
    });

    test('killing conmon ends the session with -1 instead of hanging', async (t) => {
      const c = await running(t);
      const o = session(c, { detach: true, process: proc(['sleep', '30']) });
      const s = await startExec(o);
      const [pid] = conmonsMentioning(o.sessionDir);
      assert.ok(pid);
      process.kill(pid, 'SIGKILL');
      assert.equal(await s.exited, -1);
      assert.ok(!existsSync(join(o.sessionDir, 'exit', c.id)));
    });
  });
}
