/**
 * Reading conmon's k8s-file container log for `docker logs`.
 *
 * conmon writes one record per line: `<RFC 3339 time with nanoseconds and
 * offset> <stdout|stderr> <F|P> <text>\n`. `F` closes a line (the text's own
 * newline is the record's); `P` is a partial line — output that did not end
 * in a newline, or a long line conmon cut — and the record's newline is not
 * part of the output. Docker stores partial messages as separate entries and
 * prints them back to back, which rebuilds the original bytes; we do the same
 * by giving `P` entries no trailing newline.
 *
 * With `--log-size-max` conmon replaces the file (write a new one, rename it
 * over the old) when it would grow past the limit; a follower notices the new
 * inode and switches after draining the old one. With `max-file` the old
 * files are kept (runtime/log-rotation.ts) and read first, oldest first; a
 * tail counts its lines across them.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { rotatedLogFiles } from './log-rotation.js';

export interface LogEntry {
  stream: 'stdout' | 'stderr';
  /**
   * RFC 3339, UTC, always nine fractional digits (`2026-11-23T05:24:16.323537138Z`),
   * as `docker logs -t` prints; '' unless the read asked for `times`.
   */
  time: string;
  /** Nanoseconds since the epoch; 0n unless the read asked for `times` or has `since`/`until`. */
  timeNs: bigint;
  /** The output bytes: `F` records end with `\n`, `P` records do not. */
  line: Buffer;
}

export interface LogReadOptions {
  follow: boolean;
  /**
   * Only the last N lines; undefined = all. Like Docker, lines of both streams
   * count, before the stream choice applies; a partial record counts with the
   * line it is part of.
   */
  tail?: number;
  /** Nanoseconds since the epoch: skip entries before this. */
  since?: bigint;
  /** Nanoseconds since the epoch: stop at the first entry after this. */
  until?: bigint;
  stdout: boolean;
  stderr: boolean;
  /**
   * The caller shows each entry's time (`timestamps=1`). Parsing and
   * formatting a time per record is most of the cost of reading a big log,
   * so without this (and without since/until) a record's time is only
   * checked for its shape.
   */
  times?: boolean;
  /** Without follow: read only the bytes before this file offset (what the log held at some earlier moment). */
  endOffset?: number;
  /** Follow stops once this returns true and the file is drained (the container exited). */
  isDone?: () => boolean;
  signal?: AbortSignal;
}

/** Read size: a tail reads backwards in these, a forward read yields one batch of entries per block. */
const BLOCK = 256 * 1024;
/** How often a follower looks again without a change notification (and re-asks isDone). */
const POLL_MS = 200;
const NL = 0x0a;
const SP = 0x20;

// ------------------------------------------------------------------ parsing

const TIME_RE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:?\d\d)$/;
let cachedSecondsKey = '';
let cachedSecondsMs = 0;

/** Parses an RFC 3339 time with up to nanosecond precision; null when malformed. */
export function parseTimestamp(s: string): bigint | null {
  const m = TIME_RE.exec(s);
  if (!m) return null;
  // Records from one write share a second: parse the whole-second part once.
  const key = m[1] + m[3];
  if (key !== cachedSecondsKey) {
    const ms = Date.parse(key);
    if (Number.isNaN(ms)) return null;
    cachedSecondsKey = key;
    cachedSecondsMs = ms;
  }
  const frac = (m[2] ?? '').padEnd(9, '0');
  return BigInt(cachedSecondsMs) * 1_000_000n + BigInt(frac);
}

/** `2026-11-23T05:24:16.323537138Z`: UTC, nine fractional digits (Go's RFC3339NanoFixed). */
let cachedWholeSecs = -1n;
let cachedWholeText = '';

export function formatTimestamp(ns: bigint): string {
  let secs = ns / 1_000_000_000n;
  let frac = ns % 1_000_000_000n;
  if (frac < 0n) { frac += 1_000_000_000n; secs -= 1n; }
  if (secs !== cachedWholeSecs) {
    cachedWholeSecs = secs;
    cachedWholeText = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  }
  return `${cachedWholeText}.${frac.toString().padStart(9, '0')}Z`;
}

interface RecordFields { stream: 'stdout' | 'stderr'; partial: boolean; timeEnd: number; textAt: number }

/**
 * The fields of the record in data[start, end) (`end` is where its `\n`
 * is or would be), read in place: `<time> <stdout|stderr> <F|P>[ <text>]`.
 */
