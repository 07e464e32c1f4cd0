import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lexDockerfile } from '../../../src/build/parser/lexer.js';
import { DockerfileSyntaxError } from '../../../src/build/parser/errors.js';

/** [text, line, endLine] of every logical line. */
function lines(src: string): [string, number, number][] {
  return lexDockerfile(src).lines.map((l) => [l.text, l.line, l.endLine]);
}

const cases: { name: string; src: string; want: [string, number, number][] }[] = [
  { name: 'one instruction per line', src: 'FROM a\nRUN b\n', want: [['FROM a', 1, 1], ['RUN b', 2, 2]] },
  { name: 'no final newline', src: 'FROM a\nRUN b', want: [['FROM a', 1, 1], ['RUN b', 2, 2]] },
  { name: 'CRLF line ends', src: 'FROM a\r\nRUN b \\\r\n c\r\n', want: [['FROM a', 1, 1], ['RUN b  c', 2, 3]] },
  { name: 'a BOM is ignored', src: '\uFEFFFROM a\n', want: [['FROM a', 1, 1]] },
  { name: 'blank lines and comments are skipped, numbers kept', src: '\n# c\n\nFROM a\n\n  # indented comment\nRUN b\n', want: [['FROM a', 4, 4], ['RUN b', 7, 7]] },
  { name: 'leading whitespace before an instruction is ignored', src: '   FROM a\n\tRUN b\n', want: [['FROM a', 1, 1], ['RUN b', 2, 2]] },
  { name: '# inside a line is text', src: "RUN echo 'some # of things' # not a comment\n", want: [["RUN echo 'some # of things' # not a comment", 1, 1]] },
  { name: 'continuation joins without adding a space', src: 'RUN apt-get\\\ninstall\n', want: [['RUN apt-getinstall', 1, 2]] },
  { name: 'continuation keeps the next line’s indentation', src: 'RUN a \\\n    b\n', want: [['RUN a     b', 1, 2]] },
  { name: 'blanks after the escape still continue', src: 'RUN a \\  \t\nb\n', want: [['RUN a b', 1, 2]] },
  { name: 'comment lines inside a continuation are removed', src: 'RUN echo hello \\\n# comment\n  # indented\nworld\n', want: [['RUN echo hello world', 1, 4]] },
  { name: 'blank lines inside a continuation are skipped', src: 'RUN a \\\n\n   \nb\nRUN c\n', want: [['RUN a b', 1, 4], ['RUN c', 5, 5]] },
  { name: 'a comment does not continue', src: '# note \\\nFROM a\n', want: [['FROM a', 2, 2]] },
  { name: 'trailing escape on the last line ends the instruction', src: 'FROM a\nRUN echo hi \\', want: [['FROM a', 1, 1], ['RUN echo hi ', 2, 2]] },
  { name: 'trailing escape then only comments', src: 'RUN a \\\n# c\n', want: [['RUN a ', 1, 2]] },
  { name: 'an escaped escape at the end does not continue', src: 'COPY a c:\\\\\nRUN dir\n', want: [['COPY a c:\\\\', 1, 1], ['RUN dir', 2, 2]] },
  { name: 'an escape alone on a line continues', src: 'RUN a\\\n\\\nb\n', want: [['RUN ab', 1, 3]] },
  { name: 'three continued lines', src: 'RUN a \\\n  && b \\\n  && c\nUSER x\n', want: [['RUN a   && b   && c', 1, 3], ['USER x', 4, 4]] },
];

for (const c of cases) {
  test(`lexer: ${c.name}`, () => {
    assert.deepEqual(lines(c.src), c.want);
  });
}

test('lexer: backtick escape keeps Windows paths and continues on backtick', () => {
  const src = '# escape=`\n\nFROM microsoft/nanoserver\nCOPY testfile.txt c:\\\nRUN dir c:\\\nRUN a `\n  b\n';
  assert.deepEqual(lines(src), [
    ['FROM microsoft/nanoserver', 3, 3],
    ['COPY testfile.txt c:\\', 4, 4],
    ['RUN dir c:\\', 5, 5],
    ['RUN a   b', 6, 7],
  ]);
});

test('lexer: without the directive a trailing backslash in a Windows path continues', () => {
  // The reference's cautionary example: the backslash escapes the newline.
  assert.deepEqual(lines('COPY testfile.txt c:\\\nRUN dir c:\n'), [['COPY testfile.txt c:RUN dir c:', 1, 2]]);
});

test('lexer: empty continuation lines are reported as warnings', () => {
  const { warnings } = lexDockerfile('FROM a\nRUN a \\\n\nb\n');
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0].line, 2);
});

test('lexer: counts physical lines', () => {
  assert.equal(lexDockerfile('').lineCount, 0);
  assert.equal(lexDockerfile('FROM a\n\n').lineCount, 2);
  assert.equal(lexDockerfile('FROM a').lineCount, 1);
});

test('lexer: heredoc bodies extend endLine and skip comment/continuation rules', () => {
  const { lines: ls } = lexDockerfile('FROM a\nRUN <<EOF\n# kept \\\n\nEOF\nUSER b\n');
  assert.equal(ls[1].text, 'RUN <<EOF');
  assert.equal(ls[1].endLine, 5);
  assert.equal(ls[1].heredocs[0].content, '# kept \\\n\n');
  assert.deepEqual([ls[2].text, ls[2].line], ['USER b', 6]);
});

test('lexer: an unterminated heredoc is an error at the instruction line', () => {
  assert.throws(
    () => lexDockerfile('FROM a\nRUN <<EOF\necho hi\n', 'Dockerfile.dev'),
    (err: unknown) => err instanceof DockerfileSyntaxError && err.message === 'Dockerfile.dev:2: unterminated heredoc' && err.endLine === 3,
  );
});
