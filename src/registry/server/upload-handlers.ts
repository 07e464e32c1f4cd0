/**
 * Blob uploads (OCI distribution spec v1.1 §"Pushing blobs"):
 *
 * - POST `uploads/` (end-4a): a session, 202 + `Location`, `Range: 0-0`,
 *   `Docker-Upload-UUID`.
 * - POST `uploads/?digest=D` + body (end-4b): single-request monolithic upload,
 *   201. (docker-registry 2.8.2 ignores the body and opens a session; the spec
 *   allows that, berth does the upload.) Without a body it opens a session too.
 * - POST `uploads/?mount=D&from=R` (end-11): 201 when R holds D, else a
 *   normal 202 session (spec: "SHOULD return a 202").
 * - PATCH (end-5): one chunk, 202; `Content-Range` checked, 416 on a gap.
 * - PUT `?digest=D` (end-6): optional final chunk, digest verified, 201.
 * - GET (end-13): 204 + `Range`. DELETE: cancel, 204.
 *
 * `Location`s are relative (spec: "MAY be relative"); Docker and
 * containers/image resolve them against the request URL.
 */
import type { RegistryContext } from './context.js';
import type { Exchange } from './exchange.js';
import { DistributionError } from './errors.js';
import { isValidRepositoryName, parseDigest, type Digest } from './names.js';
import { parseChunkRange, uploadRangeHeader, type ChunkRange } from './ranges.js';
import type { UploadState } from './upload-store.js';

/** sha256 of zero bytes: a monolithic upload of it needs no body. */
const EMPTY_DIGEST = 'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/**
 * The session URL. It carries a query (`_state`, the name docker-registry
 * uses for its signed state) only so that clients which append `&digest=…`
 * to the Location, as scripts written against docker-registry do, still form
 * a valid URL; berth keeps the state on disk and ignores the value.
 */
const uploadLocation = (name: string, state: UploadState) => `/v2/${name}/blobs/uploads/${state.uuid}?_state=${state.size}`;
const blobLocation = (name: string, d: Digest) => `/v2/${name}/blobs/${d.value}`;

function sessionHeaders(name: string, state: UploadState): Record<string, string> {
  return {
    Location: uploadLocation(name, state),
    Range: uploadRangeHeader(state.size),
    'Docker-Upload-UUID': state.uuid,
  };
}

function created(ex: Exchange, name: string, d: Digest): void {
  ex.empty(201, { Location: blobLocation(name, d), 'Docker-Content-Digest': d.value });
}

function chunkRange(ex: Exchange): ChunkRange | null {
  const header = ex.req.headers['content-range'];
  if (header === undefined) return null;
  const range = parseChunkRange(header);
  if (!range) {
    throw new DistributionError('BLOB_UPLOAD_INVALID', { message: `invalid Content-Range: ${header}`, detail: { contentRange: header } });
  }
  return range;
}

export async function startUpload(ctx: RegistryContext, ex: Exchange, name: string): Promise<void> {
  const q = ex.url.searchParams;
  const mount = q.get('mount');
  if (mount) {
    const d = parseDigest(mount);
    const from = q.get('from');
    if (from && isValidRepositoryName(from) && (await ctx.repos.hasLayer(from, d)) && (await ctx.blobs.size(d)) !== undefined) {
      await ctx.repos.linkLayer(name, d);
      created(ex, name, d);
      return;
    }
  } else if (q.get('digest')) {
    const d = parseDigest(q.get('digest')!);
    if (ex.hasBody() || d.value === EMPTY_DIGEST) {
      const state = await ctx.uploads.create(name);
      try {
        await ctx.uploads.complete(name, state.uuid, d, ex.req, null);
      } catch (err) {
        // The client never saw this session: do not leave it for the sweep.
        await ctx.uploads.cancel(name, state.uuid).catch(() => undefined);
        throw err;
      }
      await ctx.repos.linkLayer(name, d);
      created(ex, name, d);
      return;
    }
  }
  const state = await ctx.uploads.create(name);
  ex.empty(202, sessionHeaders(name, state));
}

export async function uploadStatus(ctx: RegistryContext, ex: Exchange, name: string, uuid: string): Promise<void> {
  const state = await ctx.uploads.get(name, uuid);
  ex.empty(204, sessionHeaders(name, state));
}

export async function patchUpload(ctx: RegistryContext, ex: Exchange, name: string, uuid: string): Promise<void> {
  const state = await ctx.uploads.append(name, uuid, ex.req, chunkRange(ex));
  ex.empty(202, sessionHeaders(name, state));
}

export async function putUpload(ctx: RegistryContext, ex: Exchange, name: string, uuid: string): Promise<void> {
  const digestParam = ex.url.searchParams.get('digest');
  if (!digestParam) throw new DistributionError('DIGEST_INVALID', { message: 'digest parameter missing' });
  const d = parseDigest(digestParam);
  await ctx.uploads.complete(name, uuid, d, ex.hasBody() ? ex.req : null, ex.hasBody() ? chunkRange(ex) : null);
  await ctx.repos.linkLayer(name, d);
  created(ex, name, d);
}

export async function cancelUpload(ctx: RegistryContext, ex: Exchange, name: string, uuid: string): Promise<void> {
  await ctx.uploads.cancel(name, uuid);
  ex.empty(204);
}
