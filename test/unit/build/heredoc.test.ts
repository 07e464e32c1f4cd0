import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chompHeredoc, heredocBody, heredocMarkers, heredocRunCommand, parseHeredocWord } from '../../../src/build/parser/heredoc.js';
import { parseDockerfile } from '../../../src/build/parser/dockerfile.js';
import type { CopyInstruction, OnbuildInstruction, RunInstruction } from '../../../src/build/parser/ast.js';

test('heredoc words: valid delimiters', () => {
  const table: [string, { name: string; expand: boolean; chomp: boolean; fd: number }][] = [
    ['<<EOF', { name: 'EOF', expand: true, chomp: false, fd: 0 }],
    ["<<'EOF'", { name: 'EOF', expand: false, chomp: false, fd: 0 }],
    ['<<"EOF"', { name: 'EOF', expand: false, chomp: false, fd: 0 }],
    ['<<-EOF', { name: 'EOF', expand: true, chomp: true, fd: 0 }],
    ["<<-'EOF'", { name: 'EOF', expand: false, chomp: true, fd: 0 }],
    ['<<-"EOF"', { name: 'EOF', expand: false, chomp: true, fd: 0 }],
    ['<<EO"F"', { name: 'EOF', expand: false, chomp: false, fd: 0 }],
    ['<< EOF', { name: 'EOF', expand: true, chomp: false, fd: 0 }],
    ['<<- EOF', { name: 'EOF', expand: true, chomp: true, fd: 0 }],
    ['3<<EOF', { name: 'EOF', expand: true, chomp: false, fd: 3 }],
    ["<<eo'f'", { name: 'eof', expand: false, chomp: false, fd: 0 }],
    ["<<eo\\'f", { name: "eo'f", expand: true, chomp: false, fd: 0 }],
    ["<<'e'o\\'f", { name: "eo'f", expand: false, chomp: false, fd: 0 }],
    ["<<'one two'", { name: 'one two', expand: false, chomp: false, fd: 0 }],
    ['<<$EOF', { name: '$EOF', expand: true, chomp: false, fd: 0 }],
    ['<<file.txt', { name: 'file.txt', expand: true, chomp: false, fd: 0 }],
  ];
  for (const [word, want] of table) assert.deepEqual(parseHeredocWord(word), want, word);
});

test('heredoc words: not heredocs', () => {
  for (const word of ['', 'EOF', '<<', '<<-', '<EOF', '<<<EOF', '<<EOF sh', '"<<EOF"']) {
    assert.equal(parseHeredocWord(word), undefined, word);
  }
});

test('heredoc words: unbalanced quotes are errors', () => {
  for (const word of ["<<'EOF", '<<"EOF', "<<EOF'", '<<EOF"']) {
    assert.throws(() => parseHeredocWord(word), /unexpected end of statement/, word);
  }
});

test('heredoc markers: found only in RUN/COPY/ADD shell form, in order', () => {
  const names = (line: string) => heredocMarkers(line).map((m) => m.name);
  assert.deepEqual(names('RUN <<EOF'), ['EOF']);
  assert.deepEqual(names('RUN <<- EOF'), ['EOF']);
  assert.deepEqual(names('RUN << -EOF'), ['-EOF']);
  assert.deepEqual(names('RUN 4<<EOF'), ['EOF']);
  assert.deepEqual(names('RUN <<EOF <<EOF2'), ['EOF', 'EOF2']);
  assert.deepEqual(names('RUN <<  EOF  > foo'), ['EOF']);
  assert.deepEqual(names('RUN --mount=type=cache,target=/foo <<MOUNT'), ['MOUNT']);
  assert.deepEqual(names('copy <<A <<B /dest/'), ['A', 'B']);
  assert.deepEqual(names('ADD <<A /x'), ['A']);
  assert.deepEqual(names('ONBUILD RUN <<A'), ['A']);
  assert.deepEqual(names("RUN '<<EOF'"), []);
  assert.deepEqual(names('RUN "<<EOF"'), []);
  assert.deepEqual(names('RUN ["<<EOF"]'), []);
  assert.deepEqual(names("RUN [\"<<'EOF'\"]"), []);
  assert.deepEqual(names('USER <<INVALID'), []);
  assert.deepEqual(names('RUN cat <<<here'), []);
});

function stage(src: string) {
  return parseDockerfile(`FROM alpine\n${src}`).stages[0].instructions;
}

test('heredoc: RUN script with tabs kept unless <<-', () => {
  const [plain, chomped, chompedTerminator] = stage(
    'RUN <<INDENT\n\tfoo\n\tbar\nINDENT\nRUN <<-UNINDENT\n\tbaz\n\tquux\nUNINDENT\nRUN <<-UNINDENT2\n\tbaz\n\tUNINDENT2\n',
  ) as RunInstruction[];
  assert.equal(plain.heredocs[0].content, '\tfoo\n\tbar\n');
  assert.equal(heredocBody(plain.heredocs[0]), '\tfoo\n\tbar\n');
  assert.equal(chomped.heredocs[0].content, '\tbaz\n\tquux\n');
  assert.equal(heredocBody(chomped.heredocs[0]), 'baz\nquux\n');
  assert.equal(chompedTerminator.heredocs[0].content, '\tbaz\n');
  assert.deepEqual([chompedTerminator.line, chompedTerminator.endLine], [10, 12]);
});

