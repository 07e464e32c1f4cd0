import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findStage, metaArgEnv, parseDockerfile, resolveStageBase } from '../../../src/build/parser/dockerfile.js';
import { DockerfileSyntaxError } from '../../../src/build/parser/errors.js';
import { EXPANDED_INSTRUCTIONS, expandInstruction } from '../../../src/build/parser/expand-instruction.js';
import type { CopyInstruction, EnvInstruction, Instruction } from '../../../src/build/parser/ast.js';

const multiStage = `# syntax=docker/dockerfile:1
ARG GO_VERSION=1.22
ARG BASE=alpine:\${ALPINE:-3.19}
FROM --platform=$BUILDPLATFORM golang:\${GO_VERSION} AS Build
WORKDIR /src
RUN go build -o /out/app .

FROM \${BASE} AS runtime
COPY --from=build /out/app /usr/bin/app
CMD ["app"]

FROM build
FROM scratch
`;

test('parseDockerfile: directives, meta ARGs and stages', () => {
  const df = parseDockerfile(multiStage);
  assert.equal(df.directives.syntax, 'docker/dockerfile:1');
  assert.equal(df.escape, '\\');
  assert.deepEqual(df.metaArgs.map((a) => a.args), [[{ name: 'GO_VERSION', default: '1.22' }], [{ name: 'BASE', default: 'alpine:${ALPINE:-3.19}' }]]);
  assert.deepEqual(
    df.stages.map((s) => [s.index, s.name, s.from, s.line, s.instructions.map((i) => i.kind)]),
    [
      [0, 'build', { image: 'golang:${GO_VERSION}', platform: '$BUILDPLATFORM' }, 4, ['WORKDIR', 'RUN']],
      [1, 'runtime', { image: '${BASE}' }, 8, ['COPY', 'CMD']],
      [2, undefined, { image: 'build' }, 12, []],
      [3, undefined, { image: 'scratch' }, 13, []],
    ],
  );
  assert.equal(df.stages[0].fromInstruction.original, 'FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS Build');
  assert.deepEqual(df.warnings, []);
});

test('findStage: by name (case-insensitive) or index', () => {
  const df = parseDockerfile(multiStage);
  assert.equal(findStage(df, 'BUILD')?.index, 0);
  assert.equal(findStage(df, 'runtime')?.index, 1);
  assert.equal(findStage(df, '3')?.index, 3);
  assert.equal(findStage(df, '9'), undefined);
  assert.equal(findStage(df, 'nginx:latest'), undefined);
});

test('metaArgEnv and resolveStageBase expand FROM with meta ARGs', () => {
  const df = parseDockerfile(multiStage);
  const builtins = { BUILDPLATFORM: 'linux/amd64', TARGETPLATFORM: 'linux/arm64' };
  const env = metaArgEnv(df, { builtins, buildArgs: { GO_VERSION: '1.23', UNDECLARED: 'x' } });
  assert.equal(env.get('GO_VERSION'), '1.23');
  assert.equal(env.get('BASE'), 'alpine:3.19');
  assert.equal(env.has('UNDECLARED'), false);
  assert.deepEqual(resolveStageBase(df, df.stages[0], env), { image: 'golang:1.23', platform: 'linux/amd64' });
  assert.deepEqual(resolveStageBase(df, df.stages[1], env), { image: 'alpine:3.19' });
  const fromBuild = resolveStageBase(df, df.stages[2], env);
  assert.equal(fromBuild.image, 'build');
  assert.equal(fromBuild.stage?.index, 0);
  assert.deepEqual(resolveStageBase(df, df.stages[3], env), { image: 'scratch' });
});

test('metaArgEnv: defaults see earlier ARGs; declared-only ARGs stay unset', () => {
  const df = parseDockerfile('ARG A=1 B=${A}2\nARG C\nARG A=3\nFROM x\n');
  assert.deepEqual(Object.fromEntries(metaArgEnv(df)), { A: '3', B: '12' });
  assert.deepEqual(Object.fromEntries(metaArgEnv(df, { buildArgs: new Map([['C', 'c']]) })), { A: '3', B: '12', C: 'c' });
});

test('a stage named like its base image is not its own base', () => {
  const df = parseDockerfile('FROM alpine AS alpine\nFROM alpine\n');
  assert.equal(resolveStageBase(df, df.stages[0], new Map()).stage, undefined);
  assert.equal(resolveStageBase(df, df.stages[1], new Map()).stage?.index, 0);
});

