/**
 * readLogs against logs conmon really wrote: follow ends when the container is
 * done, tail and since on real timestamps.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createContainer } from '../../../src/runtime/conmon.js';
import { watchExits } from '../../../src/runtime/exit-watcher.js';
import { readLogs, type LogEntry } from '../../../src/runtime/logs.js';
import { makeBundle, setUp, type Env } from './bundle-fixture.js';

let env: Env;
let watcher: { close(): void };
const exited = new Map<string, number>();

before(() => {
  env = setUp('runc');
  watcher = watchExits(env.exitDir, (id, code) => exited.set(id, code));
});
after(() => {
  watcher?.close();
  env?.teardown();
});

test('follow from the start: every line as it comes, ends once the container is done', async (t) => {
  const b = makeBundle(t, env, { args: ['sh', '-c', 'for i in 1 2 3 4 5; do echo line$i; echo err$i >&2; sleep 0.1; done; printf tail-no-newline'] });
  await createContainer({ id: b.id, name: b.id, bundleDir: b.dir, runtime: env.runtime, exitDir: env.exitDir, logPath: b.logPath, tty: false, stdin: false });
  const got: LogEntry[] = [];
  const arrivals: number[] = [];
  const reading = (async () => {
    for await (const e of readLogs(b.logPath, { follow: true, stdout: true, stderr: false, times: true, isDone: () => exited.has(b.id) })) {
      got.push(e);
      arrivals.push(Date.now());
    }
  })();
  const startedAt = Date.now();
  await env.runtime.start(b.id);
  await reading;
  const endedAt = Date.now();
  assert.equal(exited.get(b.id), 0);
  assert.deepEqual(got.map((e) => e.line.toString()), ['line1\n', 'line2\n', 'line3\n', 'line4\n', 'line5\n', 'tail-no-newline']);
  // Lines arrived while the container ran, not all at the end.
  assert.ok(arrivals[0] - startedAt < 300, `first line after ${arrivals[0] - startedAt} ms`);
  assert.ok(endedAt - arrivals[0] >= 300);
  // Timestamps: increasing, close to the wall clock.
  for (let i = 1; i < got.length; i++) assert.ok(got[i].timeNs > got[i - 1].timeNs);
  assert.ok(Math.abs(Number(got[0].timeNs / 1_000_000n) - arrivals[0]) < 1000);

  const tail: string[] = [];
  for await (const e of readLogs(b.logPath, { follow: false, tail: 3, stdout: true, stderr: true })) tail.push(e.line.toString());
  assert.deepEqual(tail, ['line5\n', 'err5\n', 'tail-no-newline']);

  const since = got[3].timeNs;
  const after: string[] = [];
  for await (const e of readLogs(b.logPath, { follow: false, since, stdout: true, stderr: false })) after.push(e.line.toString());
  assert.deepEqual(after, ['line4\n', 'line5\n', 'tail-no-newline']);
});
