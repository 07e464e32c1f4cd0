/**
 * Helpers for the build integration tests: write a context directory, send
 * it to `POST /build` as a tar, and read the classic builder's JSON stream
 * back into something a test can assert on.
 */
import { execFile } from 'node:child_process';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Daemon } from '../../helpers/daemon.js';

export type ContextFile = string | Buffer | { content: string | Buffer; mode?: number };

/** Writes files (paths relative to `dir`, parents created) with optional modes. */
export async function writeContext(dir: string, files: Record<string, ContextFile>): Promise<void> {
  for (const [rel, f] of Object.entries(files)) {
    const path = join(dir, rel);
    await mkdir(dirname(path), { recursive: true });
    const content = typeof f === 'string' || Buffer.isBuffer(f) ? f : f.content;
    await writeFile(path, content);
    const mode = typeof f === 'object' && !Buffer.isBuffer(f) ? f.mode : undefined;
    if (mode !== undefined) await chmod(path, mode);
  }
}

export function run(file: string, args: string[], opts: { cwd?: string } = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd: opts.cwd, encoding: 'buffer', maxBuffer: 256 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${[file, ...args].join(' ')}: ${stderr.toString() || err.message}`));
      else resolve(stdout);
    });
  });
}

/** The context as the docker CLI would send it: an uncompressed tar of the directory. */
export function tarOf(dir: string): Promise<Buffer> {
  return run('tar', ['-C', dir, '--numeric-owner', '-cf', '-', '.']);
}

export interface BuildOutcome {
  /** HTTP status of `POST /build`. */
  status: number;
  /** Every JSON message of the stream. */
  messages: Record<string, any>[];
  /** The `stream` texts joined: what `docker build` prints. */
  text: string;
  imageId?: string;
  /** The stream's error message, or the HTTP error's message. */
  error?: string;
  errorCode?: number;
  /** `{"aux":{"cacheMiss":…}}` payloads, in order. */
  misses: Record<string, any>[];
}

/** `POST /build` with the directory as context; `query` values may repeat (`t`). */
export async function apiBuild(d: Daemon, dir: string, query: Record<string, string | string[] | Record<string, string>> = {}): Promise<BuildOutcome> {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (Array.isArray(v)) for (const x of v) q.append(k, x);
    else if (typeof v === 'object') q.set(k, JSON.stringify(v));
    else q.set(k, v);
  }
  const res = await d.request('POST', `/build?${q}`, await tarOf(dir), {
    headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 300_000,
  });
  if (res.status !== 200) {
    let error = res.text;
    try { error = (JSON.parse(res.text) as { message: string }).message; } catch { /* not JSON */ }
    return { status: res.status, messages: [], text: '', error, misses: [] };
  }
  const messages = res.text.split(/\r?\n/).filter(Boolean).map((l) => JSON.parse(l) as Record<string, any>);
  const out: BuildOutcome = { status: res.status, messages, text: '', misses: [] };
  for (const m of messages) {
    if (typeof m.stream === 'string') out.text += m.stream;
    if (m.aux?.ID) out.imageId = m.aux.ID;
    if (m.aux?.cacheMiss) out.misses.push(m.aux.cacheMiss);
    if (m.error) {
      out.error = m.error;
      if (m.errorDetail?.code !== undefined) out.errorCode = m.errorDetail.code;
    }
  }
  return out;
}

export interface StepSummary { step: string; cached: boolean; miss?: string }

/** Each `Step N/M : …` of a build's text with whether it hit the cache and why it missed. */
export function steps(text: string): StepSummary[] {
  const out: StepSummary[] = [];
  for (const block of text.split(/^Step \d+\/\d+ : /m).slice(1)) {
    const [first, ...rest] = block.split('\n');
    const body = rest.join('\n');
    const miss = /^ ---> Cache miss: (.*)$/m.exec(body)?.[1];
    out.push({ step: first, cached: body.includes(' ---> Using cache'), ...(miss ? { miss } : {}) });
  }
  return out;
}

/** `{id, parent}` of every image (`docker images -a`). */
export async function allImages(d: Daemon): Promise<string[]> {
  const res = await d.request('GET', '/images/json?all=1');
  return (res.json<{ Id: string }[]>()).map((i) => i.Id).sort();
}

export async function inspectImage(d: Daemon, ref: string): Promise<Record<string, any>> {
  const res = await d.request('GET', `/images/${encodeURIComponent(ref)}/json`);
  if (res.status !== 200) throw new Error(`inspect ${ref}: ${res.status} ${res.text}`);
  return res.json();
}

/** Runs `argv` in a throwaway container of `image` (real docker CLI) and returns stdout; throws on failure. */
export async function runIn(d: Daemon, image: string, argv: string[], extra: string[] = []): Promise<string> {
  const r = await d.docker(['run', '--rm', ...extra, image, ...argv], { timeoutMs: 60_000 });
  if (r.code !== 0) throw new Error(`docker run ${image} ${argv.join(' ')}: exit ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/**
 * Runs a container of `image` through the API alone (create without a
 * `User`, start, wait, logs, remove): what the image's own config does,
 * whatever a client adds to the create request.
 */
export async function apiRun(d: Daemon, image: string, cmd?: string[]): Promise<{ code: number; stdout: string }> {
  const c = await d.request('POST', '/containers/create', { Image: image, ...(cmd ? { Cmd: cmd } : {}) });
  if (c.status !== 201) throw new Error(`create ${image}: ${c.status} ${c.text}`);
  const id = c.json<{ Id: string }>().Id;
  try {
    const started = await d.request('POST', `/containers/${id}/start`);
    if (started.status !== 204) throw new Error(`start: ${started.status} ${started.text}`);
    const w = await d.request('POST', `/containers/${id}/wait`, undefined, { timeoutMs: 60_000 });
    const code = w.json<{ StatusCode: number }>().StatusCode;
    const logs = await d.request('GET', `/containers/${id}/logs?stdout=1&stderr=1`);
    let stdout = '';
    for (let i = 0; i + 8 <= logs.body.length;) {
      const n = logs.body.readUInt32BE(i + 4);
      if (logs.body[i] === 1) stdout += logs.body.subarray(i + 8, i + 8 + n).toString('utf8');
      i += 8 + n;
    }
    return { code, stdout };
  } finally {
    await d.request('DELETE', `/containers/${id}?force=1&v=1`);
  }
}
