/**
 * `berth registry garbage-collect`: mark and sweep over a storage root, after
 * docker-registry's `registry garbage-collect`, run while no server uses the
 * root (it takes the root's lock, `root-lock.ts`: between a blob upload and
 * the manifest that references it, the blob is referenced by nothing).
 *
 * Mark, per repository. The live manifests are all its revisions or, with
 * `deleteUntagged`, those reachable from its tags: a tag's manifest, the
 * manifests of a live index (recursively), and the referrers of a live
 * manifest (its `subject`, OCI distribution spec §"Listing Referrers"). A live
 * manifest marks its own blob, its config and layer blobs, and the manifests
 * it lists. docker-registry 2.8's `--delete-untagged` deletes an index's
 * untagged children (distribution/distribution#3178); here they live as long
 * as the index does.
 *
 * Never delete on doubt: a revision whose manifest cannot be read (its blob
 * missing, or not a manifest PUT would accept) keeps its whole repository —
 * every revision stays and every blob the repository links is marked. A PUT
 * only accepts references to blobs the repository links and to its own
 * revisions, so that is everything the unreadable manifest could need. Any
 * other failure while marking ends the collection before anything is
 * deleted.
 *
 * Sweep: with `deleteUntagged`, dead revisions go first (their tags, then the
 * revision, as DELETE does), so no revision outlives its manifest's blob (HEAD
 * answers from the revision alone). Then each blob of `blobs/sha256` that is
 * not marked: first every repository's `_layers` link to it, then the blob.
 * In that order an interruption leaves at worst a blob that nothing links —
 * invisible (404 `BLOB_UNKNOWN`) and removed by the next collection — and
 * never a link to missing content, the state the store's writers never
 * create either (`repository-store.ts`): a linked blob is one a GET may
 * start to send. `_uploads` (sessions in progress) and `_tmp` are not
 * touched.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { NotFoundError } from '../../errors.js';
import { BlobStore } from './blob-store.js';
import { fsyncDir } from './durable-fs.js';
import { StorageLayout } from './layout.js';
import { manifestReferences, type ManifestReferences } from './manifest.js';
import { parseDigest, type Digest } from './names.js';
import { RepositoryStore } from './repository-store.js';
import { lockRoot } from './root-lock.js';

export interface GarbageCollectOptions {
  /** Report what would be deleted; change nothing. */
  dryRun?: boolean;
  /** Also delete the revisions of manifests no tag reaches (see the module comment). */
  deleteUntagged?: boolean;
  /** One line per deleted (or, with `dryRun`, deletable) manifest and blob, then the summary. */
  out?: (line: string) => void;
  /** Unreadable manifests, a stale lock taken over. */
  warn?: (line: string) => void;
}

export interface GarbageCollectResult {
  /** Stored blobs that stay: referenced by a live manifest, or of a repository kept whole. */
  marked: number;
  /** Blobs deleted, or that would be with `dryRun`. */
  blobs: Array<{ digest: string; size: number }>;
  /** Their total size. */
  bytes: number;
  /** Manifest revisions deleted (or that would be) with `deleteUntagged`. */
  manifests: Array<{ repository: string; digest: string }>;
  /** Manifests that could not be read; their repositories were kept whole. */
  unreadable: Array<{ repository: string; digest: string; reason: string }>;
}

/** A repository's manifests as the mark phase reads them. */
export interface ManifestGraph {
  /** Every revision of the repository. */
  revisions: readonly Digest[];
  /** The digests the repository's tags point at. */
  tagged: readonly Digest[];
  /** The references of a manifest (a revision or not), undefined when it cannot be read. */
  references(d: Digest): Promise<ManifestReferences | undefined>;
}

/**
 * The live manifests of a repository (digests): every revision, or with
 * `deleteUntagged` what tags reach through index entries and referrers —
 * plus, in both cases, what live indexes list even when it is no revision.
 */
export async function liveManifests(graph: ManifestGraph, deleteUntagged: boolean): Promise<Set<string>> {
  const live = new Set<string>();
  const visit = async (d: Digest): Promise<void> => {
    if (live.has(d.value)) return;
    live.add(d.value);
    for (const child of (await graph.references(d))?.manifests ?? []) await visit(child);
  };
  if (!deleteUntagged) {
    for (const d of graph.revisions) await visit(d);
    return live;
  }
  for (const d of graph.tagged) await visit(d);
  // A referrer lives while its subject does, and a referrer may have referrers of its own.
  let grew = true;
  while (grew) {
    grew = false;
    for (const d of graph.revisions) {
      if (live.has(d.value)) continue;
      const subject = (await graph.references(d))?.subject;
      if (subject && live.has(subject.value)) {
        await visit(d);
        grew = true;
      }
    }
  }
  return live;
}

function reasonOf(err: unknown): string {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'its blob is missing';
  return err instanceof Error ? err.message : String(err);
}

interface Marked {
  /** Blob digests that stay. */
  blobs: Set<string>;
  /** Revisions to delete (`deleteUntagged`). */
  deadRevisions: Array<{ repository: string; digest: Digest }>;
  unreadable: GarbageCollectResult['unreadable'];
}

