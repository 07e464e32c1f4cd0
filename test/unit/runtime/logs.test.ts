import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { formatTimestamp, parseLogLine, parseTimestamp, readLogBatches, readLogs, tailStart, type LogEntry, type LogReadOptions } from '../../../src/runtime/logs.js';
import { logEntriesPayload } from '../../../src/api/stream.js';

const dir = mkdtempSync('/tmp/berth-logs-');
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;
const file = (content: string | Buffer): string => {
  const p = join(dir, `log${++files}`);
  writeFileSync(p, content);
  return p;
};

const T = (i: number): string => `2026-11-23T05:24:${String(10 + (i % 50)).padStart(2, '0')}.${String(i).padStart(9, '0')}+00:00`;
const rec = (i: number, stream: 'stdout' | 'stderr', tag: 'F' | 'P', text: string): string => `${T(i)} ${stream} ${tag} ${text}\n`;

async function collect(path: string, o: Partial<LogReadOptions> = {}): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  for await (const e of readLogs(path, { follow: false, stdout: true, stderr: true, ...o })) out.push(e);
  return out;
}
const texts = (es: LogEntry[]): string[] => es.map((e) => e.line.toString());

describe('record parsing', () => {
  test('full, partial and empty records', () => {
    const f = parseLogLine(Buffer.from('2026-11-23T05:24:16.323537138+00:00 stdout F out line'))!;
    assert.equal(f.stream, 'stdout');
    assert.equal(f.line.toString(), 'out line\n');
    assert.equal(f.time, '2026-11-23T05:24:16.323537138Z');
    assert.equal(f.timeNs, BigInt(Date.parse('2026-11-23T05:24:16Z')) * 1_000_000n + 323537138n);
    const p = parseLogLine(Buffer.from('2026-11-23T05:24:16.323537138+00:00 stderr P no newline '))!;
    assert.equal(p.stream, 'stderr');
    assert.equal(p.line.toString(), 'no newline ');
    assert.equal(parseLogLine(Buffer.from('2026-11-23T05:24:16.3+00:00 stdout F '))!.line.toString(), '\n');
    assert.equal(parseLogLine(Buffer.from('2026-11-23T05:24:16.3+00:00 stdout F'))!.line.toString(), '\n');
  });

  test('text is kept byte for byte (spaces, \\r, binary)', () => {
    const raw = Buffer.concat([Buffer.from('2026-11-23T05:24:16.000000001Z stdout F  a\tb\r'), Buffer.from([0xff, 0x00, 0x80])]);
    assert.deepEqual(parseLogLine(raw)!.line, Buffer.concat([Buffer.from(' a\tb\r'), Buffer.from([0xff, 0x00, 0x80, 0x0a])]));
  });

  test('anything else is not a record', () => {
    for (const bad of ['', 'garbage', '2026-11-23T05:24:16Z stdin F x', '2026-11-23T05:24:16Z stdout X x',
      '2026-11-23T05:24:16Z stdout Fx', 'yesterday stdout F x', '2026-11-23T05:24:16Z stdout']) {
      assert.equal(parseLogLine(Buffer.from(bad)), null, bad);
    }
  });

  test('times: any offset becomes UTC with nine digits', () => {
    assert.equal(formatTimestamp(parseTimestamp('2026-11-23T07:24:16.5+02:00')!), '2026-11-23T05:24:16.500000000Z');
    assert.equal(formatTimestamp(parseTimestamp('2026-11-23T05:24:16Z')!), '2026-11-23T05:24:16.000000000Z');
    assert.equal(formatTimestamp(parseTimestamp('2026-11-23T00:00:00.000000007-05:30')!), '2026-11-23T05:30:00.000000007Z');
    assert.equal(formatTimestamp(0n), '1970-01-01T00:00:00.000000000Z');
    assert.equal(parseTimestamp('2026-11-23 05:24:16Z'), null);
  });
});