function recordFields(data: Buffer, start: number, end: number): RecordFields | null {
  const s1 = data.indexOf(SP, start);
  if (s1 < 0 || s1 + 8 >= end || data[s1 + 7] !== SP) return null;
  let stream: 'stdout' | 'stderr';
  if (isWord(data, s1 + 1, STDOUT)) stream = 'stdout';
  else if (isWord(data, s1 + 1, STDERR)) stream = 'stderr';
  else return null;
  const tag = data[s1 + 8];
  if (tag !== 0x46 /* F */ && tag !== 0x50 /* P */) return null;
  if (s1 + 9 < end && data[s1 + 9] !== SP) return null;
  return { stream, partial: tag === 0x50, timeEnd: s1, textAt: Math.min(end, s1 + 10) };
}

const STDOUT = Buffer.from('stdout');
const STDERR = Buffer.from('stderr');

function isWord(data: Buffer, at: number, word: Buffer): boolean {
  for (let i = 0; i < word.length; i++) if (data[at + i] !== word[i]) return false;
  return true;
}

/** What a read needs of each record's time. */
interface TimeNeeds { ns: boolean; text: boolean }

/**
 * The record in data[start, nl), where data[nl] is its `\n`, as an entry
 * whose line is a slice of data; null for anything but a conmon record.
 */
function entryAt(data: Buffer, start: number, nl: number, needs: TimeNeeds): LogEntry | null {
  const f = recordFields(data, start, nl);
  if (!f) return null;
  let timeNs = 0n;
  let time = '';
  if (needs.ns || needs.text) {
    const t = parseTimestamp(data.toString('latin1', start, f.timeEnd));
    if (t === null) return null;
    timeNs = t;
    if (needs.text) time = formatTimestamp(t);
  } else if (!looksLikeTimestamp(data, start, f.timeEnd)) {
    return null;
  }
  // An F record's text ends with the record's own newline, which is the output's.
  return { stream: f.stream, time, timeNs, line: data.subarray(f.textAt, f.partial ? nl : nl + 1) };
}

/** `YYYY-MM-DDTHH:MM:SS…`: the shape conmon writes, checked without parsing (see LogReadOptions.times). */
function looksLikeTimestamp(data: Buffer, start: number, end: number): boolean {
  const n = end - start;
  return n >= 20 && n <= 35 && data[start + 4] === 0x2d && data[start + 7] === 0x2d && data[start + 10] === 0x54 && data[start + 13] === 0x3a;
}

/** One k8s-file line (without its `\n`) as a log entry; null for anything else. */
export function parseLogLine(line: Buffer): LogEntry | null {
  return entryAt(Buffer.concat([line, Buffer.from('\n')]), 0, line.length, { ns: true, text: true });
}

// ------------------------------------------------------------------ tail

/** Where a tail read starts, the records after that point that belong to older lines, and how many lines it found. */
export interface TailStart { offset: number; skip: Set<number>; count: number }

/**
 * Finds the records that make up the last `n` lines, reading backwards in
 * blocks so a big log is not read whole. A line is a run of `P` records ended
 * by an `F` record of the same stream; a run of `P` records nothing ended yet
 * (the latest output of a stream) counts as a line too. conmon may interleave
 * the streams inside a line (`stdout P`, `stderr F`, `stdout F`), so the
 * result is a start offset plus the offsets of records in between that belong
 * to older lines. Records after the last newline are still being written and
 * are left to the forward read.
 */
export async function tailStart(fh: FileHandle, n: number, size?: number): Promise<TailStart> {
  const end = size ?? (await fh.stat()).size;
  const skip = new Set<number>();
  if (n <= 0) return { offset: end, skip, count: 0 };
  /** Streams whose oldest counted line may still have earlier `P` records. */
  const open = new Set<string>();
  let count = 0;
  let offset = end;
  let pos = end;
  let carry = Buffer.alloc(0); // file[pos, pos + carry.length): head of a line whose start is not read yet
  let first = true;
  while (pos > 0) {
    const start = Math.max(0, pos - BLOCK);
    const block = Buffer.alloc(pos - start);
    const { bytesRead } = await fh.read(block, 0, block.length, start);
    let data = Buffer.concat([block.subarray(0, bytesRead), carry]);
    if (first) {
      // Drop the unfinished record at the end (it may span blocks).
      const lastNl = data.lastIndexOf(NL);
      if (lastNl < 0) { pos = start; continue; }
      first = false;
      data = data.subarray(0, lastNl + 1);
    }
    // data = file[start, start + data.length), every line in it ends with '\n';
    // its first line is only known complete at the start of the file.
    let lineEnd = data.length; // exclusive, just after a '\n'
    while (lineEnd > 0) {
      const prevNl = lineEnd >= 2 ? data.lastIndexOf(NL, lineEnd - 2) : -1;
      if (prevNl < 0 && start > 0) break;
      const lineStart = prevNl + 1;
      const at = start + lineStart;
      const r = recordFields(data, lineStart, lineEnd - 1);
      lineEnd = lineStart;
      if (!r) continue;
      if (count < n) {
        // Counting: an F, or the newest record of a stream, ends a line.
        if (!r.partial || !open.has(r.stream)) count++;
        open.add(r.stream);
        offset = at;
      } else if (open.has(r.stream) && r.partial) {
        offset = at; // the beginning of a counted line
      } else {
        if (open.has(r.stream)) open.delete(r.stream); // F: the line before the counted ones
        skip.add(at);
      }
      if (count >= n && open.size === 0) return { offset, skip: without(skip, offset), count };
    }
    carry = Buffer.from(data.subarray(0, lineEnd));
    pos = start;
  }
  // Reached the start of the file (with no complete record at all: read it all later).
  if (count === 0) return { offset: 0, skip, count };
  return { offset, skip: without(skip, offset), count };
}

