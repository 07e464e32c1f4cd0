/** Table layout (Go's tabwriter with Docker's settings) and --format handling of list commands. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tabwrite } from '../../../src/cli/format/tabwriter.js';
import { formatRows, goMarshal, marshalContext, preFormat } from '../../../src/cli/format/formatter.js';
import { ellipsis, truncateId } from '../../../src/cli/format/truncate.js';
import { goQuote } from '../../../src/cli/format/go-quote.js';
import { naturalCompare } from '../../../src/cli/format/natural-sort.js';

test('columns are widest cell + 3, at least 10, last column unpadded', () => {
  const out = tabwrite('CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES\n');
  assert.equal(out, 'CONTAINER ID   IMAGE     COMMAND   CREATED   STATUS    PORTS     NAMES\n');
  assert.equal(tabwrite('DRIVER\tVOLUME NAME\nlocal\tv1\n'), 'DRIVER    VOLUME NAME\nlocal     v1\n');
  assert.equal(tabwrite('REPOSITORY\tTAG\tIMAGE ID\tCREATED\tSIZE\nbusybox\tlatest\taaaaaaaaaaaa\t2 hours ago\t4.26MB\n'),
    'REPOSITORY   TAG       IMAGE ID       CREATED       SIZE\nbusybox      latest    aaaaaaaaaaaa   2 hours ago   4.26MB\n');
});

test('uneven rows form separate column blocks, as in Go', () => {
  assert.equal(tabwrite('a\tb\tc\nlonger-cell\td\n'), 'a             b         c\nlonger-cell   d\n');
  assert.equal(tabwrite('x\nab\tc\n'), 'x\nab        c\n');
});

test('wide characters count as one column per rune', () => {
  assert.equal(tabwrite('né\tx\n'), 'né        x\n');
  // A surrogate pair is one rune, in tables with a block per column and in uneven ones.
  assert.equal(tabwrite('😀\tx\nab\ty\n'), '😀         x\nab        y\n');
  assert.equal(tabwrite('😀\tx\tz\nab\ty\n'), '😀         x         z\nab        y\n');
});

test('table formats print a header from the same template', () => {
  const rows = [{ ID: () => 'aaa', Name: () => 'one', Label: (k: unknown) => `L-${String(k)}` }];
  assert.equal(formatRows('table {{.ID}}\\t{{.Name}}', rows, { ID: 'ID', Name: 'NAME' }), 'ID        NAME\naaa       one\n');
  assert.equal(formatRows('table {{.ID}}\t{{.Label "x"}}', rows, { ID: 'ID', Label: 'LABEL' }), 'ID        LABEL\naaa       L-x\n');
  assert.equal(formatRows('{{.ID}}:{{.Name}}', rows, {}), 'aaa:one\n');
  assert.equal(formatRows('table {{.ID}}', [], { ID: 'CONTAINER ID' }), 'CONTAINER ID\n');
});

test('json format: one object per row, fields without arguments, sorted, HTML-escaped like json.Marshal', () => {
  const row = { Name: () => 'a<b>', ID: () => 'x', Label: (k: unknown) => String(k) };
  assert.deepEqual(marshalContext(row), { ID: 'x', Name: 'a<b>' });
  assert.equal(formatRows('json', [row], {}), '{"ID":"x","Name":"a\\u003cb\\u003e"}\n');
  assert.equal(goMarshal({ a: '&' }), '{"a":"\\u0026"}');
});

test('preFormat strips table, trims spaces and expands \\t', () => {
  assert.equal(preFormat('table {{.ID}}\\t{{.Image}}'), '{{.ID}}\t{{.Image}}');
  assert.equal(preFormat('  {{.ID}}  '), '{{.ID}}');
});

test('truncation helpers', () => {
  assert.equal(truncateId('sha256:0123456789abcdef0123'), '0123456789ab');
  assert.equal(truncateId('<missing>'), '<missing>');
  assert.equal(ellipsis('sh -c \'echo "hi"; sleep 1000000\'', 20), 'sh -c \'echo "hi"; s…');
  assert.equal(ellipsis('short', 20), 'short');
  assert.equal(goQuote('sh -c \'echo "hi"\'\n'), '"sh -c \'echo \\"hi\\"\'\\n"');
  assert.deepEqual(['v10', 'v2', 'a', 'v1'].sort(naturalCompare), ['a', 'v1', 'v2', 'v10']);
});
