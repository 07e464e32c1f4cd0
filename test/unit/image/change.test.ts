import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, splitWords } from '../../../src/image/change.js';

test('CMD and ENTRYPOINT take JSON form, or shell form under /bin/sh -c', () => {
  const c = applyChanges({}, ['CMD ["echo","hi"]', 'ENTRYPOINT /bin/run --fast']);
  assert.deepEqual(c.Cmd, ['echo', 'hi']);
  assert.deepEqual(c.Entrypoint, ['/bin/sh', '-c', '/bin/run --fast']);
});

test('ENV accepts both forms and overrides earlier values', () => {
  const c = applyChanges({ Env: ['A=1'] }, ['ENV A=2 B="two words"', 'ENV C some value']);
  assert.deepEqual(c.Env, ['A=2', 'B=two words', 'C=some value']);
});

test('WORKDIR, USER, EXPOSE, VOLUME, LABEL, STOPSIGNAL are applied', () => {
  const c = applyChanges({}, ['WORKDIR /app', 'USER app', 'EXPOSE 80 53/udp', 'VOLUME ["/data"]', 'LABEL a=b', 'STOPSIGNAL SIGINT']);
  assert.equal(c.WorkingDir, '/app');
  assert.equal(c.User, 'app');
  assert.deepEqual(Object.keys(c.ExposedPorts!), ['80/tcp', '53/udp']);
  assert.deepEqual(Object.keys(c.Volumes!), ['/data']);
  assert.equal(c.Labels!.a, 'b');
  assert.equal(c.StopSignal, 'SIGINT');
});

test('instructions that are not changes are refused', () => {
  assert.throws(() => applyChanges({}, ['RUN echo x']), /RUN is not a valid change command/);
  assert.throws(() => applyChanges({}, ['run echo x']), { message: 'run is not a valid change command' });
});

test('splitWords handles quotes and escapes', () => {
  assert.deepEqual(splitWords(`a "b c" 'd e' f\\ g`), ['a', 'b c', 'd e', 'f g']);
});
