import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BuildArgs } from '../../../src/build/build-args.js';

test('stage args: only declared args (and given predefined ones) are visible; ENV wins', () => {
  const b = new BuildArgs(new Map([['V', '2'], ['HTTP_PROXY', 'http://p'], ['UNUSED', 'x']]), new Map([['META', 'm']]));
  const s = b.stage();
  assert.deepEqual([...s.allowed()], [['HTTP_PROXY', 'http://p']]);
  s.declare('V', '1');
  s.declare('D', 'dflt');
  s.declare('META', undefined);
  s.declare('NOVALUE', undefined);
  assert.deepEqual(Object.fromEntries(s.allowed()), { HTTP_PROXY: 'http://p', V: '2', D: 'dflt', META: 'm' });
  assert.equal(s.substitutionEnv(['V=fromenv']).get('V'), 'fromenv');
  assert.deepEqual(s.runEnv(['D=env']), ['HTTP_PROXY=http://p', 'META=m', 'V=2']);
  assert.deepEqual(s.keyed([]), { D: 'dflt', META: 'm', V: '2' }, 'proxies stay out of the key unless declared');
  assert.deepEqual(b.unconsumed(), ['UNUSED']);
});

test('a declared predefined arg joins the key; argsUsed keeps only build args', () => {
  const b = new BuildArgs(new Map([['HTTP_PROXY', 'http://p'], ['A', '1']]), new Map());
  const s = b.stage();
  s.declare('HTTP_PROXY', undefined);
  s.declare('A', undefined);
  assert.deepEqual(s.keyed([]), { A: '1', HTTP_PROXY: 'http://p' });
  assert.deepEqual(s.argsUsed(['A', 'HOME', 'E'], ['E=1']), { A: '1' });
});
