/**
 * Blobs: GET/HEAD (end-2) and DELETE (end-10).
 *
 * A blob is served only when the repository links it, even though the bytes
 * are global, so one repository's content cannot be read through another's
 * name. Range requests give 206 (spec §"Pulling blobs": SHOULD support RFC 9110
 * ranges). DELETE removes the repository's link only; the bytes stay for
 * other repositories (space comes back only with a garbage collection,
 * `garbage-collect.ts`, as with docker-registry). A link whose blob is gone is
 * `BLOB_UNKNOWN` like no link at all, never a 200 without content.
 */
import type { RegistryContext } from './context.js';
import type { Exchange } from './exchange.js';
import { DistributionError } from './errors.js';
import { parseDigest } from './names.js';
import { resolveByteRange } from './ranges.js';

export async function getBlob(ctx: RegistryContext, ex: Exchange, name: string, digestParam: string): Promise<void> {
  const d = parseDigest(digestParam);
  const size = (await ctx.repos.hasLayer(name, d)) ? await ctx.blobs.size(d) : undefined;
  if (size === undefined) throw new DistributionError('BLOB_UNKNOWN', { detail: d.value });
  const headers: Record<string, string | number> = {
    'Content-Type': 'application/octet-stream',
    'Docker-Content-Digest': d.value,
    ETag: `"${d.value}"`,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'max-age=31536000',
  };
  const range = resolveByteRange(ex.req.headers.range, size);
  if (range.kind === 'unsatisfiable') {
    throw new DistributionError('UNSUPPORTED', {
      status: 416,
      message: 'requested range not satisfiable',
      detail: { size },
      headers: { 'Content-Range': `bytes */${size}` },
    });
  }
  if (range.kind === 'range') {
    await ex.stream(206, () => ctx.blobs.open(d, range), {
      ...headers,
      'Content-Range': `bytes ${range.start}-${range.end}/${size}`,
      'Content-Length': range.end - range.start + 1,
    });
    return;
  }
  await ex.stream(200, () => ctx.blobs.open(d), { ...headers, 'Content-Length': size });
}

export async function deleteBlob(ctx: RegistryContext, ex: Exchange, name: string, digestParam: string): Promise<void> {
  if (!ctx.deleteEnabled) throw new DistributionError('UNSUPPORTED', { message: 'deletion is disabled' });
  const d = parseDigest(digestParam);
  if (!(await ctx.repos.unlinkLayer(name, d))) throw new DistributionError('BLOB_UNKNOWN', { detail: d.value });
  ex.empty(202, { 'Docker-Content-Digest': d.value });
}