test('structure errors', () => {
  const cases: [string, string][] = [
    ['', 'Dockerfile:1: file with no instructions'],
    ['# only a comment\n\n', 'Dockerfile:2: file with no instructions'],
    ['ARG A\nARG B\n', 'Dockerfile:2: dockerfile contains no stages to build'],
    ['ARG A\nENV B=1\nFROM x\n', 'Dockerfile:2: no build stage in current context'],
    ['RUN echo\n', 'Dockerfile:1: no build stage in current context'],
    ['FROM', 'Dockerfile:1: FROM requires either one or three arguments'],
    ['FROM a b', 'Dockerfile:1: FROM requires either one or three arguments'],
    ['FROM a AS b c', 'Dockerfile:1: FROM requires either one or three arguments'],
    ['FROM a FOR b', 'Dockerfile:1: FROM requires either one or three arguments'],
    ['FROM a AS 1st', 'Dockerfile:1: invalid name for build stage: "1st", name can\'t start with a number or contain symbols'],
    ['FROM a AS my$stage', 'Dockerfile:1: invalid name for build stage: "my$stage", name can\'t start with a number or contain symbols'],
    ['FROM --platform a', 'Dockerfile:1: missing a value on flag: --platform'],
    ['FROM --pull a', 'Dockerfile:1: unknown flag: --pull'],
  ];
  for (const [src, message] of cases) {
    assert.throws(() => parseDockerfile(src), (err: unknown) => err instanceof DockerfileSyntaxError && err.message === message, src);
  }
});

test('stage names: lower-cased, dots, dashes and underscores allowed', () => {
  const df = parseDockerfile('FROM a as My-Stage_1.x\n');
  assert.equal(df.stages[0].name, 'my-stage_1.x');
});

test('duplicate stage names and empty continuation lines are warnings', () => {
  const df = parseDockerfile('FROM a AS x\nRUN a \\\n\n  b\nFROM b AS X\n');
  assert.deepEqual(df.warnings.map((w) => w.line), [2, 5]);
  assert.match(df.warnings[1].message, /Duplicate stage name "x"/);
  assert.equal(findStage(df, 'x')?.index, 1);
});

test('a custom escape applies to the whole file and is reported for substitution', () => {
  const df = parseDockerfile('# escape=`\nFROM mcr.microsoft.com/windows/servercore\nWORKDIR C:\\app\nRUN dir `\n  C:\\\nENV P=C:\\tools `\n    Q=1\n');
  assert.equal(df.escape, '`');
  const [workdir, run, env] = df.stages[0].instructions;
  assert.deepEqual([workdir.kind, (workdir as { path: string }).path], ['WORKDIR', 'C:\\app']);
  assert.deepEqual((run as { command: unknown }).command, { form: 'shell', command: 'dir   C:\\' });
  const expanded = expandInstruction(env as EnvInstruction, {}, { escape: df.escape });
  assert.deepEqual(expanded.pairs, [{ key: 'P', value: 'C:\\tools' }, { key: 'Q', value: '1' }]);
});

test('expandInstruction: ENV sees the variables from before the instruction', () => {
  const df = parseDockerfile('FROM a\nENV abc=bye def=$abc\n');
  const env = df.stages[0].instructions[0] as EnvInstruction;
  assert.deepEqual(expandInstruction(env, { abc: 'hello' }).pairs, [{ key: 'abc', value: 'bye' }, { key: 'def', value: 'hello' }]);
});

test('expandInstruction: the documented example', () => {
  const df = parseDockerfile('FROM busybox\nENV FOO=/bar\nWORKDIR ${FOO}\nADD . $FOO\nCOPY \\$FOO /quux\n');
  const [envI, workdir, add, copy] = df.stages[0].instructions;
  const vars = new Map<string, string>();
  for (const p of expandInstruction(envI as EnvInstruction, vars).pairs) vars.set(p.key, p.value);
  assert.equal((expandInstruction(workdir, vars) as { path: string }).path, '/bar');
  assert.equal((expandInstruction(add, vars) as { dest: string }).dest, '/bar');
  assert.deepEqual((expandInstruction(copy, vars) as CopyInstruction).sources, ['$FOO']);
});