async function mark(blobs: BlobStore, repos: RepositoryStore, deleteUntagged: boolean): Promise<Marked> {
  const result: Marked = { blobs: new Set(), deadRevisions: [], unreadable: [] };
  for (const repository of await repos.listRepositories()) {
    const revisionInfos = await repos.listRevisions(repository);
    const mediaTypes = new Map(revisionInfos.map((r) => [r.digest, r.mediaType]));
    const revisions = revisionInfos.map((r) => parseDigest(r.digest));
    const tagged: Digest[] = [];
    if (deleteUntagged) {
      for (const tag of await repos.listTags(repository)) {
        const d = await repos.resolveTag(repository, tag);
        if (d) tagged.push(d);
      }
    }
    const read = new Map<string, ManifestReferences | undefined>();
    const unreadable: GarbageCollectResult['unreadable'] = [];
    const references = async (d: Digest): Promise<ManifestReferences | undefined> => {
      if (read.has(d.value)) return read.get(d.value);
      let refs: ManifestReferences | undefined;
      try {
        refs = manifestReferences(await blobs.readAll(d), mediaTypes.get(d.value));
      } catch (err) {
        unreadable.push({ repository, digest: d.value, reason: reasonOf(err) });
      }
      read.set(d.value, refs);
      return refs;
    };
    // Every revision is read, live or not: an unreadable one keeps the repository whole.
    for (const d of revisions) await references(d);
    const live = await liveManifests({ revisions, tagged, references }, deleteUntagged);

    const keep = (digest: string) => {
      result.blobs.add(digest);
      for (const d of read.get(digest)?.blobs ?? []) result.blobs.add(d.value);
    };
    for (const digest of live) keep(digest);
    if (unreadable.length > 0) {
      for (const d of revisions) keep(d.value);
      for (const d of await repos.listLayers(repository)) result.blobs.add(d.value);
      result.unreadable.push(...unreadable);
      continue;
    }
    for (const d of revisions) if (!live.has(d.value)) result.deadRevisions.push({ repository, digest: d });
  }
  const key = (r: { repository: string; digest: Digest }) => `${r.repository}@${r.digest.value}`;
  result.deadRevisions.sort((a, b) => (key(a) < key(b) ? -1 : 1));
  return result;
}

async function sweep(
  layout: StorageLayout, blobs: BlobStore, repos: RepositoryStore, marked: Marked, dryRun: boolean, out: (line: string) => void,
): Promise<GarbageCollectResult> {
  const result: GarbageCollectResult = { marked: 0, blobs: [], bytes: 0, manifests: [], unreadable: marked.unreadable };
  for (const { repository, digest } of marked.deadRevisions) {
    out(`manifest eligible for deletion: ${repository}@${digest.value}`);
    result.manifests.push({ repository, digest: digest.value });
    if (dryRun) continue;
    await repos.untagDigest(repository, digest);
    await repos.deleteRevision(repository, digest);
    await fsyncDir(layout.revisionsDir(repository));
  }

  const garbage: Array<{ d: Digest; size: number }> = [];
  for (const d of (await blobs.list()).sort((a, b) => (a.value < b.value ? -1 : 1))) {
    if (marked.blobs.has(d.value)) result.marked++;
    else garbage.push({ d, size: (await blobs.size(d)) ?? 0 });
  }
  if (!dryRun) {
    // Links before blobs: see the module comment.
    const doomed = new Set(garbage.map((g) => g.d.value));
    for (const repository of await repos.listRepositories()) {
      let unlinked = false;
      for (const d of await repos.listLayers(repository)) {
        if (doomed.has(d.value)) unlinked = (await repos.unlinkLayer(repository, d)) || unlinked;
      }
      // Durable before any blob goes, so that not even a power cut leaves a link to a deleted blob.
      if (unlinked) await fsyncDir(layout.layersDir(repository));
    }
  }
  for (const { d, size } of garbage) {
    out(`blob eligible for deletion: ${d.value}`);
    if (!dryRun) await blobs.delete(d);
    result.blobs.push({ digest: d.value, size });
    result.bytes += size;
  }
  return result;
}

/**
 * Collects the garbage of the storage at `root` under its lock; throws
 * `ConflictError` naming the process when a server (or another collection)
 * holds it, `NotFoundError` when `root` is no registry storage.
 */
export async function collectGarbage(root: string, opts: GarbageCollectOptions = {}): Promise<GarbageCollectResult> {
  const out = opts.out ?? (() => {});
  const warn = opts.warn ?? (() => {});
  const layout = new StorageLayout(path.resolve(root));
  const isDir = async (dir: string) => (await fsp.stat(dir).catch(() => undefined))?.isDirectory() ?? false;
  if (!(await isDir(layout.root))) throw new NotFoundError(`no registry storage at ${layout.root}`);
  if (!(await isDir(layout.blobsRoot)) && !(await isDir(layout.repositoriesDir))) {
    throw new NotFoundError(`${layout.root} is not a registry storage directory (no blobs/ or repositories/ in it)`);
  }
  const lock = await lockRoot(layout, 'registry garbage-collect', warn);
  try {
    const blobs = new BlobStore(layout);
    const repos = new RepositoryStore(layout);
    const marked = await mark(blobs, repos, opts.deleteUntagged ?? false);
    for (const u of marked.unreadable) {
      warn(`warning: ${u.repository}@${u.digest} cannot be read (${u.reason}): keeping every manifest and blob of ${u.repository}`);
    }

    const result = await sweep(layout, blobs, repos, marked, opts.dryRun ?? false, out);
    out(`${result.marked} blobs marked, ${result.blobs.length} blobs eligible for deletion, `
      + `${result.bytes} bytes ${opts.dryRun ? 'would be freed' : 'freed'}`);
    return result;
  } finally {
    await lock.release();
  }
}
