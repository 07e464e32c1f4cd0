/**
 * What the CRI streaming server writes on an exec's error stream, per
 * protocol version (src/cri/streaming/command-status.ts), in the shape
 * client-go's decoders read.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeOutcome, parseTerminalSize } from '../../../src/cri/streaming/command-status.js';

test('v4: metav1.Status JSON; an exit code travels as the ExitCode cause', () => {
  assert.deepEqual(JSON.parse(encodeOutcome({ kind: 'success' }, 'v4.channel.k8s.io').toString()), { metadata: {}, status: 'Success' });
  const exit = JSON.parse(encodeOutcome({ kind: 'exit', code: 3, cmd: ['sh', '-c', 'exit 3'] }, 'v4.channel.k8s.io').toString());
  assert.equal(exit.status, 'Failure');
  assert.equal(exit.reason, 'NonZeroExitCode');
  assert.deepEqual(exit.details.causes, [{ reason: 'ExitCode', message: '3' }]);
  const err = JSON.parse(encodeOutcome({ kind: 'error', message: 'no such file' }, 'v4.channel.k8s.io').toString());
  assert.equal(err.reason, 'InternalError');
  assert.equal(err.code, 500);
  assert.match(err.message, /^Internal error occurred: no such file/);
});

test('v2 and v3: nothing on success, the text of a failure', () => {
  assert.equal(encodeOutcome({ kind: 'success' }, 'v3.channel.k8s.io').length, 0);
  assert.match(encodeOutcome({ kind: 'exit', code: 2, cmd: ['false'] }, 'v2.channel.k8s.io').toString(), /non-zero exit code.*exit code 2/);
});

test('resize messages: Width and Height as 16-bit integers, anything else ignored', () => {
  assert.deepEqual(parseTerminalSize('{"Width":80,"Height":24}'), { width: 80, height: 24 });
  for (const bad of ['{"Width":-1,"Height":2}', '{"Width":"80","Height":24}', 'null', '[1,2]', '{', '{"Width":70000,"Height":1}']) {
    assert.equal(parseTerminalSize(bad), null, bad);
  }
});
