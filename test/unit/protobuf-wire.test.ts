/**
 * The wire check before protobufjs decodes a client's message
 * (src/protobuf-wire.ts): a packed repeated number counts each of its bytes
 * toward the field bound, since protobufjs makes an array element of each.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { checkWire, MAX_FIELDS } from '../../src/protobuf-wire.js';

const root = protobuf.Root.fromJSON({ nested: { M: { fields: { n: { rule: 'repeated', type: 'int64', id: 1 }, s: { rule: 'repeated', type: 'string', id: 2 } } } } });
const M = root.lookupType('M');

test('a packed repeated number of more elements than the field bound is refused', () => {
  const bytes = M.encode(M.fromObject({ n: new Array(MAX_FIELDS + 1).fill(1) })).finish();
  assert.throws(() => checkWire(M, bytes), /more than 65536 fields/);
});

test('packed numbers within the bound, and one long string, pass', () => {
  checkWire(M, M.encode(M.fromObject({ n: new Array(1000).fill(300) })).finish());
  checkWire(M, M.encode(M.fromObject({ s: ['x'.repeat(MAX_FIELDS * 2)] })).finish());
});
