/**
 * berth's client for one registry: the distribution API calls a pull or a
 * push makes (OCI distribution spec v1.1 endpoints end-1 … end-11, Docker's
 * behaviour as recorded in the fact sheet §4.1), each checked the way Docker
 * checks it:
 *
 * - manifests are always asked for with every type berth handles in
 *   `Accept` (`media-types.ts`); manifests fetched by digest are hashed and
 *   compared with the digest, and by tag with `Docker-Content-Digest`;
 * - blobs are streamed (redirects to object storage followed, `Range` for
 *   resuming); the caller verifies them with `verify.ts` before committing;
 * - errors are berth's typed errors in Docker's words (`registry-errors.ts`),
 *   e.g. `manifest for busybox:nosuch not found: manifest unknown: manifest
 *   unknown`.
 *
 * Authentication, scheme fallback and retries live in `session.ts`; the push
 * of one blob in `blob-upload.ts`.
 */
import { Readable, Transform } from 'node:stream';
import { NotFoundError, SystemError } from '../../errors.js';
import { familiarString } from '../../image/reference.js';
import type { RegistryCredentials } from './auth.js';
import { digestOf, isDigest, parseDigest } from './digest.js';
import { domainOf, type RegistryEndpoint } from './endpoint.js';
import { nextLink } from './link-header.js';
import { MANIFEST_ACCEPT, bareMediaType, manifestMediaType } from './media-types.js';
import { errorFromResponse, registryErrorCode, type RegistryResponseError } from './registry-errors.js';
import { repositoryScope } from './scope.js';
import { RegistrySession, type SessionOptions } from './session.js';
import { discard, header, readBody, redact, streamBody, type HttpResponse } from './transport.js';
import { uploadBlob, type UploadOptions } from './blob-upload.js';

export { endpointFor, type RegistryEndpoint } from './endpoint.js';
export type { RegistryCredentials } from './auth.js';
export type { UploadOptions } from './blob-upload.js';

