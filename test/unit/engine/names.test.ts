import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateName, normalizeName } from '../../../src/engine/names.js';
import { signalNumber } from '../../../src/engine/signals.js';

test('container names follow Docker\'s grammar', () => {
  assert.equal(normalizeName('/web-1'), 'web-1');
  assert.throws(() => normalizeName('-bad'), /Invalid container name/);
  assert.throws(() => normalizeName('a'), /Invalid container name/);
});

test('generated names avoid names already taken', () => {
  const taken = new Set<string>();
  for (let i = 0; i < 200; i++) taken.add(generateName((n) => taken.has(n)));
  assert.equal(taken.size, 200);
});

test('signals are accepted by name, short name and number', () => {
  assert.equal(signalNumber('SIGTERM'), 15);
  assert.equal(signalNumber('kill'), 9);
  assert.equal(signalNumber('10'), 10);
  assert.throws(() => signalNumber('SIGNOPE'), /Invalid signal/);
});
