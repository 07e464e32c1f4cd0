import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expandString, expandWords } from '../../../src/build/parser/expand.js';
import { SubstitutionError } from '../../../src/build/parser/errors.js';

const env = new Map([
  ['FOO', 'xxx'],
  ['BAR', ''],
  ['PWD', '/home'],
  ['SPACED', 'a  b'],
  ['KOREAN', '한국어'],
]);

const strings: [string, string][] = [
  ['plain', 'plain'],
  ['$FOO', 'xxx'],
  ['${FOO}', 'xxx'],
  ['${FOO}_bar', 'xxx_bar'],
  ['$FOO_bar', ''],
  ['$FOO-bar', 'xxx-bar'],
  ['$UNSET', ''],
  ['a$', 'a$'],
  ['$ x', '$ x'],
  ['$/x', '$/x'],
  ['$KOREAN!', '한국어!'],
  ['$1x', 'x'],
  // ${VAR:-word} and ${VAR-word}
  ['${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}', 'xxx bbb ccc'],
  ['${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}', 'xxx  ccc'],
  ['${FOO:-}', 'xxx'],
  ['${BAZ:-}', ''],
  // ${VAR:+word} and ${VAR+word}
  ['${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}', 'aaa  '],
  ['${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}', 'aaa bbb '],
  // ${VAR?} set cases
  ['${FOO?aaa}', 'xxx'],
  ['${BAR?bbb}', ''],
  ['${FOO:?aaa}', 'xxx'],
  // nesting
  ['${BAZ:-${FOO}}', 'xxx'],
  ['${BAZ:-${QUX:-deep}}', 'deep'],
  ['${FOO:+${PWD}/bin}', '/home/bin'],
  ['${BAZ:-a b}', 'a b'],
  ['${BAZ:-"}"}', '}'],
  ['${BAZ:-\\}}', '}'],
  // escapes and quotes
  ['\\$FOO', '$FOO'],
  ['\\${FOO}', '${FOO}'],
  ['\\\\$FOO', '\\xxx'],
  ["'$FOO'", '$FOO'],
  ['"$FOO"', 'xxx'],
  ['"\\$FOO"', '$FOO'],
  ['"a\\"b"', 'a"b'],
  ['"a\\b"', 'a\\b'],
  ['"a\\\\b"', 'a\\b'],
  ["'a\\b'", 'a\\b'],
  ['a\\ b', 'a b'],
  ['"x y"', 'x y'],
  ["it'\"s'", 'it"s'],
  ['""', ''],
  ['trailing\\', 'trailing'],
  // glob operators
  ['${FOO#x}', 'xx'],
  ['${FOO#*x}', 'xx'],
  ['${FOO##*x}', ''],
  ['${FOO%x}', 'xx'],
  ['${FOO%%x*}', ''],
  ['${FOO#}', 'xxx'],
  ['${FOO/x/y}', 'yxx'],
  ['${FOO//x/y}', 'yyy'],
  ['${FOO///}', 'xxx'],
  ['${PWD#/}', 'home'],
  ['${PWD/\\//-}', '-home'],
];

for (const [input, want] of strings) {
  test(`expandString ${JSON.stringify(input)}`, () => {
    assert.equal(expandString(input, env), want);
  });
}

test('expandString: glob operators follow shell semantics', () => {
  const v = (value: string, expr: string) => expandString(expr, { V: value, NEEDLE: '\\*/', SLASH: '/?/', R: '/' });
  assert.equal(v('foobarbaz', '${V#f*b}'), 'arbaz');
  assert.equal(v('foobarbaz', '${V##f*b}'), 'az');
  assert.equal(v('foobarbaz', '${V%b*}'), 'foobar');
  assert.equal(v('foobarbaz', '${V%%b*}'), 'foo');
  assert.equal(v('foobarbaz', '${V/ba/fo}'), 'fooforbaz');
  assert.equal(v('foobarbaz', '${V//ba/fo}'), 'fooforfoz');
  assert.equal(v('xxyy', '${V#*x*y}'), 'y');
  assert.equal(v('???y', '${V#?\\?}'), '?y');
  assert.equal(v('xx**', '${V%%\\**}'), 'xx');
  assert.equal(v('a***yy*', '${V%%\\**\\*}'), 'a');
  assert.equal(v('()[]{}^$.*?|\\x', '${V#()[]{\\}^$.\\*\\?|\\\\}'), 'x');
  assert.equal(v('/foo*/*/*.txt', '${V/$NEEDLE/.} - ${V//$NEEDLE/.}'), '/foo.*/*.txt - /foo..*.txt');
  assert.equal(v('/a/foo/b/c.txt', '${V/$SLASH/$R} - ${V//$SLASH/$R}'), '/foo/b/c.txt - /foo/c.txt');
  assert.equal(v('/tmp/foo.txt', '${V//\\//\\/}'), '\\/tmp\\/foo.txt');
  assert.equal(v('xxyy', '${V/$EMPTY/ww}'), 'wwxxyy');
  assert.equal(expandString('${UNSET#x}${UNSET///}', {}), '');
});

