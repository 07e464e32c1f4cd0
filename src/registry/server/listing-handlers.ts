/**
 * Content discovery: `tags/list` (end-8a/8b), Docker's `_catalog`, and the
 * OCI 1.1 referrers API (end-12a/12b).
 */
import type { RegistryContext } from './context.js';
import type { Exchange } from './exchange.js';
import { DistributionError } from './errors.js';
import { parseDigest } from './names.js';
import { nextLinkHeader, paginate, parsePageRequest } from './pagination.js';
import { MEDIA_TYPES, type Descriptor } from './manifest.js';

/** 404 `NAME_UNKNOWN` for a repository never pushed to (spec end-8a failure). */
export async function listTags(ctx: RegistryContext, ex: Exchange, name: string): Promise<void> {
  if (!(await ctx.repos.exists(name))) throw new DistributionError('NAME_UNKNOWN', { detail: { name } });
  const req = parsePageRequest(ex.url.searchParams);
  const page = paginate(await ctx.repos.listTags(name), req);
  const headers: Record<string, string> = {};
  if (page.nextLast !== undefined) headers.Link = nextLinkHeader(`/v2/${name}/tags/list`, page.nextLast, req.n);
  ex.json(200, { name, tags: page.items }, headers);
}

export async function listCatalog(ctx: RegistryContext, ex: Exchange): Promise<void> {
  const req = parsePageRequest(ex.url.searchParams);
  const page = paginate(await ctx.repos.listRepositories(), req);
  const headers: Record<string, string> = {};
  if (page.nextLast !== undefined) headers.Link = nextLinkHeader('/v2/_catalog', page.nextLast, req.n);
  ex.json(200, { repositories: page.items }, headers);
}

/**
 * Manifests of `name` whose `subject` is the digest, as an image index
 * (spec §"Listing Referrers"): never 404, an empty index when none; optional
 * `artifactType` filter, announced by `OCI-Filters-Applied`. Answers from the
 * revision records, so no manifest is re-read.
 */
export async function listReferrers(ctx: RegistryContext, ex: Exchange, name: string, digestParam: string): Promise<void> {
  const d = parseDigest(digestParam);
  const filter = ex.url.searchParams.get('artifactType') || undefined;
  const revisions = (await ctx.repos.exists(name)) ? await ctx.repos.listRevisions(name) : [];
  const manifests: Descriptor[] = revisions
    .filter((r) => r.subject === d.value && (filter === undefined || r.artifactType === filter))
    .sort((a, b) => (a.digest < b.digest ? -1 : 1))
    .map((r) => {
      const desc: Descriptor = { mediaType: r.mediaType, digest: r.digest, size: r.size };
      if (r.artifactType) desc.artifactType = r.artifactType;
      if (r.annotations) desc.annotations = r.annotations;
      return desc;
    });
  const headers: Record<string, string> = { 'Content-Type': MEDIA_TYPES.ociIndex };
  if (filter !== undefined) headers['OCI-Filters-Applied'] = 'artifactType';
  ex.json(200, { schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests }, headers);
}
