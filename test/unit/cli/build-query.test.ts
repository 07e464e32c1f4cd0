import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags } from '../../../src/cli/flags.js';
import { commandFlags } from '../../../src/cli/command.js';
import { buildCommand, buildQuery } from '../../../src/cli/image/build.js';

const flags = (argv: string[]) => parseFlags(commandFlags(buildCommand), argv);

test('SOURCE_DATE_EPOCH from berth\'s environment is sent as a build arg', () => {
  const q = buildQuery(flags(['.']), 'Dockerfile', undefined, { SOURCE_DATE_EPOCH: '1700000000' });
  assert.deepEqual(JSON.parse(String(q.buildargs)), { SOURCE_DATE_EPOCH: '1700000000' });
});

test('an explicit --build-arg SOURCE_DATE_EPOCH wins over the environment', () => {
  const q = buildQuery(flags(['--build-arg', 'SOURCE_DATE_EPOCH=5', '.']), 'Dockerfile', undefined, { SOURCE_DATE_EPOCH: '1700000000' });
  assert.deepEqual(JSON.parse(String(q.buildargs)), { SOURCE_DATE_EPOCH: '5' });
});
