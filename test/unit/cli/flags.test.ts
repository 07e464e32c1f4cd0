/** pflag semantics of berth's flag parser: the command lines Docker users type must parse the same way. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FlagError, flagUsages, parseFlags, type FlagSpec } from '../../../src/cli/flags.js';

const specs: FlagSpec[] = [
  { name: 'interactive', short: 'i', kind: 'bool', usage: '' },
  { name: 'tty', short: 't', kind: 'bool', usage: '' },
  { name: 'detach', short: 'd', kind: 'bool', usage: '' },
  { name: 'name', kind: 'string', usage: '' },
  { name: 'publish', short: 'p', kind: 'list', usage: '' },
  { name: 'env', short: 'e', kind: 'list', usage: '' },
  { name: 'memory', short: 'm', kind: 'bytes', usage: '' },
  { name: 'memory-swap', kind: 'swapbytes', usage: '' },
  { name: 'stop-timeout', kind: 'int', usage: '' },
  { name: 'cpus', kind: 'decimal', usage: '' },
  { name: 'health-interval', kind: 'duration', usage: '' },
  { name: 'network', kind: 'list', aliases: ['net'], usage: '' },
  { name: 'restart', kind: 'string', default: 'no', usage: '' },
];

test('combined shorthands set every bool in the group', () => {
  const f = parseFlags(specs, ['-itd', 'busybox']);
  assert.equal(f.bool('interactive'), true);
  assert.equal(f.bool('tty'), true);
  assert.equal(f.bool('detach'), true);
  assert.deepEqual(f.args, ['busybox']);
});

test('a value shorthand takes the rest of its group or the next argument', () => {
  assert.deepEqual(parseFlags(specs, ['-p80:80']).list('publish'), ['80:80']);
  assert.deepEqual(parseFlags(specs, ['-p', '80:80']).list('publish'), ['80:80']);
  assert.deepEqual(parseFlags(specs, ['-e=A=1']).list('env'), ['A=1']);
  assert.deepEqual(parseFlags(specs, ['-itp', '8080:80']).list('publish'), ['8080:80']);
});

test('long flags take --name=x and --name x, even values starting with a dash', () => {
  assert.equal(parseFlags(specs, ['--name=web']).string('name'), 'web');
  assert.equal(parseFlags(specs, ['--name', 'web']).string('name'), 'web');
  assert.equal(parseFlags(specs, ['--memory-swap', '-1']).number('memory-swap'), -1);
  assert.equal(parseFlags(specs, ['--stop-timeout', '-1']).number('stop-timeout'), -1);
});

test('repeated flags accumulate for lists and the last wins otherwise', () => {
  const f = parseFlags(specs, ['-e', 'A=1', '--env', 'B=2', '-eC=3', '--name', 'a', '--name', 'b']);
  assert.deepEqual(f.list('env'), ['A=1', 'B=2', 'C=3']);
  assert.equal(f.string('name'), 'b');
});

test('bool flags accept =false and never eat the next argument', () => {
  const f = parseFlags(specs, ['--detach=false', '-i=false', '--tty', 'busybox']);
  assert.equal(f.bool('detach'), false);
  assert.equal(f.bool('interactive'), false);
  assert.equal(f.bool('tty'), true);
  assert.deepEqual(f.args, ['busybox']);
  assert.throws(() => parseFlags(specs, ['--tty=maybe']), /invalid argument "maybe" for "-t, --tty" flag: strconv.ParseBool/);
});

test('-- ends the flags', () => {
  const f = parseFlags(specs, ['-i', '--', '-t', '--name']);
  assert.equal(f.bool('tty'), false);
  assert.deepEqual(f.args, ['-t', '--name']);
});

test('with interspersed off everything after the image is the command', () => {
  const f = parseFlags(specs, ['-d', 'busybox', 'sh', '-c', 'echo -t', '--name', 'x'], { interspersed: false });
  assert.equal(f.bool('detach'), true);
  assert.equal(f.changed('name'), false);
  assert.deepEqual(f.args, ['busybox', 'sh', '-c', 'echo -t', '--name', 'x']);
});

test('interspersed commands accept flags after positionals', () => {
  const f = parseFlags(specs, ['a', '-d', 'b']);
  assert.deepEqual(f.args, ['a', 'b']);
  assert.equal(f.bool('detach'), true);
});

test('aliases (Docker normalised names) reach the same flag', () => {
  assert.deepEqual(parseFlags(specs, ['--net', 'host']).list('network'), ['host']);
});

test('unknown and incomplete flags fail with pflag wording', () => {
  assert.throws(() => parseFlags(specs, ['--foo']), (e) => e instanceof FlagError && e.message === 'unknown flag: --foo');
  assert.throws(() => parseFlags(specs, ['-x']), { message: "unknown shorthand flag: 'x' in -x" });
  assert.throws(() => parseFlags(specs, ['-ix']), { message: "unknown shorthand flag: 'x' in -x" });
  assert.throws(() => parseFlags(specs, ['--name']), { message: 'flag needs an argument: --name' });
  assert.throws(() => parseFlags(specs, ['-p']), { message: "flag needs an argument: 'p' in -p" });
});

test('typed values are converted and checked while parsing', () => {
  const f = parseFlags(specs, ['-m', '64m', '--cpus', '0.5', '--health-interval', '1m30s', '--stop-timeout', '0x10']);
  assert.equal(f.number('memory'), 64 * 1024 * 1024);
  assert.equal(f.number('cpus'), 500_000_000);
  assert.equal(f.number('health-interval'), 90e9);
  assert.equal(f.number('stop-timeout'), 16);
  assert.throws(() => parseFlags(specs, ['-m', 'foo']), { message: `invalid argument "foo" for "-m, --memory" flag: invalid size: 'foo'` });
  assert.throws(() => parseFlags(specs, ['--stop-timeout', 'x']), /strconv.ParseInt: parsing "x": invalid syntax/);
  assert.throws(() => parseFlags(specs, ['--cpus', 'lots']), /failed to parse lots as a rational number/);
});

test('defaults apply only when the flag is absent', () => {
  const f = parseFlags(specs, []);
  assert.equal(f.string('restart'), 'no');
  assert.equal(f.changed('restart'), false);
  assert.deepEqual(f.list('env'), []);
});

test('help lists flags like pflag: sorted, aligned, wrapped at 79 columns (as `docker logs --help`)', () => {
  const text = flagUsages([
    { name: 'tail', short: 'n', kind: 'string', defaultText: '"all"', usage: 'Number of lines to show from the end of the logs' },
    { name: 'follow', short: 'f', kind: 'bool', usage: 'Follow log output' },
    { name: 'since', kind: 'string', usage: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'secret', kind: 'bool', hidden: true, usage: 'x' },
  ]);
  assert.equal(text, [
    '  -f, --follow         Follow log output',
    '      --since string   Show logs since timestamp (e.g.',
    '                       "2013-01-02T13:23:37Z") or relative (e.g. "42m"',
    '                       for 42 minutes)',
    '  -n, --tail string    Number of lines to show from the end of the logs',
    '                       (default "all")',
    '',
  ].join('\n'));
});
