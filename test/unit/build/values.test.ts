import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration } from '../../../src/build/parser/duration.js';
import { BuilderFlags, extractFlags } from '../../../src/build/parser/flags.js';
import { parseJsonArray } from '../../../src/build/parser/json-form.js';
import { parseRunMount, resolveRunMount } from '../../../src/build/parser/mount.js';
import { splitInstructionLine, splitRawWords, splitWhitespace } from '../../../src/build/parser/words.js';
import { expandString } from '../../../src/build/parser/expand.js';

test('parseGoDuration: Go grammar in nanoseconds', () => {
  const table: [string, number][] = [
    ['0', 0], ['+0', 0], ['30s', 30e9], ['1m30s', 90e9], ['1.5h', 5400e9], ['250ms', 250e6], ['10us', 10e3],
    ['10µs', 10e3], ['10μs', 10e3], ['5ns', 5], ['.5s', 0.5e9], ['1.s', 1e9], ['-1s', -1e9], ['2h45m', 9900e9],
  ];
  for (const [text, ns] of table) assert.equal(parseGoDuration(text), ns, text);
  const errors: [string, string][] = [
    ['', 'time: invalid duration ""'],
    ['s', 'time: invalid duration "s"'],
    ['.s', 'time: invalid duration ".s"'],
    ['-', 'time: invalid duration "-"'],
    ['30', 'time: missing unit in duration "30"'],
    ['1m30', 'time: missing unit in duration "1m30"'],
    ['1d', 'time: unknown unit "d" in duration "1d"'],
    ['99999999999h', 'time: invalid duration "99999999999h"'],
  ];
  for (const [text, message] of errors) assert.throws(() => parseGoDuration(text), { message }, text);
});

test('extractFlags: leading --words only, quotes removed, -- stops', () => {
  assert.deepEqual(extractFlags('--a=1 --b "--c" x --d'), { flags: ['--a=1', '--b'], rest: '"--c" x --d' });
  assert.deepEqual(extractFlags('  --x="a b" --y=\'\' rest'), { flags: ['--x=a b', '--y='], rest: 'rest' });
  assert.deepEqual(extractFlags('--a -- --b'), { flags: ['--a'], rest: ' --b' });
  assert.deepEqual(extractFlags('--a=b\\ c d'), { flags: ['--a=b c'], rest: 'd' });
  assert.deepEqual(extractFlags('-x --y'), { flags: [], rest: '-x --y' });
  assert.deepEqual(extractFlags('--only'), { flags: ['--only'], rest: '' });
  assert.deepEqual(extractFlags(''), { flags: [], rest: '' });
});

test('BuilderFlags: kinds, defaults, errors', () => {
  const f = new BuilderFlags(['--s=v', '--b', '--c=FALSE', '--l=1', '--l=2', '--e='], { s: 'string', b: 'bool', c: 'bool', l: 'strings', e: 'string', u: 'bool' });
  assert.deepEqual([f.string('s'), f.bool('b'), f.bool('c'), f.list('l'), f.string('e'), f.bool('u'), f.list('none')], ['v', true, false, ['1', '2'], '', undefined, []]);
  assert.throws(() => new BuilderFlags(['--b=maybe'], { b: 'bool' }), { message: 'expecting boolean value for flag --b, not: maybe' });
  assert.throws(() => new BuilderFlags(['--b='], { b: 'bool' }), { message: 'missing a value on flag: --b' });
  assert.throws(() => new BuilderFlags(['--s'], { s: 'string' }), { message: 'missing a value on flag: --s' });
  assert.throws(() => new BuilderFlags(['--s=1', '--s=2'], { s: 'string' }), { message: 'duplicate flag specified: --s' });
  assert.throws(() => new BuilderFlags(['--toString'], {}), { message: 'unknown flag: --toString' });
});

