/**
 * Manifests: GET/HEAD (end-3), PUT (end-7), DELETE (end-9).
 *
 * PUT stores the exact bytes as a global blob and records a revision (digest,
 * media type, size, referrers data) in the repository, then moves the tag.
 * Before anything is written it checks, per the spec's §"Push":
 * - the body against its `Content-Type` (`manifest.ts`);
 * - a PUT by digest against the bytes ("MUST be equal to the client provided
 *   digest" → `DIGEST_INVALID`);
 * - every `config`/`layers` descriptor is a blob of the repository and every
 *   index entry a manifest of it, with the size the descriptor says; missing
 *   ones are each reported as `MANIFEST_BLOB_UNKNOWN` (detail = the digest, as
 *   docker-registry writes it). `subject` is not checked: the spec requires
 *   accepting a subject that does not exist yet.
 * The response carries `OCI-Subject` when a subject was recorded, which tells
 * clients the referrers API is maintained here (spec §"Pushing Manifests with
 * Subject").
 *
 * GET serves the stored bytes and type whatever the `Accept` header says;
 * docker-registry's fallback of a manifest list to its linux/amd64 child for
 * old clients is not reproduced.
 *
 * DELETE takes a digest (drops the revision and every tag on it) or, as OCI
 * 1.1 allows (§"Deleting tags"), a tag (drops only the tag). docker-registry
 * 2.8.2 refuses the tag form with `DIGEST_INVALID`.
 */
import type { RegistryContext } from './context.js';
import type { Exchange } from './exchange.js';
import { DistributionError, type DistributionErrorBody } from './errors.js';
import { hashBytes, parseDigest, parseManifestReference, type Digest } from './names.js';
import { MAX_MANIFEST_BYTES, isExternalLayer, parseManifest, type Descriptor } from './manifest.js';
import type { RevisionInfo } from './repository-store.js';

async function resolve(ctx: RegistryContext, name: string, reference: string): Promise<{ d: Digest; info: RevisionInfo }> {
  const ref = parseManifestReference(reference);
  const d = ref.kind === 'digest' ? ref.digest : await ctx.repos.resolveTag(name, ref.tag);
  const info = d ? await ctx.repos.getRevision(name, d) : undefined;
  if (!d || !info) {
    if (!(await ctx.repos.exists(name))) throw new DistributionError('NAME_UNKNOWN', { detail: { name } });
    throw new DistributionError('MANIFEST_UNKNOWN', { detail: ref.kind === 'tag' ? { tag: ref.tag } : { digest: reference } });
  }
  return { d, info };
}

export async function getManifest(ctx: RegistryContext, ex: Exchange, name: string, reference: string): Promise<void> {
  const { d, info } = await resolve(ctx, name, reference);
  // The revision alone would answer HEAD: a manifest whose bytes are gone must be unknown, never a 200.
  if ((await ctx.blobs.size(d)) === undefined) throw new DistributionError('MANIFEST_UNKNOWN', { detail: { digest: d.value } });
  const headers = { 'Content-Type': info.mediaType, 'Docker-Content-Digest': d.value, ETag: `"${d.value}"` };
  if (ex.method === 'HEAD') {
    ex.res.writeHead(200, { ...headers, 'Content-Length': info.size });
    ex.res.end();
    return;
  }
  ex.bytes(200, await ctx.blobs.readAll(d), headers);
}

/** Each descriptor that names content the repository does not have, or has at another size. */
async function checkReferences(ctx: RegistryContext, name: string, blobs: Descriptor[], manifests: Descriptor[]): Promise<void> {
  const missing: DistributionErrorBody[] = [];
  const unknown = (desc: Descriptor) =>
    missing.push({ code: 'MANIFEST_BLOB_UNKNOWN', message: 'blob unknown to registry', detail: desc.digest });
  const wrongSize = (desc: Descriptor, actual: number) => {
    throw new DistributionError('MANIFEST_INVALID', {
      message: `descriptor ${desc.digest} says ${desc.size} bytes, the registry holds ${actual}`,
      detail: { digest: desc.digest, size: desc.size, actual },
    });
  };
  for (const desc of blobs) {
    if (isExternalLayer(desc)) continue;
    let d: Digest;
    try { d = parseDigest(desc.digest); } catch { unknown(desc); continue; }
    const size = (await ctx.repos.hasLayer(name, d)) ? await ctx.blobs.size(d) : undefined;
    if (size === undefined) unknown(desc);
    else if (size !== desc.size) wrongSize(desc, size);
  }
  for (const desc of manifests) {
    let d: Digest;
    try { d = parseDigest(desc.digest); } catch { unknown(desc); continue; }
    const info = await ctx.repos.getRevision(name, d);
    if (!info) unknown(desc);
    else if (info.size !== desc.size) wrongSize(desc, info.size);
  }
  if (missing.length > 0) {
    const [first, ...more] = missing;
    throw new DistributionError('MANIFEST_BLOB_UNKNOWN', { message: first.message, detail: first.detail, more });
  }
}

export async function putManifest(ctx: RegistryContext, ex: Exchange, name: string, reference: string): Promise<void> {
  const ref = parseManifestReference(reference);
  const bytes = await ex.readBody(MAX_MANIFEST_BYTES, 'MANIFEST_INVALID');
  const parsed = parseManifest(bytes, ex.req.headers['content-type']);
  // Stored under the reference's algorithm when it is a digest (the client chose it), else sha256.
  const d = hashBytes(ref.kind === 'digest' ? ref.digest.algorithm : 'sha256', bytes);
  if (ref.kind === 'digest' && ref.digest.value !== d.value) {
    throw new DistributionError('DIGEST_INVALID', {
      message: 'manifest digest does not match the reference',
      detail: { expected: ref.digest.value, actual: d.value },
    });
  }
  await checkReferences(ctx, name, parsed.blobs, parsed.manifests);

  const info: RevisionInfo = { digest: d.value, mediaType: parsed.mediaType, size: bytes.length };
  if (parsed.subject) {
    info.subject = parsed.subject.digest;
    if (parsed.artifactType) info.artifactType = parsed.artifactType;
    if (parsed.annotations) info.annotations = parsed.annotations;
  }
  await ctx.blobs.putBytes(d, bytes);
  await ctx.repos.putRevision(name, info);
  if (ref.kind === 'tag') await ctx.repos.setTag(name, ref.tag, d);

  const headers: Record<string, string> = { Location: `/v2/${name}/manifests/${d.value}`, 'Docker-Content-Digest': d.value };
  if (parsed.subject) headers['OCI-Subject'] = parsed.subject.digest;
  ex.empty(201, headers);
}

export async function deleteManifest(ctx: RegistryContext, ex: Exchange, name: string, reference: string): Promise<void> {
  if (!ctx.deleteEnabled) throw new DistributionError('UNSUPPORTED', { message: 'deletion is disabled' });
  const ref = parseManifestReference(reference);
  if (ref.kind === 'tag') {
    if (!(await ctx.repos.deleteTag(name, ref.tag))) throw new DistributionError('MANIFEST_UNKNOWN', { detail: { tag: ref.tag } });
    ex.empty(202);
    return;
  }
  const d = ref.digest;
  if (!(await ctx.repos.getRevision(name, d))) throw new DistributionError('MANIFEST_UNKNOWN', { detail: { digest: d.value } });
  // Tags first: a crash in between leaves a revision still reachable by digest, never a tag to nothing.
  await ctx.repos.untagDigest(name, d);
  await ctx.repos.deleteRevision(name, d);
  ex.empty(202);
}
