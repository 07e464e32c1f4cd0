import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byteOrder } from '../../../src/image/byte-order.js';

test('byteOrder sorts names by their UTF-8 bytes, also where UTF-16 order differs', () => {
  const names = ['b', 'a', 'B', '\uFFFD', '😀', 'é', 'a.js', 'a-b', 'ab', '\uE000', '𝒜'];
  const bytes = [...names].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
  assert.deepEqual([...names].sort(byteOrder), bytes);
  // UTF-16 code units put U+1F600 (a surrogate pair, 0xD83D…) before U+FFFD; its UTF-8 bytes (F0…) come after EF….
  assert.ok(byteOrder('😀', '\uFFFD') > 0);
  assert.ok(byteOrder('\uE000', '😀') < 0);
  assert.equal(byteOrder('same', 'same'), 0);
});
