/**
 * JSON message streams — pull, push, build, load, import progress
 * (`pkg/jsonmessage`): a sequence of JSON objects with `status`, `id`,
 * `progressDetail`, `stream`, `aux`, `error`/`errorDetail`. Rendered like
 * Docker's DisplayJSONMessagesStream: on a terminal each layer id keeps its
 * own line, updated in place with cursor movements and a progress bar; off a
 * terminal, progress updates are dropped and everything else is plain lines.
 * An `error` message ends the display with that error, so the command exits
 * non-zero (build uses its code as the exit status).
 */
import type { Readable } from 'node:stream';
import type { OutStream } from '../context.js';
import { humanSize } from '../format/units.js';
import { rfc3339NanoFixed } from '../format/time.js';
import { formatGoDuration } from '../opts/units.js';

export interface ProgressDetail {
  current?: number;
  total?: number;
  start?: number;
  units?: string;
  hidecounts?: boolean;
}

export interface JsonMessage {
  stream?: string;
  status?: string;
  progressDetail?: ProgressDetail;
  /** Pre-rendered progress (deprecated `ProgressMessage`). */
  progress?: string;
  id?: string;
  from?: string;
  time?: number;
  timeNano?: number;
  errorDetail?: { code?: number; message?: string };
  error?: string;
  aux?: unknown;
}

/** An `error` message from the daemon; `code` is used as exit status by build. */
export class JsonStreamError extends Error {
  readonly code: number;
  constructor(message: string, code = 0) {
    super(message);
    this.name = 'JsonStreamError';
    this.code = code;
  }
}

/**
 * Splits a byte stream into top-level JSON values (objects may span chunks
 * and be separated by any whitespace, `\r\n` included — json.Decoder's rule).
 */
export class JsonValueSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;
  private scanned = 0;

  push(chunk: string): unknown[] {
    this.buf += chunk;
    const values: unknown[] = [];
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') { this.inString = true; if (this.start < 0) this.start = i; continue; }
      if (c === '{' || c === '[') {
        if (this.depth === 0) this.start = i;
        this.depth++;
      } else if (c === '}' || c === ']') {
        this.depth--;
        if (this.depth === 0) {
          values.push(JSON.parse(this.buf.slice(this.start, i + 1)));
          this.buf = this.buf.slice(i + 1);
          i = -1;
          this.start = -1;
        }
      } else if (this.depth === 0 && !/\s/.test(c)) {
        throw new Error(`invalid character '${c}' looking for beginning of value`);
      }
    }
    this.scanned = this.buf.length;
    return values;
  }

  /** Anything left that is not whitespace means the stream was cut mid-value. */
  end(): void {
    if (this.buf.trim() !== '') throw new Error('unexpected EOF');
  }
}

/** Iterates the JSON values of a response body. */
export async function* jsonValues(stream: Readable): AsyncGenerator<unknown> {
  const splitter = new JsonValueSplitter();
  stream.setEncoding('utf8');
  for await (const chunk of stream) {
    for (const v of splitter.push(chunk as string)) yield v;
  }
  splitter.end();
}

/** JSONProgress.String(): `[=====>     ]  1.2MB/3.4MB 2s`. */
export function progressString(p: ProgressDetail, termWidth: number, now = Date.now()): string {
  const current = p.current ?? 0;
  const total = p.total ?? 0;
  if (current <= 0 && total <= 0) return '';
  if (total <= 0) {
    return p.units ? `${current} ${p.units}` : humanSize(current).padStart(8);
  }
  let percentage = Math.trunc(Math.trunc((current / total) * 100) / 2);
  if (percentage > 50) percentage = 50;
  let bar = '';
  if (termWidth > 110) {
    bar = `[${'='.repeat(percentage)}>${' '.repeat(Math.max(0, 50 - percentage))}] `;
  }
  let numbers = '';
  if (!p.hidecounts) {
    if (!p.units) {
      numbers = `${humanSize(current).padStart(8)}/${humanSize(total)}`;
      if (current > total) numbers = humanSize(current).padStart(8);
    } else {
      numbers = `${current}/${total} ${p.units}`;
      if (current > total) numbers = `${current} ${p.units}`;
    }
  }
  let left = '';
  if (current > 0 && p.start && p.start > 0 && percentage < 50) {
    const fromStartNs = (now - p.start * 1000) * 1e6;
    const perEntry = fromStartNs / current;
    const leftNs = Math.trunc(((total - current) * perEntry) / 1e9) * 1e9;
    if (termWidth > 50) left = ` ${formatGoDuration(leftNs)}`;
  }
  return bar + numbers + left;
}

export interface DisplayOptions {
  isTerminal: boolean;
  /** Terminal width for the progress bar (Docker assumes 200 when it cannot tell). */
  width?: number;
  onAux?: (msg: JsonMessage) => void;
}

/** Writes one message; returns the error it carries, if any (JSONMessage.Display). */
function display(jm: JsonMessage, out: OutStream, opts: DisplayOptions): JsonStreamError | undefined {
  if (jm.error !== undefined || jm.errorDetail?.message) {
    return new JsonStreamError(jm.errorDetail?.message ?? jm.error ?? '', jm.errorDetail?.code ?? 0);
  }
  const progress = jm.progressDetail ? progressString(jm.progressDetail, opts.width ?? 200) : '';
  let endl = '';
  if (opts.isTerminal && !jm.stream && jm.progressDetail) {
    out.write('\x1b[2K\r');
    endl = '\r';
  } else if (progress !== '') {
    return undefined; // progress bars only on a terminal
  }
  let s = '';
  if (jm.timeNano) s += `${rfc3339NanoFixed(jm.timeNano)} `;
  else if (jm.time) s += `${rfc3339NanoFixed(jm.time * 1e9)} `;
  if (jm.id) s += `${jm.id}: `;
  if (jm.from) s += `(from ${jm.from}) `;
  if (jm.progressDetail && opts.isTerminal) s += `${jm.status ?? ''} ${progress}${endl}`;
  else if (jm.progress) s += `${jm.status ?? ''} ${jm.progress}${endl}`;
  else if (jm.stream) s += `${jm.stream}${endl}`;
  else s += `${jm.status ?? ''}${endl}\n`;
  out.write(s);
  return undefined;
}

/**
 * Renders a whole message stream (DisplayJSONMessagesStream) and throws
 * JsonStreamError when the daemon reported one.
 */
export async function displayJsonMessages(body: Readable, out: OutStream, opts: DisplayOptions): Promise<void> {
  const ids = new Map<string, number>();
  for await (const v of jsonValues(body)) {
    const jm = v as JsonMessage;
    if (jm.aux !== undefined) {
      opts.onAux?.(jm);
      continue;
    }
    let diff = 0;
    if (jm.id && (jm.progressDetail || jm.progress)) {
      let line = ids.get(jm.id);
      if (line === undefined) {
        // Each id gets its own line; a new one scrolls the block down by one.
        line = ids.size;
        ids.set(jm.id, line);
        if (opts.isTerminal) out.write('\n');
      }
      diff = ids.size - line;
      if (opts.isTerminal && diff > 0) out.write(`\x1b[${diff}A`);
    } else {
      // Lines without an id end the current block of progress lines.
      ids.clear();
    }
    const err = display(jm, out, opts);
    if (jm.id && opts.isTerminal && diff > 0) out.write(`\x1b[${diff}B`);
    if (err) throw err;
  }
}