function without(skip: Set<number>, below: number): Set<number> {
  for (const at of skip) if (at < below) skip.delete(at);
  return skip;
}

// ------------------------------------------------------------------ reading

/** Yields the entries of a k8s-file log; throws ENOENT when there is no log. */
export async function* readLogs(logPath: string, o: LogReadOptions): AsyncGenerator<LogEntry> {
  for await (const batch of readLogBatches(logPath, o)) yield* batch;
}

/**
 * The entries of a k8s-file log in batches, one per block read (up to a few
 * thousand entries), so that a consumer writes a big log in big pieces
 * rather than one write per line; throws ENOENT when there is no log.
 */
export function readLogBatches(logPath: string, o: LogReadOptions): AsyncIterable<LogEntry[]> {
  return read(logPath, o);
}

/** A rotated file to read before the current one, from `offset` on. */
interface OlderPart { path: string; offset: number; skip: Set<number> }

/**
 * The rotated files (runtime/log-rotation.ts) a read goes through before
 * the current file, oldest first: all of them, or for a tail the newest
 * ones that hold the lines the current file lacks.
 */
async function olderParts(logPath: string, openIno: number, tail: number | undefined, currentCount: number): Promise<OlderPart[]> {
  if (tail !== undefined && currentCount >= tail) return [];
  const files = await rotatedLogFiles(logPath, openIno);
  if (tail === undefined) return files.map((path) => ({ path, offset: 0, skip: new Set<number>() }));
  const parts: OlderPart[] = [];
  let missing = tail - currentCount;
  for (const path of files.reverse()) {
    if (missing <= 0) break;
    const fh = await open(path, 'r').catch(() => null);
    if (!fh) continue; // dropped by the rotator meanwhile
    try {
      const t = await tailStart(fh, missing);
      parts.unshift({ path, offset: t.offset, skip: t.skip });
      missing -= t.count;
    } finally {
      await fh.close();
    }
  }
  return parts;
}

/** What a block's complete records gave: the entries, where the unfinished rest starts, and whether `until` was passed. */
interface BlockEntries { entries: LogEntry[]; consumed: number; pastUntil: boolean }

/**
 * The entries of the complete records in `data` (which starts at file offset
 * `dataAt`), as slices of it, filtered by stream and since/until. One loop
 * for every forward read, of rotated files and of the current one.
 */
function blockEntries(data: Buffer, dataAt: number, skip: Set<number> | null, o: LogReadOptions): BlockEntries {
  const needs: TimeNeeds = { ns: o.since !== undefined || o.until !== undefined, text: o.times === true };
  const entries: LogEntry[] = [];
  let lineStart = 0;
  for (let nl = data.indexOf(NL); nl >= 0; nl = data.indexOf(NL, lineStart)) {
    const skipped = skip !== null && skip.has(dataAt + lineStart);
    const e = skipped ? null : entryAt(data, lineStart, nl, needs);
    lineStart = nl + 1;
    if (!e || (e.stream === 'stdout' ? !o.stdout : !o.stderr)) continue;
    if (o.since !== undefined && e.timeNs < o.since) continue;
    if (o.until !== undefined && e.timeNs > o.until) return { entries, consumed: lineStart, pastUntil: true };
    entries.push(e);
  }
  return { entries, consumed: lineStart, pastUntil: false };
}

/** The entries of a rotated (finished) file from `part.offset`; false once `until` is passed or the read is aborted. */
async function* readFinished(part: OlderPart, o: LogReadOptions): AsyncGenerator<LogEntry[], boolean> {
  const fh = await open(part.path, 'r').catch(() => null);
  if (!fh) return true; // dropped by the rotator meanwhile
  try {
    let pos = part.offset;
    let rest = Buffer.alloc(0);
    for (;;) {
      const block = Buffer.allocUnsafe(BLOCK);
      const { bytesRead } = await fh.read(block, 0, BLOCK, pos);
      if (bytesRead === 0) return true;
      const dataAt = pos - rest.length;
      pos += bytesRead;
      const data = rest.length ? Buffer.concat([rest, block.subarray(0, bytesRead)]) : block.subarray(0, bytesRead);
      const got = blockEntries(data, dataAt, part.skip.size ? part.skip : null, o);
      if (got.entries.length) yield got.entries;
      if (got.pastUntil || o.signal?.aborted) return false;
      rest = Buffer.from(data.subarray(got.consumed));
    }
  } finally {
    await fh.close();
  }
}