describe('reading', () => {
  const log = [
    rec(1, 'stdout', 'F', 'one'),
    rec(2, 'stderr', 'F', 'err-one'),
    rec(3, 'stdout', 'P', 'par'),
    rec(4, 'stdout', 'F', 'tial'),
    rec(5, 'stderr', 'P', 'err-partial-at-end'),
  ].join('');

  test('everything, in order; partial records without a newline', async () => {
    const es = await collect(file(log));
    assert.deepEqual(texts(es), ['one\n', 'err-one\n', 'par', 'tial\n', 'err-partial-at-end']);
    assert.deepEqual(es.map((e) => e.stream), ['stdout', 'stderr', 'stdout', 'stdout', 'stderr']);
  });

  test('stream choice, since and until', async () => {
    const p = file(log);
    assert.deepEqual(texts(await collect(p, { stderr: false })), ['one\n', 'par', 'tial\n']);
    assert.deepEqual(texts(await collect(p, { stdout: false })), ['err-one\n', 'err-partial-at-end']);
    const t3 = parseTimestamp(T(3).replace('+00:00', 'Z'))!;
    assert.deepEqual(texts(await collect(p, { since: t3 })), ['par', 'tial\n', 'err-partial-at-end']);
    assert.deepEqual(texts(await collect(p, { until: t3 })), ['one\n', 'err-one\n', 'par']);
  });

  test('a record still being written is not returned', async () => {
    const p = file(log + `${T(6)} stdout F unfinish`);
    assert.equal((await collect(p)).length, 5);
  });

  test('garbage lines are skipped', async () => {
    assert.deepEqual(texts(await collect(file(`junk\n${rec(1, 'stdout', 'F', 'ok')}\n`))), ['ok\n']);
  });

  test('times are parsed only when asked for, and shown normalised', async () => {
    const p = file(log);
    assert.deepEqual((await collect(p)).map((e) => [e.time, e.timeNs]), Array(5).fill(['', 0n]));
    const timed = await collect(p, { times: true });
    assert.equal(timed[0].time, formatTimestamp(parseTimestamp(T(1))!));
    assert.equal(timed[0].timeNs, parseTimestamp(T(1)));
    // since alone needs the instant, not the text.
    assert.deepEqual((await collect(p, { since: parseTimestamp(T(4))! })).map((e) => e.time), ['', '']);
    // A record whose time has not even the shape of one is not a record, asked for or not.
    const odd = file(`20261123 05:24:16 stdout F x\n${rec(1, 'stdout', 'F', 'ok')}`);
    assert.deepEqual(texts(await collect(odd)), ['ok\n']);
    assert.deepEqual(texts(await collect(odd, { times: true })), ['ok\n']);
  });

  test('a big log comes in batches of many entries, in order, as slices of the blocks read', async () => {
    const n = 20_000;
    const p = file(Array.from({ length: n }, (_, i) => rec(i, i % 3 ? 'stdout' : 'stderr', 'F', `line ${i}`)).join(''));
    const sizes: number[] = [];
    const lines: string[] = [];
    for await (const batch of readLogBatches(p, { follow: false, stdout: true, stderr: true })) {
      sizes.push(batch.length);
      for (const e of batch) lines.push(e.line.toString());
    }
    assert.equal(lines.length, n);
    assert.equal(lines[12_345], 'line 12345\n');
    assert.ok(sizes.length > 1 && sizes.length < 20, `batches: ${sizes.join(',')}`);
  });

  test('the logs endpoint encodes a batch as frames, or raw for a tty, with -t times', async () => {
    const es = await collect(file(log), { times: true });
    const framed = logEntriesPayload(es.slice(0, 2), { tty: false, timestamps: false });
    assert.deepEqual(framed, Buffer.concat([
      Buffer.from([1, 0, 0, 0, 0, 0, 0, 4]), Buffer.from('one\n'),
      Buffer.from([2, 0, 0, 0, 0, 0, 0, 8]), Buffer.from('err-one\n'),
    ]));
    const raw = logEntriesPayload(es.slice(2, 4), { tty: true, timestamps: true });
    assert.equal(raw.toString(), `${es[2].time} par${es[3].time} tial\n`);
    const timedFrame = logEntriesPayload(es.slice(0, 1), { tty: false, timestamps: true });
    assert.equal(timedFrame.readUInt32BE(4), es[0].time.length + 1 + 4);
    assert.equal(timedFrame.subarray(8).toString(), `${es[0].time} one\n`);
  });

  test('a missing log rejects with ENOENT', async () => {
    await assert.rejects(collect(join(dir, 'nope')), { code: 'ENOENT' });
  });
});