const failures: [string, RegExp][] = [
  ['${BAZ?ccc}', /^failed to process "\$\{BAZ\?ccc\}": BAZ: ccc$/],
  ['${BAZ?}', /BAZ: is not allowed to be unset/],
  ['${BAR:?bbb}', /BAR: bbb/],
  ['${BAR:?}', /BAR: is not allowed to be empty/],
  ['${BAZ:?}', /BAZ: is not allowed to be unset/],
  ['${BAZ:?need $FOO}', /BAZ: need xxx/],
  ['${FOO=aaa}', /unsupported modifier \(=\) in substitution/],
  ['${FOO:=aaa}', /unsupported modifier \(=\) in substitution/],
  ['${FOO', /syntax error: missing '}'/],
  ['${FOO:-abc', /syntax error: missing '}'/],
  ['${}', /bad substitution/],
  ['${FOO//ww}', /missing '\/'/],
  ['${FOO//}', /missing '\/'/],
  ["'open", /unexpected end of statement while looking for matching single-quote/],
  ['"open', /unexpected end of statement while looking for matching double-quote/],
  ['"open\\', /matching double-quote/],
];

for (const [input, want] of failures) {
  test(`expandString error ${JSON.stringify(input)}`, () => {
    assert.throws(() => expandString(input, env), (err: unknown) => err instanceof SubstitutionError && want.test(err.message));
  });
}

test('expandString: SubstitutionError is an InvalidParameter error naming the word', () => {
  try {
    expandString('${X:?set X}', {});
    assert.fail('expected an error');
  } catch (err) {
    assert.ok(err instanceof SubstitutionError);
    assert.equal(err.kind, 'InvalidParameter');
    assert.equal(err.word, '${X:?set X}');
    assert.equal(err.reason, 'X: set X');
  }
});

test('expandString: a plain object works as env, own keys only', () => {
  assert.equal(expandString('$A-$toString-$constructor', { A: '1' }), '1--');
});

test('expandString: backtick escape character', () => {
  const o = { escape: '`' as const };
  assert.equal(expandString('`$FOO', env, o), '$FOO');
  assert.equal(expandString('C:\\app\\$FOO', env, o), 'C:\\app\\xxx');
  assert.equal(expandString('"a`"b"', env, o), 'a"b');
  assert.equal(expandString('${V//`*/-}', { V: 'a*b' }, o), 'a-b');
});

test('expandString: heredoc bodies keep quotes and only escape $', () => {
  const o = { heredoc: true };
  assert.equal(expandString('echo "hello ${FOO}" \'$FOO\'\n', env, o), 'echo "hello xxx" \'xxx\'\n');
  assert.equal(expandString('printf "a\\nb" \\$FOO \\\\\n', env, o), 'printf "a\\nb" $FOO \\\n');
  assert.equal(expandString('line \\\nnext\n', env, o), 'line next\n');
});

test('expandString: records matched and unmatched names', () => {
  const matched = new Set<string>();
  const unmatched = new Set<string>();
  expandString('${FOO-a} ${BAR:-b} ${BAZ:-c} $QUX', env, { matched, unmatched });
  assert.deepEqual([...matched].sort(), ['BAR', 'FOO']);
  assert.deepEqual([...unmatched].sort(), ['BAZ', 'QUX']);
});

const words: [string, string[]][] = [
  ['a b  c', ['a', 'b', 'c']],
  ['"a b" c', ['a b', 'c']],
  ['a"b c"d', ['ab cd']],
  ['"" x', ['', 'x']],
  ["'' x", ['', 'x']],
  ['$SPACED', ['a', 'b']],
  ['"$SPACED"', ['a  b']],
  ['x$SPACED', ['xa', 'b']],
  ['$BAR', []],
  ['a$BAR', ['a']],
  ['"$BAR"', ['']],
  ['80/tcp\t443', ['80/tcp', '443']],
  ['a\\ b', ['a b']],
  ['', []],
];

for (const [input, want] of words) {
  test(`expandWords ${JSON.stringify(input)}`, () => {
    assert.deepEqual(expandWords(input, env), want);
  });
}