/** Manifests larger than this are refused (the spec's minimum registries must accept; moby uses the same cap). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;
const MAX_TAG_PAGES = 10_000;

export type ClientOptions = SessionOptions;

export interface Manifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface ManifestHead {
  digest: string;
  mediaType: string;
  size: number;
}

async function errorBody(res: HttpResponse): Promise<Buffer | undefined> {
  if (res.method === 'HEAD') {
    discard(res);
    return undefined;
  }
  return readBody(res, MAX_ERROR_BODY).catch(() => undefined);
}

async function failure(res: HttpResponse, prefix?: string): Promise<Error> {
  return errorFromResponse(res.status, res.statusText, await errorBody(res), `${res.method} ${redact(res.url)}`, prefix);
}

export class RegistryClient {
  private readonly session: RegistrySession;

  constructor(
    readonly endpoint: RegistryEndpoint,
    creds?: RegistryCredentials,
    opts?: ClientOptions,
  ) {
    this.session = new RegistrySession(endpoint, creds ?? {}, opts ?? {});
  }

  /**
   * A refresh token the registry's token server issued during {@link ping}
   * with a username and password (`offline_token=true`). `docker login`
   * stores such a token as `identitytoken` instead of the password.
   */
  get identityToken(): string | undefined {
    return this.session.auth.refreshToken;
  }

  /**
   * `GET /v2/` with the client's credentials (`docker login` checks them this
   * way). Resolves when the registry accepts them (or needs none);
   * UnauthorizedError when it refuses them.
   */
  async ping(): Promise<void> {
    const res = await this.session.call({ method: 'GET', target: '/v2/', scopes: [], idempotent: true, offline: true });
    if (res.status === 200) {
      discard(res);
      return;
    }
    throw await failure(res);
  }

  /** The familiar reference Docker names in messages: `busybox:latest`, `127.0.0.1:5000/a/b@sha256:…`. */
  private familiar(repo: string, reference: string): string {
    const domain = domainOf(this.endpoint);
    return familiarString(isDigest(reference) ? { domain, path: repo, digest: reference } : { domain, path: repo, tag: reference });
  }

  /** A failed manifest request in the words `docker pull` uses. */
  private async manifestFailure(res: HttpResponse, repo: string, reference: string): Promise<Error> {
    let body = await errorBody(res);
    if (res.status === 404 && !body?.length) body = Buffer.from(JSON.stringify({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }));
    const err = errorFromResponse(res.status, res.statusText, body, `${res.method} ${redact(res.url)}`);
    const cause = err.cause as RegistryResponseError;
    switch (registryErrorCode(err)) {
      case 'MANIFEST_UNKNOWN':
        return new NotFoundError(`manifest for ${this.familiar(repo, reference)} not found: ${err.message}`, { cause });
      case 'NAME_UNKNOWN':
        return new NotFoundError(`repository ${this.familiar(repo, 'latest').replace(/:latest$/, '')} not found: ${err.message}`, { cause });
      case 'DENIED': {
        const name = this.familiar(repo, 'latest').replace(/:latest$/, '');
        return new NotFoundError(`pull access denied for ${name}, repository does not exist or may require 'docker login': ${err.message}`, { cause });
      }
      default:
        return err;
    }
  }

  async getManifest(repo: string, reference: string, accept: readonly string[] = MANIFEST_ACCEPT): Promise<Manifest> {
    const byDigest = isDigest(reference);
    const res = await this.session.call({
      method: 'GET', target: `/v2/${repo}/manifests/${reference}`, scopes: [repositoryScope(repo, 'pull')],
      headers: { Accept: accept.join(', ') }, idempotent: true, followRedirects: true,
    });
    if (res.status !== 200) throw await this.manifestFailure(res, repo, reference);
    const declared = Number(header(res, 'content-length'));
    if (declared > MAX_MANIFEST_BYTES) {
      discard(res);
      throw new SystemError(`manifest for ${this.familiar(repo, reference)} is too large (${declared} bytes)`);
    }
    const bytes = await readBody(res, MAX_MANIFEST_BYTES);
    const mediaType = manifestMediaType(bareMediaType(res.headers['content-type']), bytes);
    // Docker's check: content fetched by digest must hash to it (moby: "manifest verification failed for digest").
    const expected = byDigest ? reference : header(res, 'docker-content-digest');
    let digest = digestOf(bytes);
    if (expected && isDigest(expected)) {
      const actual = digestOf(bytes, parseDigest(expected).algorithm);
      if (actual !== expected) {
        throw new SystemError(`manifest verification failed for digest ${expected}: content of ${this.familiar(repo, reference)} has digest ${actual}`);
      }
      if (byDigest) digest = expected;
    }
    return { bytes, mediaType, digest };
  }

  /**
   * `HEAD` of a manifest (dockerd starts a pull with it): null when the
   * registry has no such manifest. A registry that leaves out
   * `Docker-Content-Digest` or `Content-Type` is asked with a GET instead.
   */
  async headManifest(repo: string, reference: string, accept: readonly string[] = MANIFEST_ACCEPT): Promise<ManifestHead | null> {
    const res = await this.session.call({
      method: 'HEAD', target: `/v2/${repo}/manifests/${reference}`, scopes: [repositoryScope(repo, 'pull')],
      headers: { Accept: accept.join(', ') }, idempotent: true, followRedirects: true,
    });
    discard(res);
    if (res.status === 404) return null;
    if (res.status !== 200) throw await this.manifestFailure(res, repo, reference);
    const digest = header(res, 'docker-content-digest');
    const mediaType = bareMediaType(res.headers['content-type']);
    const size = Number(header(res, 'content-length'));
    if (digest && isDigest(digest) && mediaType && mediaType !== 'application/json' && Number.isSafeInteger(size)) {
      return { digest, mediaType, size };
    }
    try {
      const m = await this.getManifest(repo, reference, accept);
      return { digest: m.digest, mediaType: m.mediaType, size: m.bytes.length };
    } catch (err) {
      if (err instanceof NotFoundError) return null;
      throw err;
    }
  }

  /**
   * The blob's bytes as a stream, from `offset` when given (`Range:
   * bytes=offset-`, to resume an interrupted download). A registry that
   * ignores the range (200) has the skipped bytes dropped here. Verify the
   * result with `verifyingStream` before using it.
   */
  async getBlob(repo: string, digest: string, opts: { offset?: number } = {}): Promise<Readable> {
    parseDigest(digest);
    const offset = opts.offset ?? 0;
    if (!Number.isSafeInteger(offset) || offset < 0) throw new SystemError(`invalid blob offset ${offset}`);
    const res = await this.session.call({
      method: 'GET', target: `/v2/${repo}/blobs/${digest}`, scopes: [repositoryScope(repo, 'pull')],
      headers: offset > 0 ? { Range: `bytes=${offset}-` } : {}, idempotent: true, followRedirects: true,
    });
    if (res.status === 206 && offset > 0) {
      const start = /^bytes\s+([0-9]+)-/.exec(header(res, 'content-range') ?? '')?.[1];
      if (start !== undefined && Number(start) !== offset) {
        discard(res);
        throw new SystemError(`${res.method} ${redact(res.url)}: asked for bytes from ${offset}, got a range from ${start}`);
      }
      return streamBody(res);
    }
    if (res.status === 200) {
      const body = streamBody(res);
      return offset > 0 ? body.pipe(skipBytes(offset, body)) : body;
    }
    throw await failure(res);
  }

  async blobExists(repo: string, digest: string): Promise<boolean> {
    parseDigest(digest);
    const res = await this.session.call({
      method: 'HEAD', target: `/v2/${repo}/blobs/${digest}`, scopes: [repositoryScope(repo, 'pull')],
      idempotent: true, followRedirects: true,
    });
    discard(res);
    if (res.status === 200) return true;
    if (res.status === 404) return false;
    throw await failure(res);
  }

  /**
   * Cross-repository mount (end-11): true when the registry linked the blob
   * (201). A registry that cannot mount answers 202 with an upload session,
   * which is cancelled here; the caller then uploads.
   */
  async mountBlob(repo: string, digest: string, fromRepo: string): Promise<boolean> {
    parseDigest(digest);
    const scopes = [repositoryScope(repo, 'pull', 'push'), repositoryScope(fromRepo, 'pull')];
    const q = new URLSearchParams({ mount: digest, from: fromRepo });
    const res = await this.session.call({ method: 'POST', target: `/v2/${repo}/blobs/uploads/?${q}`, scopes });
    if (res.status === 201) {
      discard(res);
      return true;
    }
    if (res.status !== 202) throw await failure(res);
    discard(res);
    const loc = header(res, 'location');
    if (loc) {
      const cancel = await this.session.call({ method: 'DELETE', target: new URL(loc, res.url), scopes }).catch(() => undefined);
      if (cancel) discard(cancel);
    }
    return false;
  }

  /** Pushes one blob; `body` is called again when a request has to be repeated. See `blob-upload.ts`. */
  uploadBlob(repo: string, digest: string, size: number, body: () => Readable, opts?: UploadOptions): Promise<void> {
    return uploadBlob(this.session, repo, digest, size, body, opts);
  }

  /** PUT of the exact bytes with `Content-Type` = their media type (end-7); resolves to their digest. */
  async putManifest(repo: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    const digest = isDigest(reference) ? reference : digestOf(bytes);
    if (isDigest(reference) && digestOf(bytes, parseDigest(reference).algorithm) !== reference) {
      throw new SystemError(`manifest bytes do not match the digest ${reference}`);
    }
    const res = await this.session.call({
      method: 'PUT', target: `/v2/${repo}/manifests/${reference}`, scopes: [repositoryScope(repo, 'pull', 'push')],
      headers: { 'Content-Type': mediaType }, body: bytes, idempotent: true,
    });
    if (res.status < 200 || res.status >= 300) throw await failure(res);
    discard(res);
    const stored = header(res, 'docker-content-digest');
    if (stored && isDigest(stored) && parseDigest(stored).algorithm === parseDigest(digest).algorithm && stored !== digest) {
      throw new SystemError(`${res.method} ${redact(res.url)}: registry stored digest ${stored}, expected ${digest}`);
    }
    return digest;
  }

  /**
   * Every tag of `repo`, following `Link: rel="next"` pages. `pageSize` asks
   * for pages of that many (`?n=`); registries may ignore it
   * (docker-registry 2.8.2 does for tags).
   */
  async listTags(repo: string, opts: { pageSize?: number } = {}): Promise<string[]> {
    const tags: string[] = [];
    const seen = new Set<string>();
    let target: string | URL = `/v2/${repo}/tags/list${opts.pageSize ? `?n=${opts.pageSize}` : ''}`;
    for (let page = 0; page < MAX_TAG_PAGES; page++) {
      const res = await this.session.call({
        method: 'GET', target, scopes: [repositoryScope(repo, 'pull')], idempotent: true, followRedirects: true,
      });
      if (res.status !== 200) throw await failure(res);
      const body = await readBody(res, 16 << 20);
      let doc: { tags?: unknown };
      try {
        doc = JSON.parse(body.toString('utf8')) as { tags?: unknown };
      } catch {
        throw new SystemError(`${res.method} ${redact(res.url)}: invalid tag list`);
      }
      if (Array.isArray(doc.tags)) tags.push(...doc.tags.filter((t): t is string => typeof t === 'string'));
      const next = nextLink(res.headers.link, res.url);
      if (!next || seen.has(next.href)) return tags;
      seen.add(next.href);
      target = next;
    }
    throw new SystemError(`tag list of ${repo} has more than ${MAX_TAG_PAGES} pages`);
  }

  /** Closes pooled connections. */
  close(): void {
    this.session.close();
  }
}

/** Drops the first `n` bytes (a registry that answered a ranged GET with the whole blob). */
function skipBytes(n: number, source: Readable): Transform {
  let left = n;
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (left >= chunk.length) {
        left -= chunk.length;
        done();
        return;
      }
      const out = left > 0 ? chunk.subarray(left) : chunk;
      left = 0;
      done(null, out);
    },
  });
  source.on('error', (err) => t.destroy(err));
  t.on('close', () => {
    if (!source.readableEnded) source.destroy();
  });
  return t;
}
