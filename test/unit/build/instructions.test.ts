import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../../src/build/parser/dockerfile.js';
import { DockerfileSyntaxError } from '../../../src/build/parser/errors.js';
import type { Instruction } from '../../../src/build/parser/ast.js';

/** The instruction on line 2 (after `FROM alpine`), without its location fields. */
function one(src: string): Record<string, unknown> {
  const instr = parseDockerfile(`FROM alpine\n${src}\n`).stages[0].instructions[0];
  const { line: _line, endLine: _end, original: _orig, ...rest } = instr;
  return rest;
}

function instr(src: string): Instruction {
  return parseDockerfile(`FROM alpine\n${src}\n`).stages[0].instructions[0];
}

/** Asserts `src` (on line 2) fails with exactly `Dockerfile:2: <message>`. */
function rejects(src: string, message: string): void {
  assert.throws(
    () => parseDockerfile(`FROM alpine\n${src}\n`),
    (err: unknown) => {
      assert.ok(err instanceof DockerfileSyntaxError, String(err));
      assert.equal(err.message, `Dockerfile:2: ${message}`);
      assert.equal(err.line, 2);
      assert.equal(err.kind, 'InvalidParameter');
      return true;
    },
  );
}

test('instructions are case-insensitive and keep location and original text', () => {
  const i = parseDockerfile('from alpine\nrun echo \\\n  hi\n').stages[0].instructions[0];
  assert.equal(i.kind, 'RUN');
  assert.deepEqual([i.line, i.endLine, i.original], [2, 3, 'run echo   hi']);
});

// --- RUN / CMD / ENTRYPOINT: exec vs shell form -------------------------------------------
const commandForms: [string, unknown][] = [
  ['RUN ["echo", "hi"]', { form: 'exec', args: ['echo', 'hi'] }],
  ['RUN [ "echo" , "a b" ]', { form: 'exec', args: ['echo', 'a b'] }],
  ['RUN []', { form: 'exec', args: [] }],
  ['RUN echo hi', { form: 'shell', command: 'echo hi' }],
  ["RUN ['echo', 'hi']", { form: 'shell', command: "['echo', 'hi']" }],
  ['RUN ["a", \'b\']', { form: 'shell', command: '["a", \'b\']' }],
  ['RUN ["c:\\windows\\tasklist.exe"]', { form: 'shell', command: '["c:\\windows\\tasklist.exe"]' }],
  ['RUN ["c:\\\\windows\\\\tasklist.exe"]', { form: 'exec', args: ['c:\\windows\\tasklist.exe'] }],
  ['RUN ["a"] trailing', { form: 'shell', command: '["a"] trailing' }],
  ['RUN ["a",]', { form: 'shell', command: '["a",]' }],
  ['RUN', { form: 'shell', command: '' }],
  ['CMD ["nginx", "-g", "daemon off;"]', { form: 'exec', args: ['nginx', '-g', 'daemon off;'] }],
  ['CMD exec top -b', { form: 'shell', command: 'exec top -b' }],
  ['CMD', { form: 'shell', command: '' }],
  ['ENTRYPOINT ["top", "-b"]', { form: 'exec', args: ['top', '-b'] }],
  ['ENTRYPOINT top -b', { form: 'shell', command: 'top -b' }],
  ['ENTRYPOINT echo $HOME "$X"', { form: 'shell', command: 'echo $HOME "$X"' }],
];
for (const [src, command] of commandForms) {
  test(`command form: ${src}`, () => {
    assert.deepEqual((instr(src) as { command: unknown }).command, command);
  });
}

test('JSON arrays of non-strings are refused, as Docker does', () => {
  for (const src of ['RUN [1, 2]', 'CMD ["a", null]', 'ENTRYPOINT [["a"]]', 'HEALTHCHECK CMD [true]', 'VOLUME [1]', 'COPY ["a", 2]']) {
    rejects(src, 'when using JSON array syntax, arrays must be comprised of strings only');
  }
});

