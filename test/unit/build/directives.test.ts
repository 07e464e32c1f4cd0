import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lexDockerfile } from '../../../src/build/parser/lexer.js';
import { parseCheckDirective } from '../../../src/build/parser/directives.js';
import { DockerfileSyntaxError } from '../../../src/build/parser/errors.js';

function directives(src: string) {
  return lexDockerfile(src).directives;
}

test('directives: syntax, escape and check at the top', () => {
  const d = directives('# syntax=docker/dockerfile:1\n# escape=`\n# check=skip=JSONArgsRecommended;error=true\n\nFROM a\n');
  assert.equal(d.syntax, 'docker/dockerfile:1');
  assert.equal(d.escape, '`');
  assert.deepEqual(d.check, { skip: ['JSONArgsRecommended'], skipAll: false, experimental: [], error: true });
  assert.deepEqual(d.found.map((f) => [f.name, f.line]), [['syntax', 1], ['escape', 2], ['check', 3]]);
});

test('directives: keys are case-insensitive and whitespace is allowed', () => {
  for (const line of ['#escape=`', '# escape =`', '#\tescape= `', '# escape = `', '#\t  eScApE=`', '  # escape=`']) {
    assert.equal(directives(`${line}\nFROM a\n`).escape, '`', line);
  }
});

test('directives: values are case-sensitive and trimmed', () => {
  assert.equal(directives('# syntax = Docker/Dockerfile:1   \nFROM a\n').syntax, 'Docker/Dockerfile:1');
});

const ignored: [string, string][] = [
  ['after an instruction', 'FROM a\n# escape=`\n'],
  ['after a blank line', '\n# escape=`\nFROM a\n'],
  ['after an ordinary comment', '# About my dockerfile\n# escape=`\nFROM a\n'],
  ['after an unknown directive', '# unknowndirective=value\n# escape=`\nFROM a\n'],
];
for (const [name, src] of ignored) {
  test(`directives: ignored ${name}`, () => {
    assert.equal(directives(src).escape, '\\');
  });
}

test('directives: a directive may only be used once', () => {
  assert.throws(
    () => lexDockerfile('# escape=\\\n# ESCAPE=`\nFROM a\n'),
    (err: unknown) => err instanceof DockerfileSyntaxError && err.message === 'Dockerfile:2: only one escape parser directive can be used',
  );
  assert.throws(() => lexDockerfile('# syntax=a\n# syntax=b\n'), /only one syntax parser directive can be used/);
});

test('directives: a repeated directive after the top is just a comment', () => {
  assert.equal(directives('# escape=`\nFROM a\n# escape=\\\n').escape, '`');
});

test('directives: escape accepts only backslash or backtick', () => {
  assert.throws(() => lexDockerfile('# escape=x\nFROM a\n'), /Dockerfile:1: invalid escape token 'x' does not match ` or \\/);
});

test('directives: check values', () => {
  assert.deepEqual(parseCheckDirective('skip=all'), { skip: [], skipAll: true, experimental: [], error: false });
  assert.deepEqual(parseCheckDirective('skip=A,B;error=TRUE'), { skip: ['A', 'B'], skipAll: false, experimental: [], error: true });
  // Like BuildKit, only the first word counts.
  assert.deepEqual(parseCheckDirective(' error=true ignored=words'), { skip: [], skipAll: false, experimental: [], error: true });
  assert.deepEqual(parseCheckDirective('experimental=all;skip=X'), { skip: ['X'], skipAll: false, experimental: ['all'], error: false });
  assert.deepEqual(parseCheckDirective('error=0'), { skip: [], skipAll: false, experimental: [], error: false });
  assert.throws(() => parseCheckDirective('error=maybe'), /failed to parse check option/);
  assert.throws(() => parseCheckDirective('nope=1'), /invalid check option "nope"/);
  assert.throws(() => parseCheckDirective('skip'), /invalid check option "skip"/);
});