describe('tail', () => {
  test('counts lines, not records; the streams interleave inside a line', async () => {
    const p = file([
      rec(1, 'stdout', 'F', 'out'),
      rec(2, 'stdout', 'P', 'part'),
      rec(3, 'stderr', 'F', 'err'),
      rec(4, 'stdout', 'F', 'ial'),
    ].join(''));
    assert.deepEqual(texts(await collect(p, { tail: 1 })), ['part', 'ial\n']);
    assert.deepEqual(texts(await collect(p, { tail: 2 })), ['part', 'err\n', 'ial\n']);
    assert.deepEqual(texts(await collect(p, { tail: 3 })), ['out\n', 'part', 'err\n', 'ial\n']);
    assert.deepEqual(texts(await collect(p, { tail: 100 })), ['out\n', 'part', 'err\n', 'ial\n']);
    assert.deepEqual(texts(await collect(p, { tail: 0 })), []);
    // Both streams count, before the stream choice (as Docker does).
    assert.deepEqual(texts(await collect(p, { tail: 2, stdout: false })), ['err\n']);
  });

  test('a partial line nothing ended yet counts as a line', async () => {
    const p = file([rec(1, 'stdout', 'F', 'a'), rec(2, 'stdout', 'P', 'b'), rec(3, 'stdout', 'P', 'c')].join(''));
    assert.deepEqual(texts(await collect(p, { tail: 1 })), ['b', 'c']);
  });

  test('a big log: reads backwards across block boundaries', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 20_000; i++) lines.push(rec(i, i % 3 ? 'stdout' : 'stderr', 'F', `line ${i} ${'x'.repeat(i % 97)}`));
    const p = file(lines.join(''));
    const got = texts(await collect(p, { tail: 3 }));
    assert.deepEqual(got, [19997, 19998, 19999].map((i) => `line ${i} ${'x'.repeat(i % 97)}\n`));
    assert.equal((await collect(p, { tail: 5000 })).length, 5000);
    assert.equal((await collect(p, { tail: 30000 })).length, 20000);
  });

  test('matches a straightforward grouping on random interleavings', async () => {
    let seed = 42;
    const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
    for (let round = 0; round < 40; round++) {
      const recs: { stream: 'stdout' | 'stderr'; tag: 'F' | 'P'; text: string }[] = [];
      const count = 1 + rand(60);
      for (let i = 0; i < count; i++) {
        recs.push({ stream: rand(2) ? 'stdout' : 'stderr', tag: rand(3) ? 'F' : 'P', text: `r${i}-${'y'.repeat(rand(3000))}` });
      }
      const p = file(recs.map((r, i) => rec(i, r.stream, r.tag, r.text)).join(''));
      // Reference: group forwards, order groups by their last record, keep the last n.
      const groups: number[][] = [];
      const open = new Map<string, number[]>();
      recs.forEach((r, i) => {
        const g = open.get(r.stream) ?? [];
        g.push(i);
        if (r.tag === 'F') { groups.push(g); open.delete(r.stream); } else open.set(r.stream, g);
      });
      for (const g of open.values()) groups.push(g);
      groups.sort((a, b) => a[a.length - 1] - b[b.length - 1]);
      for (const n of [1, 2, 3, 7, 1000]) {
        const keep = new Set(groups.slice(-n).flat());
        const want = recs.filter((_, i) => keep.has(i)).map((r) => r.text + (r.tag === 'F' ? '\n' : ''));
        assert.deepEqual(texts(await collect(p, { tail: n })), want, `round ${round}, tail ${n}`);
      }
    }
  });

  test('tailStart on an empty file or one without a complete record', async () => {
    for (const content of ['', `${T(1)} stdout F no newline yet`]) {
      const fh = await open(file(content), 'r');
      try {
        assert.deepEqual(await tailStart(fh, 5), { offset: 0, skip: new Set(), count: 0 });
      } finally {
        await fh.close();
      }
    }
  });
});