test('RUN flags: mounts, network, security, device', () => {
  assert.deepEqual(one('RUN --mount=type=cache,target=/root/.cache,sharing=locked --mount=target=. --network=none --security=insecure --device=vendor.com/gpu=all make'), {
    kind: 'RUN',
    command: { form: 'shell', command: 'make' },
    heredocs: [],
    mounts: [
      { type: 'cache', options: [{ key: 'target', value: '/root/.cache' }, { key: 'sharing', value: 'locked' }], raw: 'type=cache,target=/root/.cache,sharing=locked' },
      { type: 'bind', options: [{ key: 'target', value: '.' }], raw: 'target=.' },
    ],
    network: 'none',
    security: 'insecure',
    devices: ['vendor.com/gpu=all'],
  });
  rejects('RUN --network=bridge x', 'unsupported network mode "bridge"');
  rejects('RUN --security=root x', 'unsupported security mode "root"');
  rejects('RUN --mount=type=nfs x', 'unsupported mount type "nfs"');
  rejects('RUN --mount=type=cache,target=/x,color=red x', "unexpected key 'color' in 'color=red'");
  rejects('RUN --network x', 'missing a value on flag: --network');
  rejects('RUN --network=none --network=host x', 'duplicate flag specified: --network');
  rejects('RUN --foo x', 'unknown flag: --foo');
});

test('flags with quotes and the -- terminator', () => {
  assert.deepEqual((instr('COPY --chown="app user" a b') as { chown?: string }).chown, 'app user');
  assert.deepEqual(instr('RUN -- --not-a-flag').kind, 'RUN');
  assert.deepEqual((instr('RUN -- --not-a-flag') as { command: unknown }).command, { form: 'shell', command: '--not-a-flag' });
  assert.deepEqual((instr('RUN -x') as { command: unknown }).command, { form: 'shell', command: '-x' });
  rejects('CMD --help', 'unknown flag: --help');
  rejects('MAINTAINER --boo joe@example.com', 'unknown flag: --boo');
});

// --- SHELL ------------------------------------------------------------------------------
test('SHELL takes JSON only', () => {
  assert.deepEqual(one('SHELL ["powershell", "-command"]'), { kind: 'SHELL', shell: ['powershell', '-command'] });
  rejects('SHELL /bin/bash -c', 'SHELL requires the arguments to be in JSON form');
  rejects('SHELL []', 'SHELL requires at least one argument');
  rejects('SHELL', 'SHELL requires at least one argument');
  assert.throws(
    () => parseDockerfile('FROM a\nSHELL ["c:\\windows\\cmd.exe", "/S"]\n'),
    /SHELL requires the arguments to be in JSON form\. It looks like .* includes a file path without an escaped back-slash/,
  );
});

// --- ENV / LABEL --------------------------------------------------------------------------
const keyValues: [string, [string, string][]][] = [
  ['ENV A=1', [['A', '1']]],
  ['ENV A=1 B=2', [['A', '1'], ['B', '2']]],
  ['ENV MY_NAME="John Doe"', [['MY_NAME', '"John Doe"']]],
  ['ENV MY_DOG=Rex\\ The\\ Dog', [['MY_DOG', 'Rex\\ The\\ Dog']]],
  ["ENV A='x $y' B=\"a\\\"b\"", [['A', "'x $y'"], ['B', '"a\\"b"']]],
  ['ENV EMPTY=', [['EMPTY', '']]],
  ['ENV E="" F=1', [['E', '""'], ['F', '1']]],
  ['ENV A=a=b', [['A', 'a=b']]],
  ['ENV MY_VAR my-value', [['MY_VAR', 'my-value']]],
  ['ENV ONE TWO= THREE=world', [['ONE', 'TWO= THREE=world']]],
  ['ENV A   spaced  value ', [['A', 'spaced  value']]],
  ['ENV A="multi \\\n  line"', [['A', '"multi   line"']]],
  ['LABEL "com.example.vendor"="ACME Incorporated"', [['"com.example.vendor"', '"ACME Incorporated"']]],
  ['LABEL version="1.0" other=value3', [['version', '"1.0"'], ['other', 'value3']]],
  ['LABEL legacy some value', [['legacy', 'some value']]],
];
for (const [src, pairs] of keyValues) {
  test(`key/value: ${src.replace(/\n/g, '\\n')}`, () => {
    const i = instr(src) as { pairs: { key: string; value: string }[] };
    assert.deepEqual(i.pairs.map((p) => [p.key, p.value]), pairs);
  });
}

