/**
 * `berth ps` lays out its default table, its table with SIZE and `-q`
 * without the template engine (psDefaultOutput); every other format goes
 * through formatRows. Both must print the same bytes for the same rows:
 * this renders varied rows both ways and compares them (with a cell that
 * holds a tab and a newline, and without).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { containerContext, containerFormat, CONTAINER_HEADERS, psDefaultOutput, type ContainerSummary } from '../../../src/cli/container/ps.js';
import { formatRows } from '../../../src/cli/format/formatter.js';

const NOW = Date.UTC(2026, 0, 2, 3, 4, 5);
const ID = 'a'.repeat(64);
const IMAGE_ID = `sha256:${'b'.repeat(64)}`;

function row(over: Partial<ContainerSummary>): ContainerSummary {
  return {
    Id: ID, Names: ['/plain'], Image: 'busybox:latest', ImageID: IMAGE_ID, Command: 'sh', Created: NOW / 1000 - 90,
    Ports: [], Labels: {}, State: 'created', Status: 'Created', ...over,
  };
}

const ROWS: ContainerSummary[] = [
  row({}),
  row({ Id: 'c'.repeat(64), Names: ['/web/db', '/db'], Image: 'docker.io/library/nginx:1.25', Status: 'Up 3 seconds', State: 'running' }),
  row({ Image: '', Command: 'echo "a\tb\nc" and a command far longer than twenty characters', Created: NOW / 1000 - 86400 * 40 }),
  row({ Image: IMAGE_ID, ImageID: IMAGE_ID, Names: ['/x/y'], Status: 'Exited (137) 2 hours ago' }),
  row({
    Image: 'registry.example:5000/team/app@sha256:' + 'd'.repeat(64), Names: [],
    Ports: [
      { PrivatePort: 80, Type: 'tcp' }, { PrivatePort: 81, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 443, PublicPort: 8443, Type: 'tcp' },
      { IP: '::', PrivatePort: 53, PublicPort: 53, Type: 'udp' }, { IP: '0.0.0.0', PrivatePort: 53, PublicPort: 53, Type: 'udp' },
    ],
    SizeRw: 12345, SizeRootFs: 4_400_000,
  }),
  row({ Names: ['/ünïcode-名前'], Command: 'résumé', SizeRw: 0, Ports: null, Labels: null }),
  row({ Names: ['/emoji-\u{1F600}'], Status: 'Up\tan odd\nstatus' }),
];

const CASES: { format: string; quiet: boolean; size: boolean }[] = [
  { format: '', quiet: false, size: false },
  { format: 'table', quiet: false, size: false },
  { format: '', quiet: false, size: true },
  { format: '', quiet: true, size: false },
  { format: '{{.ID}}', quiet: false, size: false },
];

for (const trunc of [true, false]) {
  for (const c of CASES) {
    test(`format ${JSON.stringify(c.format)}${c.quiet ? ' -q' : ''}${c.size ? ' -s' : ''}${trunc ? '' : ' --no-trunc'}: the same bytes as the template`, () => {
      const format = containerFormat(c.format, c.quiet, c.size);
      for (const rows of [ROWS, ROWS.slice(0, -1), [], ROWS.slice(0, 1)]) {
        const fast = psDefaultOutput(format, rows, trunc, NOW);
        assert.notEqual(fast, undefined, 'this format has the direct layout');
        assert.equal(fast, formatRows(format, rows.map((r) => containerContext(r, trunc, NOW)), CONTAINER_HEADERS));
      }
    });
  }
}

test('other formats are left to the template', () => {
  for (const format of ['table {{.ID}}', '{{.Names}}', 'json', 'table {{.ID}}\t{{.Image}}\t{{.Command}}']) {
    assert.equal(psDefaultOutput(format, ROWS, true, NOW), undefined, format);
  }
});
