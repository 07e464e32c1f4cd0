/**
 * What a build fetches: `remote=` contexts (`git clone --depth 1` of a Git
 * URL, or a tarball / plain Dockerfile over HTTP) and ADD's URLs (with
 * `--checksum`). The one place that runs git; argv arrays, stderr in errors.
 *
 * Git URLs follow Docker's form `URL[#ref][:subdir]`: `https://…/repo.git`,
 * `git@host:repo`, `git://…`, or `github.com/owner/repo`.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { InvalidParameterError, SystemError, errorMessage } from '../errors.js';
import { unpackContext } from './context.js';
import { runCommand } from '../run-command.js';

/** Docker's `IsGitURL`. */
export function isGitUrl(s: string): boolean {
  if (/^git@|^git:\/\//.test(s)) return true;
  if (/^github\.com\//.test(s)) return true;
  return /^https?:\/\//.test(s) && /\.git(#|$)/.test(s);
}

export function parseGitUrl(s: string): { url: string; ref?: string; subdir?: string } {
  let url = s.startsWith('github.com/') ? `https://${s}` : s;
  let ref: string | undefined;
  let subdir: string | undefined;
  const hash = url.indexOf('#');
  if (hash >= 0) {
    const frag = url.slice(hash + 1);
    url = url.slice(0, hash);
    const colon = frag.indexOf(':');
    ref = (colon >= 0 ? frag.slice(0, colon) : frag) || undefined;
    subdir = colon >= 0 ? frag.slice(colon + 1) || undefined : undefined;
  }
  if (ref?.startsWith('-') || url.startsWith('-')) throw new InvalidParameterError(`invalid git URL: ${s}`);
  return { url, ...(ref ? { ref } : {}), ...(subdir ? { subdir } : {}) };
}

async function git(args: string[], cwd?: string): Promise<void> {
  await runCommand(['git', ...args], { cwd, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
}

/** Clones a Git context into `dir` (empty); returns the context directory (the subdir when one is named). */
export async function cloneGitContext(spec: string, dir: string): Promise<string> {
  const { url, ref, subdir } = parseGitUrl(spec);
  try {
    await git(['clone', '--depth', '1', '--recurse-submodules', '--shallow-submodules', ...(ref ? ['--branch', ref] : []), '--', url, dir]);
  } catch (e) {
    throw new SystemError(`unable to prepare context: unable to 'git clone' to temporary context directory: ${errorMessage(e)}`, { cause: e });
  }
  await rm(join(dir, '.git'), { recursive: true, force: true });
  if (!subdir) return dir;
  const clean = posix.normalize('/' + subdir).slice(1);
  return join(dir, clean);
}

async function fetchUrl(url: string, signal?: AbortSignal): Promise<Response> {
  let resp: Response;
  try {
    resp = await fetch(url, { signal, redirect: 'follow' });
  } catch (e) {
    throw new SystemError(`error downloading ${url}: ${errorMessage(e)}`, { cause: e });
  }
  if (!resp.ok || !resp.body) throw new SystemError(`error downloading ${url}: ${resp.status} ${resp.statusText}`);
  return resp;
}

/**
 * A `remote=` URL that is not Git: a tar (maybe gzip) becomes the context;
 * anything else is taken as the Dockerfile itself (`text/plain`, Docker's rule).
 */
export async function fetchRemoteContext(url: string, dir: string, dockerfileName: string): Promise<void> {
  const resp = await fetchUrl(url);
  const type = resp.headers.get('content-type') ?? '';
  const body = Readable.fromWeb(resp.body as import('node:stream/web').ReadableStream);
  if (type.startsWith('text/plain')) {
    const chunks: Buffer[] = [];
    for await (const c of body) chunks.push(c as Buffer);
    await writeFile(join(dir, posix.normalize('/' + dockerfileName).slice(1)), Buffer.concat(chunks));
    return;
  }
  await unpackContext(body, dir);
}

export interface Download {
  path: string;
  /** File name from the URL's last path component. */
  name: string;
  /** Last-Modified in seconds, or undefined. */
  mtime?: number;
  sha256: string;
}

/** Downloads an ADD URL into `dir`, checking `checksum` (`sha256:<hex>`) when given. */
export async function downloadUrl(url: string, dir: string, checksum: string | undefined, signal?: AbortSignal): Promise<Download> {
  let want: string | undefined;
  if (checksum !== undefined) {
    const m = /^sha256:([0-9a-f]{64})$/.exec(checksum);
    if (!m) throw new InvalidParameterError(`invalid checksum ${JSON.stringify(checksum)}: expected sha256:<64 hex digits>`);
    want = m[1];
  }
  const u = new URL(url);
  const name = posix.basename(decodeURIComponent(u.pathname));
  if (!name || name === '/' || name === '.' || name === '..') throw new InvalidParameterError(`cannot determine filename from url: ${url}`);
  const resp = await fetchUrl(url, signal);
  await mkdir(dir, { recursive: true });
  const part = join(dir, `download-${Date.now()}-${Math.random().toString(16).slice(2)}`);
  const h = createHash('sha256');
  const hasher = new Transform({ transform(chunk: Buffer, _e, cb) { h.update(chunk); cb(null, chunk); } });
  await pipeline(Readable.fromWeb(resp.body as import('node:stream/web').ReadableStream), hasher, createWriteStream(part, { mode: 0o600 }));
  const sha256 = h.digest('hex');
  if (want && want !== sha256) {
    await rm(part, { force: true });
    throw new InvalidParameterError(`digest mismatch for ${url}: expected sha256:${want}, got sha256:${sha256}`);
  }
  const final = `${part}.file`;
  await rename(part, final);
  const lm = resp.headers.get('last-modified');
  const t = lm ? Date.parse(lm) : NaN;
  return { path: final, name, sha256, ...(Number.isNaN(t) ? {} : { mtime: Math.floor(t / 1000) }) };
}