test('ENV and LABEL errors use Docker wording', () => {
  rejects('ENV', 'ENV requires at least one argument');
  rejects('LABEL', 'LABEL requires at least one argument');
  rejects('ENV A', 'ENV must have two arguments');
  rejects('LABEL A', 'LABEL must have two arguments');
  rejects('ENV A=1 B', 'Syntax error - can\'t find = in "B". Must be of the form: name=value');
  rejects('ENV =x', 'ENV names can not be blank');
  rejects('LABEL =x', 'LABEL names can not be blank');
});

// --- ARG -----------------------------------------------------------------------------------
test('ARG: names, defaults, several per line', () => {
  assert.deepEqual(one('ARG user1'), { kind: 'ARG', args: [{ name: 'user1' }] });
  assert.deepEqual(one('ARG A=1 B C= D="x y"'), {
    kind: 'ARG',
    args: [{ name: 'A', default: '1' }, { name: 'B' }, { name: 'C', default: '' }, { name: 'D', default: '"x y"' }],
  });
  rejects('ARG', 'ARG requires at least one argument');
  rejects('ARG =1', 'ARG names can not be blank');
});

// --- single-argument instructions ------------------------------------------------------------
test('MAINTAINER, WORKDIR, USER, STOPSIGNAL take the whole rest', () => {
  assert.deepEqual(one('MAINTAINER Jane Doe <jane@example.com>'), { kind: 'MAINTAINER', maintainer: 'Jane Doe <jane@example.com>' });
  assert.deepEqual(one('WORKDIR /path/to  dir'), { kind: 'WORKDIR', path: '/path/to  dir' });
  assert.deepEqual(one('WORKDIR $DIRPATH/$DIRNAME'), { kind: 'WORKDIR', path: '$DIRPATH/$DIRNAME' });
  assert.deepEqual(one('USER app:staff'), { kind: 'USER', user: 'app:staff' });
  assert.deepEqual(one('STOPSIGNAL SIGKILL'), { kind: 'STOPSIGNAL', signal: 'SIGKILL' });
  for (const kw of ['MAINTAINER', 'WORKDIR', 'USER', 'STOPSIGNAL']) rejects(kw, `${kw} requires exactly one argument`);
});

test('EXPOSE splits on whitespace', () => {
  assert.deepEqual(one('EXPOSE 80/tcp  443 53/udp'), { kind: 'EXPOSE', ports: ['80/tcp', '443', '53/udp'] });
  rejects('EXPOSE', 'EXPOSE requires at least one argument');
});

test('VOLUME: JSON or words', () => {
  assert.deepEqual(one('VOLUME ["/var/www", "/var/log/apache2"]'), { kind: 'VOLUME', paths: ['/var/www', '/var/log/apache2'] });
  assert.deepEqual(one('VOLUME /var/log /var/db'), { kind: 'VOLUME', paths: ['/var/log', '/var/db'] });
  assert.deepEqual(one("VOLUME ['/data']"), { kind: 'VOLUME', paths: ["['/data']"] });
  rejects('VOLUME', 'VOLUME requires at least one argument');
  rejects('VOLUME []', 'VOLUME requires at least one argument');
  rejects('VOLUME ["/a", " "]', 'VOLUME specified can not be an empty string');
});

