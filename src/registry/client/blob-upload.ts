/**
 * Pushing one blob (OCI distribution spec v1.1 §"Pushing blobs"; fact sheet
 * §4.1):
 *
 * 1. Small blobs (≤ `monolithicMaxBytes`) first try the single-request
 *    monolithic upload, `POST uploads/?digest=D` with the body: 201 ends it.
 *    docker-registry 2.8.2 ignores such a body and answers 202 with a session
 *    (the spec allows it), so a 202 falls through to step 3 with that session.
 * 2. Otherwise `POST uploads/` opens a session: 202 + `Location`.
 * 3. The bytes go in one streamed `PATCH` (what dockerd sends), or, with
 *    `chunkSize`, in PATCHes of that size with `Content-Range: start-end`.
 *    Every answer's `Location` replaces the previous one (docker-registry
 *    signs the upload state into `_state`, so only the latest is valid).
 * 4. `PUT <Location>&digest=D` with no body closes it: 201.
 *
 * The outgoing bytes are hashed on the way (`verify.ts`): a source that does
 * not match its digest or size fails before the PUT commits anything. A
 * failed upload cancels its session (`DELETE <Location>`), best effort.
 */
import { PassThrough, Readable, pipeline } from 'node:stream';
import { SystemError } from '../../errors.js';
import { parseDigest } from './digest.js';
import { errorFromResponse } from './registry-errors.js';
import { repositoryScope } from './scope.js';
import type { RegistrySession } from './session.js';
import { discard, header, readBody, redact, type HttpResponse } from './transport.js';
import { verifyingStream } from './verify.js';

export interface UploadOptions {
  /** Send the blob in PATCHes of this many bytes (each buffered in memory). */
  chunkSize?: number;
  /** Called with the number of bytes sent so far. */
  onProgress?: (bytes: number) => void;
  /** Largest blob tried as a single monolithic POST first; 0 disables it. */
  monolithicMaxBytes?: number;
}

export const DEFAULT_MONOLITHIC_MAX_BYTES = 256 * 1024;
const MAX_ERROR_BODY = 64 * 1024;

async function failure(res: HttpResponse): Promise<Error> {
  const body = res.method === 'HEAD' ? undefined : await readBody(res, MAX_ERROR_BODY).catch(() => undefined);
  return errorFromResponse(res.status, res.statusText, body, `${res.method} ${redact(res.url)}`);
}

function nextLocation(res: HttpResponse, previous: URL): URL {
  const loc = header(res, 'location');
  if (!loc) throw new SystemError(`${res.method} ${redact(res.url)}: upload response without Location`);
  return new URL(loc, previous);
}

/** The source stream, checked against digest and size, reporting progress from `base`. */
function checkedSource(body: () => Readable, digest: string, size: number, base: number, onProgress?: (n: number) => void): Readable {
  const verify = verifyingStream(digest, size);
  if (onProgress) verify.on('data', () => onProgress(base + verify.bytes));
  const out = new PassThrough();
  pipeline(body(), verify, out, () => undefined);
  return out;
}

export async function uploadBlob(
  s: RegistrySession,
  repo: string,
  digest: string,
  size: number,
  body: () => Readable,
  opts: UploadOptions = {},
): Promise<void> {
  parseDigest(digest);
  const scopes = [repositoryScope(repo, 'pull', 'push')];
  const uploads = `/v2/${repo}/blobs/uploads/`;
  let location: URL;

  const monolithicMax = opts.monolithicMaxBytes ?? DEFAULT_MONOLITHIC_MAX_BYTES;
  if (size <= monolithicMax && !opts.chunkSize) {
    const res = await s.call({
      method: 'POST', target: `${uploads}?digest=${encodeURIComponent(digest)}`, scopes,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
      body: () => checkedSource(body, digest, size, 0),
    });
    if (res.status === 201) {
      discard(res);
      checkCommitted(res, digest);
      opts.onProgress?.(size);
      return;
    }
    if (res.status !== 202) throw await failure(res);
    discard(res);
    location = nextLocation(res, res.url);
  } else {
    const res = await s.call({ method: 'POST', target: uploads, scopes });
    if (res.status !== 202) throw await failure(res);
    discard(res);
    location = nextLocation(res, res.url);
  }

  try {
    if (size > 0) {
      location = opts.chunkSize
        ? await patchChunks(s, location, scopes, body, digest, size, opts.chunkSize, opts.onProgress)
        : await patchStream(s, location, scopes, body, digest, size, opts.onProgress);
    }
    const put = new URL(location);
    put.searchParams.set('digest', digest);
    const res = await s.call({ method: 'PUT', target: put, scopes, headers: { 'Content-Length': '0' } });
    if (res.status !== 201) throw await failure(res);
    discard(res);
    checkCommitted(res, digest);
    if (size === 0) opts.onProgress?.(0);
  } catch (err) {
    await cancel(s, location, scopes);
    throw err;
  }
}

function checkCommitted(res: HttpResponse, digest: string): void {
  const got = header(res, 'docker-content-digest');
  if (got && got !== digest) {
    throw new SystemError(`${res.method} ${redact(res.url)}: registry stored digest ${got}, expected ${digest}`);
  }
}

async function patchStream(
  s: RegistrySession, location: URL, scopes: ReturnType<typeof repositoryScope>[], body: () => Readable,
  digest: string, size: number, onProgress?: (n: number) => void,
): Promise<URL> {
  const res = await s.call({
    method: 'PATCH', target: location, scopes,
    headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(size) },
    body: () => checkedSource(body, digest, size, 0, onProgress),
  });
  if (res.status !== 202 && res.status !== 204) throw await failure(res);
  discard(res);
  return nextLocation(res, location);
}

async function patchChunks(
  s: RegistrySession, location: URL, scopes: ReturnType<typeof repositoryScope>[], body: () => Readable,
  digest: string, size: number, chunkSize: number, onProgress?: (n: number) => void,
): Promise<URL> {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new SystemError(`invalid upload chunk size ${chunkSize}`);
  let offset = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    const chunk = Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    const end = offset + chunk.length - 1;
    const res = await s.call({
      method: 'PATCH', target: location, scopes, body: chunk,
      headers: { 'Content-Type': 'application/octet-stream', 'Content-Range': `${offset}-${end}` },
    });
    if (res.status !== 202 && res.status !== 204) throw await failure(res);
    discard(res);
    const range = header(res, 'range');
    if (range && range !== `0-${end}`) {
      throw new SystemError(`${res.method} ${redact(res.url)}: registry holds ${range} after chunk ${offset}-${end}`);
    }
    location = nextLocation(res, location);
    offset = end + 1;
    onProgress?.(offset);
  };
  const source = body();
  const verify = verifyingStream(digest, size);
  const checked = source.pipe(verify);
  source.on('error', (err) => verify.destroy(err));
  try {
    for await (const data of checked as AsyncIterable<Buffer>) {
      let rest = data;
      while (rest.length) {
        const take = Math.min(rest.length, chunkSize - pendingBytes);
        pending.push(rest.subarray(0, take));
        pendingBytes += take;
        rest = rest.subarray(take);
        if (pendingBytes === chunkSize) await flush();
      }
    }
    if (pendingBytes) await flush();
  } finally {
    source.destroy();
  }
  return location;
}

async function cancel(s: RegistrySession, location: URL, scopes: ReturnType<typeof repositoryScope>[]): Promise<void> {
  try {
    const res = await s.call({ method: 'DELETE', target: location, scopes });
    discard(res);
  } catch {
    // The session expires on the registry anyway (docker-registry purges stale uploads).
  }
}