test('expandInstruction: what each instruction expands', () => {
  const df = parseDockerfile(
    [
      'FROM a',
      'COPY --from=$S --chown=$U:$G --chmod=$M --exclude=$X $SRC "${DEST}/"',
      'COPY <<EOF <<"RAW" /etc/',
      'user=$U "q"',
      'EOF',
      'user=$U',
      'RAW',
      'ADD --checksum=$SUM $URL /d',
      'LABEL "$K"="v $V" plain=\'$V\'',
      'ARG N=$V',
      'EXPOSE $PORTS 9000/$PROTO',
      'USER $U',
      'STOPSIGNAL $SIG',
      'VOLUME ["$DIR", "/x y"]',
      'RUN echo $U',
      'CMD ["$U"]',
      'HEALTHCHECK CMD echo $U',
      'ONBUILD WORKDIR $DIR',
      'MAINTAINER $U',
      'SHELL ["$U"]',
      'ENTRYPOINT $U',
    ].join('\n'),
  );
  const vars = { S: 'build', U: 'app', G: 'staff', M: '0755', X: '*.md', SRC: 'src', DEST: '/dst', SUM: 'sha256:1', URL: 'http://x/y', K: 'k', V: 'val', PORTS: '80 443', PROTO: 'udp', SIG: 'SIGINT', DIR: '/data' };
  const out = df.stages[0].instructions.map((i) => expandInstruction(i, vars));
  const pick = (i: Instruction): unknown => {
    const { line: _l, endLine: _e, original: _o, kind: _k, ...rest } = i;
    return rest;
  };
  assert.deepEqual(pick(out[0]), { sources: ['src'], files: [], dest: '/dst/', from: 'build', chown: 'app:staff', chmod: '0755', link: false, parents: false, exclude: ['*.md'] });
  assert.deepEqual((out[1] as CopyInstruction).files, [
    { name: 'EOF', data: 'user=app "q"\n', expand: true },
    { name: 'RAW', data: 'user=$U\n', expand: false },
  ]);
  assert.deepEqual(pick(out[2]), { sources: ['http://x/y'], files: [], dest: '/d', link: false, keepGitDir: false, checksum: 'sha256:1', exclude: [] });
  assert.deepEqual(pick(out[3]), { pairs: [{ key: 'k', value: 'v val' }, { key: 'plain', value: '$V' }] });
  assert.deepEqual(pick(out[4]), { args: [{ name: 'N', default: 'val' }] });
  assert.deepEqual(pick(out[5]), { ports: ['80', '443', '9000/udp'] });
  assert.deepEqual(pick(out[6]), { user: 'app' });
  assert.deepEqual(pick(out[7]), { signal: 'SIGINT' });
  assert.deepEqual(pick(out[8]), { paths: ['/data', '/x y'] });
  for (let i = 9; i < out.length; i++) assert.equal(out[i], df.stages[0].instructions[i], `${out[i].kind} is not expanded`);
  assert.deepEqual([...EXPANDED_INSTRUCTIONS].sort(), ['ADD', 'ARG', 'COPY', 'ENV', 'EXPOSE', 'FROM', 'LABEL', 'STOPSIGNAL', 'USER', 'VOLUME', 'WORKDIR']);
});

test('expandInstruction: FROM with meta args and errors from ${VAR:?}', () => {
  const df = parseDockerfile('ARG TAG\nFROM img:${TAG:?required}\n');
  const from = df.stages[0].fromInstruction;
  assert.equal(expandInstruction(from, { TAG: '1' }).image, 'img:1');
  assert.throws(() => expandInstruction(from, {}), /failed to process "img:\$\{TAG:\?required\}": TAG: required/);
  // FROM splits on blanks before substitution, so a message with spaces is three words (as in Docker).
  assert.throws(() => parseDockerfile('FROM img:${TAG:?must be set}\n'), /FROM requires either one or three arguments/);
  // Likewise VOLUME's word form does not honour quotes: Docker's substitution then finds them unbalanced.
  const vol = parseDockerfile('FROM a\nVOLUME "/x y"\n').stages[0].instructions[0];
  assert.throws(() => expandInstruction(vol, {}), /matching double-quote/);
});

test('ENV and LABEL quoting after substitution', () => {
  const df = parseDockerfile(
    'FROM a\nENV MY_NAME="John Doe" MY_DOG=Rex\\ The\\ Dog \\\n    MY_CAT=fluffy\nENV A=\'$HOME\' B="$HOME" C=$HOME D=\\$HOME E="a \\"q\\"" F=\'it\'\\\'\'s\'\nLABEL description="This text illustrates \\\nthat label-values can span multiple lines."\nENV LEGACY   "quoted value" and more\n',
  );
  const vars = { HOME: '/root' };
  const pairs = df.stages[0].instructions.map((i) => (expandInstruction(i, vars) as EnvInstruction).pairs.map((p) => [p.key, p.value]));
  assert.deepEqual(pairs, [
    [['MY_NAME', 'John Doe'], ['MY_DOG', 'Rex The Dog'], ['MY_CAT', 'fluffy']],
    [['A', '$HOME'], ['B', '/root'], ['C', '/root'], ['D', '$HOME'], ['E', 'a "q"'], ['F', "it's"]],
    [['description', 'This text illustrates that label-values can span multiple lines.']],
    [['LEGACY', 'quoted value and more']],
  ]);
});