// --- COPY / ADD ------------------------------------------------------------------------------
test('COPY: words, JSON, flags', () => {
  assert.deepEqual(one('COPY --from=build --chown=55:mygroup --chmod=755 --link --exclude=*.txt --exclude=*.md hom* /mydir/'), {
    kind: 'COPY',
    sources: ['hom*'],
    files: [],
    dest: '/mydir/',
    from: 'build',
    chown: '55:mygroup',
    chmod: '755',
    link: true,
    parents: false,
    exclude: ['*.txt', '*.md'],
  });
  assert.deepEqual(one('COPY ["my file.txt", "other", "/dest dir/"]'), {
    kind: 'COPY', sources: ['my file.txt', 'other'], files: [], dest: '/dest dir/', link: false, parents: false, exclude: [],
  });
  const words = instr('COPY "a b" /c') as { sources: string[]; dest: string };
  assert.deepEqual([words.sources, words.dest], [['"a', 'b"'], '/c']);
  assert.equal((instr('COPY --link=false --parents a /b') as { link: boolean }).link, false);
  assert.equal((instr('COPY --parents ./x/a.txt /p/') as { parents: boolean }).parents, true);
});

test('ADD: flags', () => {
  assert.deepEqual(one('ADD --checksum=sha256:abc --keep-git-dir=true --unpack=false --chmod=644 https://example.com/a.tgz /d/'), {
    kind: 'ADD',
    sources: ['https://example.com/a.tgz'],
    files: [],
    dest: '/d/',
    chmod: '644',
    link: false,
    keepGitDir: true,
    checksum: 'sha256:abc',
    unpack: false,
    exclude: [],
  });
  rejects('ADD --from=build a b', 'unknown flag: --from');
  rejects('ADD --parents a b', 'unknown flag: --parents');
});

test('COPY / ADD errors', () => {
  const noDest = (kw: string) => `${kw} requires at least two arguments, but only one was provided. Destination could not be determined`;
  rejects('COPY arg1', noDest('COPY'));
  rejects('ADD arg1', noDest('ADD'));
  rejects('COPY', noDest('COPY'));
  rejects('COPY ["only"]', noDest('COPY'));
  rejects('COPY --link=yes a b', 'expecting boolean value for flag --link, not: yes');
  rejects('COPY --link= a b', 'missing a value on flag: --link');
  rejects('COPY --chown a b', 'missing a value on flag: --chown');
  rejects('COPY --chwon=1 a b', 'unknown flag: --chwon');
  rejects('COPY --from=a --from=b x y', 'duplicate flag specified: --from');
});

// --- HEALTHCHECK ---------------------------------------------------------------------------
test('HEALTHCHECK: NONE, shell and exec CMD, durations in nanoseconds', () => {
  assert.deepEqual(one('HEALTHCHECK NONE'), { kind: 'HEALTHCHECK', health: { Test: ['NONE'] } });
  assert.deepEqual(one('healthcheck none'), { kind: 'HEALTHCHECK', health: { Test: ['NONE'] } });
  assert.deepEqual(one('HEALTHCHECK --interval=5m --timeout=3s \\\n  CMD curl -f http://localhost/ || exit 1'), {
    kind: 'HEALTHCHECK',
    health: { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], Interval: 300e9, Timeout: 3e9 },
  });
  assert.deepEqual(one('HEALTHCHECK --interval=30s --timeout=1m30s --start-period=1.5s --start-interval=250ms --retries=5 CMD ["/bin/check", "-q"]'), {
    kind: 'HEALTHCHECK',
    health: { Test: ['CMD', '/bin/check', '-q'], Interval: 30e9, Timeout: 90e9, StartPeriod: 1.5e9, StartInterval: 250e6, Retries: 5 },
  });
  assert.deepEqual(one('HEALTHCHECK --interval=0s --retries=0 cmd true'), { kind: 'HEALTHCHECK', health: { Test: ['CMD-SHELL', 'true'] } });
});