describe('follow', () => {
  test('sees appended records, a replaced file and a truncated one; ends when done and drained', async () => {
    const p = join(dir, 'follow.log');
    writeFileSync(p, rec(1, 'stdout', 'F', 'first'));
    let done = false;
    const seen: string[] = [];
    const reading = (async () => {
      for await (const e of readLogs(p, { follow: true, stdout: true, stderr: true, isDone: () => done })) seen.push(e.line.toString());
    })();
    const until = async (n: number): Promise<void> => {
      for (let i = 0; i < 200 && seen.length < n; i++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(seen.length, n, JSON.stringify(seen));
    };
    await until(1);
    appendFileSync(p, rec(2, 'stdout', 'P', 'sec'));
    appendFileSync(p, rec(3, 'stdout', 'F', 'ond'));
    await until(3);
    // conmon's --log-size-max: a new file renamed over the old one.
    writeFileSync(`${p}.tmp`, rec(4, 'stderr', 'F', 'after-rotate'));
    renameSync(`${p}.tmp`, p);
    await until(4);
    // Truncated in place (not conmon's way; best effort: noticed once it is shorter than what was read).
    truncateSync(p, 0);
    await new Promise((r) => setTimeout(r, 300));
    appendFileSync(p, rec(5, 'stdout', 'F', 'after-truncate'));
    await until(5);
    // Written just before the container counts as done: still delivered.
    appendFileSync(p, rec(6, 'stdout', 'F', 'last words'));
    done = true;
    await reading;
    assert.deepEqual(seen, ['first\n', 'sec', 'ond\n', 'after-rotate\n', 'after-truncate\n', 'last words\n']);
  });

  test('tail then follow', async () => {
    const p = file([rec(1, 'stdout', 'F', 'a'), rec(2, 'stdout', 'F', 'b')].join(''));
    let done = false;
    const seen: string[] = [];
    const reading = (async () => {
      for await (const e of readLogs(p, { follow: true, tail: 1, stdout: true, stderr: true, isDone: () => done })) seen.push(e.line.toString());
    })();
    await new Promise((r) => setTimeout(r, 50));
    appendFileSync(p, rec(3, 'stdout', 'F', 'c'));
    done = true;
    await reading;
    assert.deepEqual(seen, ['b\n', 'c\n']);
  });

  test('an abort signal ends a follow that would otherwise wait forever', async () => {
    const p = file(rec(1, 'stdout', 'F', 'x'));
    const ac = new AbortController();
    const seen: string[] = [];
    const t0 = Date.now();
    setTimeout(() => ac.abort(), 100);
    for await (const e of readLogs(p, { follow: true, stdout: true, stderr: true, signal: ac.signal })) seen.push(e.line.toString());
    assert.deepEqual(seen, ['x\n']);
    assert.ok(Date.now() - t0 < 1000);
  });

  test('breaking out of the loop releases the watcher (the process can exit)', async () => {
    const p = file(rec(1, 'stdout', 'F', 'x') + rec(2, 'stdout', 'F', 'y'));
    for await (const e of readLogs(p, { follow: true, stdout: true, stderr: true })) {
      if (e.line.toString() === 'y\n') break;
    }
  });
});
