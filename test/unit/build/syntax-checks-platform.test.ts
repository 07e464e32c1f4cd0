import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDockerfile } from '../../../src/build/parser/index.js';
import { checkSyntax, isBuiltinSyntax } from '../../../src/build/syntax.js';
import { applyChecks, runChecks } from '../../../src/build/checks.js';
import { checkPlatform, hostPlatform, normalizePlatform } from '../../../src/build/platform.js';
import { copyFlagsText, excludeMatcher } from '../../../src/build/copy-flags.js';

test('syntax: every form of docker/dockerfile:1 is the built-in frontend', () => {
  for (const ok of [
    'docker/dockerfile:1', 'docker/dockerfile:1.7', 'docker/dockerfile:1.7.1', 'docker/dockerfile:1-labs', 'docker/dockerfile:1.7-labs',
    'docker/dockerfile', 'docker/dockerfile:latest', 'docker/dockerfile:labs', 'docker.io/docker/dockerfile:1',
    `docker/dockerfile@sha256:${'a'.repeat(64)}`, `docker/dockerfile:1.7@sha256:${'b'.repeat(64)}`,
  ]) assert.ok(isBuiltinSyntax(ok), ok);
  for (const bad of ['docker/dockerfile:0.5', 'docker/dockerfile:2', 'docker/dockerfile-upstream:master', 'tonistiigi/dockerfile:1', 'ghcr.io/docker/dockerfile:1', 'not a ref'])
    assert.ok(!isBuiltinSyntax(bad), bad);
});

test('syntax: another frontend image is refused by name, with its line; BUILDKIT_SYNTAX wins', () => {
  const ok = parseDockerfile('# syntax=docker/dockerfile:1.7 --some-flag\nFROM scratch\n');
  checkSyntax(ok);
  const other = parseDockerfile('# escape=\\\n# syntax = example.com/my/frontend:3\nFROM scratch\n');
  assert.throws(() => checkSyntax(other), (e: Error & { kind?: string }) => {
    assert.equal(e.kind, 'NotImplemented');
    assert.match(e.message, /^Dockerfile:2: # syntax=example\.com\/my\/frontend:3: frontend image "example\.com\/my\/frontend:3" is not supported/);
    return true;
  });
  checkSyntax(other, 'docker/dockerfile:1');
  assert.throws(() => checkSyntax(ok, 'my/frontend'), /BUILDKIT_SYNTAX=my\/frontend: frontend image "my\/frontend" is not supported/);
});

test('checks: berth\'s rules, skipped by name or all, error=true fails the build', () => {
  const text = 'FROM busybox as Build\nMAINTAINER me\nFROM busybox AS build\nRUN echo a \\\n\n  b\n';
  const found = runChecks(parseDockerfile(text));
  assert.deepEqual(found.map((w) => w.rule), ['StageNameCasing', 'FromAsCasing', 'MaintainerDeprecated', 'DuplicateStageName', 'NoEmptyContinuation']);
  const warnings = applyChecks(parseDockerfile(text));
  assert.ok(warnings.includes(`FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 1)`), warnings.join('\n'));
  assert.deepEqual(applyChecks(parseDockerfile(`# check=skip=all\n${text}`)), []);
  assert.equal(applyChecks(parseDockerfile(`# check=skip=FromAsCasing,StageNameCasing\n${text}`)).length, 3);
  assert.throws(() => applyChecks(parseDockerfile(`# check=error=true\n${text}`)), /lint violation found for rules: StageNameCasing, FromAsCasing, MaintainerDeprecated, DuplicateStageName, NoEmptyContinuation/);
  assert.deepEqual(applyChecks(parseDockerfile('# check=error=true\nFROM busybox AS b\n')), []);
  // The build arg replaces the directive.
  assert.deepEqual(applyChecks(parseDockerfile(`# check=error=true\n${text}`), 'skip=all'), []);
  assert.throws(() => applyChecks(parseDockerfile('FROM busybox\n'), 'error=perhaps'), /failed to parse check options/);
  assert.throws(() => parseDockerfile('# check=nope=1\nFROM busybox\n'), /Dockerfile:1: failed to parse check options: invalid check option "nope"/);
});

test('platform: the host\'s platform in its spellings passes; others are refused by name', () => {
  const host = hostPlatform();
  assert.equal(normalizePlatform('linux'), host);
  assert.equal(normalizePlatform('Linux/x86_64'), 'linux/amd64');
  assert.equal(normalizePlatform('linux/amd64/v1'), 'linux/amd64');
  assert.equal(normalizePlatform('aarch64'), 'linux/arm64');
  checkPlatform(host, '--platform');
  checkPlatform(`${host},linux`, '--platform');
  assert.throws(() => checkPlatform('linux/s390x', '--platform'), (e: Error & { kind?: string }) => {
    assert.equal(e.kind, 'NotImplemented');
    assert.match(e.message, /^--platform=linux\/s390x: building for linux\/s390x is not supported/);
    return true;
  });
  assert.throws(() => checkPlatform(`${host},windows/amd64`, 'FROM --platform'), /FROM --platform=windows\/amd64/);
  assert.throws(() => normalizePlatform('linux/amd64/v2/x'), /invalid platform/);
});

test('copy flags: the key text and --exclude patterns', () => {
  const df = parseDockerfile('FROM scratch\nCOPY --link --parents --exclude=*.md --exclude=!keep.md --chmod=644 a b /d/\n');
  const copy = df.stages[0].instructions[0];
  assert.equal(copy.kind, 'COPY');
  if (copy.kind !== 'COPY') return;
  assert.equal(copyFlagsText(copy), ' --chmod=644 --link --parents --exclude=*.md --exclude=!keep.md');
  const m = excludeMatcher(copy.exclude);
  assert.ok(m.matches('a.md'));
  assert.ok(!m.matches('keep.md'));
  assert.ok(!m.matches('sub/a.md'), '* does not cross directories');
  assert.ok(excludeMatcher(['/sub']).matches('sub/x'), 'a matched directory excludes what it holds');
  assert.throws(() => parseDockerfile('FROM scratch\nADD --parents a /d/\n'), /Dockerfile:2: unknown flag: --parents/);
  assert.throws(() => parseDockerfile('FROM scratch\nCOPY --link=yes a /d/\n'), /expecting boolean value for flag --link, not: yes/);
  assert.throws(() => parseDockerfile('FROM scratch\nCOPY --exclude a /d/\n'), /missing a value on flag: --exclude/);
});