test('heredoc: quoted delimiter disables expansion; empty bodies', () => {
  const [a, b, c] = stage("RUN <<-EXPAND\n\texpand $NAME\nEXPAND\nRUN <<-'NOEXPAND'\n\tdon't expand $NAME\nNOEXPAND\nRUN <<EMPTY\nEMPTY\n") as RunInstruction[];
  assert.deepEqual([a.heredocs[0].expand, a.heredocs[0].content], [true, '\texpand $NAME\n']);
  assert.deepEqual([b.heredocs[0].name, b.heredocs[0].expand], ['NOEXPAND', false]);
  assert.equal(c.heredocs[0].content, '');
});

test('heredoc: RUN with a command and several heredocs', () => {
  const [run] = stage('RUN <<FILE1 cat > file1 && <<FILE2 cat > file2\nI am\nfirst\nFILE1\nI am\nsecond\nFILE2\n') as RunInstruction[];
  assert.deepEqual(run.command, { form: 'shell', command: '<<FILE1 cat > file1 && <<FILE2 cat > file2' });
  assert.deepEqual(run.heredocs.map((h) => [h.name, h.content]), [['FILE1', 'I am\nfirst\n'], ['FILE2', 'I am\nsecond\n']]);
});

test('heredoc: bodies are read in delimiter order, each to its own terminator', () => {
  const [copy] = stage('COPY <<X <<Y /dest\nY\nX\nX\nY\n') as CopyInstruction[];
  assert.deepEqual(copy.files, [
    { name: 'X', data: 'Y\n', expand: true },
    { name: 'Y', data: 'X\n', expand: true },
  ]);
  assert.deepEqual(copy.sources, []);
  assert.equal(copy.dest, '/dest');
});

test('heredoc: COPY inline files are tab-stripped for <<- and keep quotes', () => {
  const [a, b] = stage('COPY <<-"EOT" /script.sh\n\techo "hello ${FOO}"\nEOT\nCOPY <<EOF /quotes\n"foo"\n\'bar\'\nEOF\n') as CopyInstruction[];
  assert.deepEqual(a.files, [{ name: 'EOT', data: 'echo "hello ${FOO}"\n', expand: false }]);
  assert.deepEqual(b.files, [{ name: 'EOF', data: '"foo"\n\'bar\'\n', expand: true }]);
});

test('heredoc: mixed file and heredoc sources', () => {
  const [copy] = stage('COPY a.txt <<EOF b.txt /dest/\nhi\nEOF\n') as CopyInstruction[];
  assert.deepEqual(copy.sources, ['a.txt', 'b.txt']);
  assert.deepEqual(copy.files, [{ name: 'EOF', data: 'hi\n', expand: true }]);
});

test('heredoc: comment-looking lines inside a body are content', () => {
  const [run] = stage('RUN <<COMMENT\n# internal comment\necho foo # trailing\nCOMMENT\n') as RunInstruction[];
  assert.equal(run.heredocs[0].content, '# internal comment\necho foo # trailing\n');
});

test('heredoc: ONBUILD RUN heredoc goes into the trigger and the stored expression', () => {
  const [onbuild] = stage('ONBUILD RUN <<EOF\necho hi\nEOF\n') as OnbuildInstruction[];
  assert.equal(onbuild.expression, 'RUN <<EOF\necho hi\nEOF');
  assert.equal((onbuild.trigger as RunInstruction).heredocs[0].content, 'echo hi\n');
});

test('heredoc: errors', () => {
  assert.throws(() => stage('COPY <<EOF <<EOF2\nbody\nEOF\n'), /Dockerfile:2: unterminated heredoc/);
  assert.throws(() => stage('COPY /src <<EOF\nx\nEOF\n'), /Dockerfile:2: COPY cannot accept a heredoc as a destination/);
  assert.throws(() => stage("COPY <<'EOF /dest\n"), /Dockerfile:2: unexpected end of statement while looking for matching single-quote/);
});

test('heredoc: chompHeredoc strips leading tabs on every line only', () => {
  assert.equal(chompHeredoc('\thello\n\t\tworld\n  spaces\n'), 'hello\nworld\n  spaces\n');
});

test('heredocRunCommand: how a RUN with heredocs executes', () => {
  const runs = stage(
    'RUN <<EOF\n\techo hi\nEOF\nRUN <<-EOF\n\techo hi\nEOF\nRUN <<EOF\n#!/usr/bin/env python\nprint("hello")\nEOF\nRUN <<EOF bash\n\tset -ex\nEOF\nRUN <<A cat > a && <<-B cat > b\none\nA\n\ttwo\n\tB\n',
  ) as RunInstruction[];
  const plan = runs.map((r) => heredocRunCommand((r.command as { command: string }).command, r.heredocs));
  assert.deepEqual(plan, [
    { kind: 'shell', command: '\techo hi\n' },
    { kind: 'shell', command: 'echo hi\n' },
    { kind: 'script', name: 'EOF', data: '#!/usr/bin/env python\nprint("hello")\n' },
    { kind: 'shell', command: '<<EOF bash\n\tset -ex\nEOF' },
    { kind: 'shell', command: '<<A cat > a && <<-B cat > b\none\nA\n\ttwo\nB' },
  ]);
  assert.deepEqual(heredocRunCommand('echo plain', []), { kind: 'shell', command: 'echo plain' });
});