async function* read(logPath: string, o: LogReadOptions): AsyncGenerator<LogEntry[]> {
  let fh = await open(logPath, 'r');
  let follower: Follower | null = null;
  try {
    const tail = o.tail === undefined ? { offset: 0, skip: new Set<number>(), count: 0 } : await tailStart(fh, o.tail);
    for (const part of await olderParts(logPath, (await fh.stat()).ino, o.tail, tail.count)) {
      if (!(yield* readFinished(part, o))) return;
    }
    let pos = tail.offset;
    let skip = tail.skip.size ? tail.skip : null;
    let rest = Buffer.alloc(0);
    for (;;) {
      if (o.signal?.aborted) return;
      // Asked before draining: whatever the container wrote before it was done is in the file now.
      const finishing = o.follow && (o.isDone?.() ?? false);
      for (;;) {
        // A fresh block per read: the entries handed out are slices of it.
        const want = o.endOffset !== undefined && !o.follow ? Math.min(BLOCK, o.endOffset - pos) : BLOCK;
        if (want <= 0) break;
        const block = Buffer.allocUnsafe(BLOCK);
        const { bytesRead } = await fh.read(block, 0, want, pos);
        if (bytesRead === 0) break;
        const dataAt = pos - rest.length; // file offset of data[0]
        pos += bytesRead;
        const data = rest.length ? Buffer.concat([rest, block.subarray(0, bytesRead)]) : block.subarray(0, bytesRead);
        const got = blockEntries(data, dataAt, skip, o);
        if (got.entries.length) yield got.entries;
        if (got.pastUntil || o.signal?.aborted) return;
        rest = Buffer.from(data.subarray(got.consumed)); // a copy: do not pin the block
      }
      if (!o.follow) return;
      if (o.until !== undefined && BigInt(Date.now()) * 1_000_000n > o.until) return;

      const replaced = await replacement(logPath, fh, pos);
      skip = null; // only meaningful for the file as tail found it
      if (replaced === 'truncated') { pos = 0; rest = Buffer.alloc(0); continue; }
      if (replaced === 'replaced') {
        // conmon has stopped writing the old file; we drained it above.
        const next = await open(logPath, 'r').catch(() => null);
        if (next) {
          await fh.close();
          fh = next;
          pos = 0;
          rest = Buffer.alloc(0);
          continue;
        }
      }
      if (finishing) return;
      follower ??= new Follower(logPath, o.signal);
      await follower.wait();
    }
  } finally {
    follower?.close();
    await fh.close().catch(() => undefined);
  }
}

/** Whether the path now names another file than the one open, or the open one shrank. */
async function replacement(logPath: string, fh: FileHandle, pos: number): Promise<'same' | 'replaced' | 'truncated'> {
  const [onDisk, current] = await Promise.all([stat(logPath).catch(() => null), fh.stat()]);
  if (onDisk && (onDisk.ino !== current.ino || onDisk.dev !== current.dev)) return 'replaced';
  if (current.size < pos) return 'truncated';
  return 'same';
}

/**
 * Wakes a follower when the log changes: an inotify watch on the log's
 * directory (which also sees the file being replaced), and a timer because
 * the end of a container changes nothing on disk and watches can fail.
 */
class Follower {
  private watcher: FSWatcher | null = null;
  private wake: (() => void) | null = null;
  private changed = false;
  private readonly onAbort = (): void => this.kick();

  constructor(logPath: string, private readonly signal?: AbortSignal) {
    const name = basename(logPath);
    try {
      this.watcher = watch(dirname(logPath), { persistent: false }, (_event, filename) => {
        if (!filename || filename.toString() === name) this.kick();
      });
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = null; });
    } catch {
      this.watcher = null; // polling alone
    }
    signal?.addEventListener('abort', this.onAbort);
  }

  wait(): Promise<void> {
    if (this.changed || this.signal?.aborted) {
      this.changed = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.kick(), POLL_MS);
      this.wake = () => { clearTimeout(timer); resolve(); };
    });
  }

  close(): void {
    this.watcher?.close();
    this.signal?.removeEventListener('abort', this.onAbort);
    this.kick();
  }

  private kick(): void {
    const w = this.wake;
    if (!w) { this.changed = true; return; }
    this.wake = null;
    this.changed = false;
    w();
  }
}