test('HEALTHCHECK errors', () => {
  rejects('HEALTHCHECK', 'HEALTHCHECK requires at least one argument');
  rejects('HEALTHCHECK NONE extra', 'HEALTHCHECK NONE takes no arguments');
  rejects('HEALTHCHECK CMD', 'Missing command after HEALTHCHECK CMD');
  rejects('HEALTHCHECK CMD []', 'Missing command after HEALTHCHECK CMD');
  rejects('HEALTHCHECK curl localhost', 'Unknown type "CURL" in HEALTHCHECK (try CMD)');
  rejects('HEALTHCHECK --interval=50ns CMD true', 'Interval "interval" cannot be less than 1ms');
  rejects('HEALTHCHECK --timeout=-1s CMD true', 'Interval "timeout" cannot be less than 1ms');
  rejects('HEALTHCHECK --interval=30 CMD true', 'time: missing unit in duration "30"');
  rejects('HEALTHCHECK --interval=1d CMD true', 'time: unknown unit "d" in duration "1d"');
  rejects('HEALTHCHECK --interval=abc CMD true', 'time: invalid duration "abc"');
  rejects('HEALTHCHECK --retries=-1 CMD true', '--retries cannot be negative (-1)');
  rejects('HEALTHCHECK --retries=two CMD true', 'strconv.ParseInt: parsing "two": invalid syntax');
  rejects('HEALTHCHECK --retry=3 CMD true', 'unknown flag: --retry');
});

// --- ONBUILD -------------------------------------------------------------------------------
test('ONBUILD keeps the trigger text and parses the trigger', () => {
  assert.deepEqual(one('ONBUILD ADD . /app/src'), {
    kind: 'ONBUILD',
    expression: 'ADD . /app/src',
    trigger: { kind: 'ADD', line: 2, endLine: 2, original: 'ADD . /app/src', sources: ['.'], files: [], dest: '/app/src', link: false, keepGitDir: false, exclude: [] },
  });
  const o = instr('onbuild   RUN --mount=from=config,target=/opt ./build $X') as { expression: string; trigger: Instruction };
  assert.equal(o.expression, 'RUN --mount=from=config,target=/opt ./build $X');
  assert.equal(o.trigger.kind, 'RUN');
  assert.equal((instr('ONBUILD COPY --from=build /usr/bin/app /app') as { trigger: { from?: string } }).trigger.from, 'build');
});

test('ONBUILD refusals', () => {
  rejects('ONBUILD', 'ONBUILD requires at least one argument');
  rejects('ONBUILD ONBUILD RUN touch foobar', 'Chaining ONBUILD via `ONBUILD ONBUILD` isn\'t allowed');
  rejects('ONBUILD FROM scratch', "FROM isn't allowed as an ONBUILD trigger");
  rejects('ONBUILD maintainer me', "MAINTAINER isn't allowed as an ONBUILD trigger");
  rejects('ONBUILD RUNN x', 'unknown instruction: RUNN');
});

// --- unknown instructions ---------------------------------------------------------------------
test('unknown instructions report the word as written, with the line', () => {
  rejects('RUNN echo', 'unknown instruction: RUNN');
  rejects('foo bar', 'unknown instruction: foo');
  assert.throws(
    () => parseDockerfile('FROM a\n\n# c\nRUN ok\n\n\n RUNN x\n', { file: 'app/Dockerfile' }),
    (err: unknown) => err instanceof DockerfileSyntaxError && err.message === 'app/Dockerfile:7: unknown instruction: RUNN' && err.file === 'app/Dockerfile',
  );
});

test('an error in a continued instruction reports its first line and its last', () => {
  assert.throws(
    () => parseDockerfile('FROM a\nCOPY \\\n  only\n'),
    (err: unknown) => err instanceof DockerfileSyntaxError && err.line === 2 && err.endLine === 3,
  );
});