test('parseJsonArray: exec form, shell fallback, non-string refusal', () => {
  assert.deepEqual(parseJsonArray(' ["a", "b"]'), ['a', 'b']);
  assert.deepEqual(parseJsonArray('["\\u0041\\n"]'), ['A\n']);
  for (const text of ['echo', "['a']", '["a" "b"]', '{"a": 1}', '"a"', '["a"] x']) assert.equal(parseJsonArray(text), undefined, text);
  for (const text of ['[1]', '["a", false]', '[{}]', '[["a"]]']) assert.throws(() => parseJsonArray(text), /arrays must be comprised of strings only/, text);
});

test('word splitting shapes', () => {
  assert.deepEqual(splitWhitespace(' a \t b  c '), ['a', 'b', 'c']);
  assert.deepEqual(splitWhitespace('   '), []);
  assert.deepEqual(splitRawWords('A="x y" B=z\\ w C=\'1 2\' D=', '\\'), ['A="x y"', 'B=z\\ w', "C='1 2'", 'D=']);
  assert.deepEqual(splitRawWords('"" a\\', '\\'), ['""', 'a']);
  assert.deepEqual(splitRawWords('A="unterminated b', '\\'), ['A="unterminated b']);
  assert.deepEqual(splitRawWords('A=x`"y B', '`'), ['A=x`"y', 'B']);
  assert.deepEqual(splitInstructionLine('  copy\t--from=a  x  y '), { keyword: 'copy', flags: ['--from=a'], rest: 'x  y' });
  assert.deepEqual(splitInstructionLine('RUN'), { keyword: 'RUN', flags: [], rest: '' });
});

test('parseRunMount and resolveRunMount', () => {
  assert.deepEqual(parseRunMount('type=secret,id=aws,target=/root/.aws/credentials,required'), {
    type: 'secret',
    options: [{ key: 'id', value: 'aws' }, { key: 'target', value: '/root/.aws/credentials' }, { key: 'required', value: undefined }],
    raw: 'type=secret,id=aws,target=/root/.aws/credentials,required',
  });
  assert.deepEqual(parseRunMount('"target=/a,b",ro').options, [{ key: 'target', value: '/a,b' }, { key: 'ro', value: undefined }]);
  assert.throws(() => parseRunMount('type=cache,target'), /must be a key=value pair/);
  assert.throws(() => parseRunMount('target=/x,bogus=1'), /unexpected key 'bogus'/);

  const env = { ID: 'gomod', T: '/go/pkg' };
  const expand = (w: string) => expandString(w, env);
  assert.deepEqual(resolveRunMount(parseRunMount('type=cache,id=$ID,target=$T,sharing=locked,mode=0700,uid=1000'), expand), {
    type: 'cache', readonly: false, required: false, id: 'gomod', target: '/go/pkg', sharing: 'locked', mode: 0o700, uid: 1000,
  });
  assert.deepEqual(resolveRunMount(parseRunMount('target=.')), { type: 'bind', readonly: true, required: false, target: '.' });
  assert.deepEqual(resolveRunMount(parseRunMount('target=.,rw')), { type: 'bind', readonly: false, required: false, target: '.' });
  assert.deepEqual(resolveRunMount(parseRunMount('type=cache,target=/c')).sharing, 'shared');
  assert.deepEqual(resolveRunMount(parseRunMount('type=secret,target=/run/s/aws')), { type: 'secret', readonly: true, required: false, target: '/run/s/aws', id: 'aws' });
  assert.deepEqual(resolveRunMount(parseRunMount('type=secret,id=tok')).target, '/run/secrets/tok');
  assert.deepEqual(resolveRunMount(parseRunMount('type=secret,id=API_KEY,env=API_KEY')).target, undefined);
  assert.deepEqual(resolveRunMount(parseRunMount('type=ssh')).id, 'default');
  assert.throws(() => resolveRunMount(parseRunMount('type=cache,target=/c,sharing=all')), /unsupported sharing value "all"/);
  assert.throws(() => resolveRunMount(parseRunMount('type=tmpfs')), /requires a target/);
  assert.throws(() => resolveRunMount(parseRunMount('target=/x,ro=maybe')), /invalid value for ro/);
  assert.throws(() => resolveRunMount(parseRunMount('type=cache,target=/c,mode=888')), /invalid mount mode/);
});
