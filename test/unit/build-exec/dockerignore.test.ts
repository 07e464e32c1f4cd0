import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IgnoreMatcher, compileIgnorePattern, goClean, readDockerignore } from '../../../src/build/dockerignore.js';
import { applyDockerignore } from '../../../src/build/context.js';

test('readDockerignore: comments, blanks, trimming, cleaning, leading slash, exceptions', () => {
  const text = '\uFEFF# comment\n\n  *.md  \n!README.md\n/build/\n./tmp/../cache\n! keep.txt\n#!not-an-exception\n';
  assert.deepEqual(readDockerignore(text), ['*.md', '!README.md', 'build', 'cache', '!keep.txt']);
});

test('goClean follows filepath.Clean', () => {
  assert.equal(goClean('a/b/../c/'), 'a/c');
  assert.equal(goClean('./x'), 'x');
  assert.equal(goClean(''), '.');
  assert.equal(goClean('/'), '/');
});

test('patterns: * and ? stop at /, ** spans directories, classes and escapes', () => {
  const m = (p: string, s: string) => compileIgnorePattern(p).test(s);
  assert.ok(m('*.md', 'a.md'));
  assert.ok(!m('*.md', 'docs/a.md'), '* does not cross /');
  assert.ok(m('**/*.md', 'docs/a.md'));
  assert.ok(m('**/*.md', 'a.md'), '**/ matches zero directories');
  assert.ok(m('docs/**', 'docs/x/y'));
  assert.ok(m('a/**/b', 'a/b'));
  assert.ok(m('a/**/b', 'a/x/y/b'));
  assert.ok(m('file?.txt', 'file1.txt'));
  assert.ok(!m('file?.txt', 'file/.txt'));
  assert.ok(m('[a-c]x', 'bx'));
  assert.ok(!m('[^a-c]x', 'bx'));
  assert.ok(m('\\*star', '*star'));
  assert.ok(!m('\\*star', 'xstar'));
  assert.ok(m('a.b', 'a.b'));
  assert.ok(!m('a.b', 'axb'), 'dots are literal');
});

test('IgnoreMatcher: the last matching pattern wins, parents match too', () => {
  const m = new IgnoreMatcher(readDockerignore('*.md\n!README.md\nbuild\nlogs/*\n!logs/keep.log\n'));
  assert.ok(m.matches('a.md'));
  assert.ok(!m.matches('README.md'));
  assert.ok(!m.matches('docs/a.md'), '*.md is anchored at the context root');
  assert.ok(m.matches('build'));
  assert.ok(m.matches('build/out/app'), 'a parent directory that matches excludes its contents');
  assert.ok(m.matches('logs/a.log'));
  assert.ok(!m.matches('logs/keep.log'));
  assert.ok(m.hasExclusions);
  assert.ok(m.mayReincludeBelow('logs'));
  assert.ok(!m.mayReincludeBelow('build'));
});

test('applyDockerignore deletes ignored paths and keeps exceptions inside ignored directories', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'berth-ignore-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const d of ['src', 'node_modules/x', 'logs']) await mkdir(join(dir, d), { recursive: true });
  for (const f of ['Dockerfile', 'src/main.c', 'src/notes.md', 'README.md', 'a.md', 'node_modules/x/i.js', 'logs/a.log', 'logs/keep.log']) {
    await writeFile(join(dir, f), f);
  }
  await applyDockerignore(dir, readDockerignore('node_modules\n*.md\n!README.md\nlogs\n!logs/keep.log\n'));
  assert.deepEqual((await readdir(dir)).sort(), ['Dockerfile', 'README.md', 'logs', 'src']);
  assert.deepEqual((await readdir(join(dir, 'src'))).sort(), ['main.c', 'notes.md'], '*.md does not reach into src/');
  assert.deepEqual(await readdir(join(dir, 'logs')), ['keep.log']);
});
