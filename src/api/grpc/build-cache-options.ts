/**
 * A Solve's `--cache-to` and `--cache-from` (SolveRequest.Cache, BuildKit's
 * CacheOptions), checked and carried out around berth's builder:
 *
 * - `type=local`: the cache is an OCI layout on the client's machine.
 *   buildkit's client serves it as a content store on its session (ID
 *   `local:<dir>`, session-content.ts); berthd writes or reads the blobs
 *   there, and for an export answers `cache.manifest` (the manifest's
 *   descriptor), which the client records in the layout's index.json. For
 *   an import the client has already looked up the manifest's `digest`.
 * - `type=registry,ref=…`: the same artifact pushed to or pulled from a
 *   registry (engine/build-cache-registry.ts), with the credentials the
 *   client's session gives for it (session-auth.ts); a reference that
 *   names an image is an inline cache source;
 * - `type=inline` (export): the final stage's keys in the image's config.
 *
 * Types and attributes berth does not implement are refused by name.
 *
 * An imported cache is the importing build's alone: its hits are not
 * written into the shared build cache (engine/build-cache-import.ts says
 * why), so a cache one client imports never gives hits to anyone else's
 * build; the build's `--cache-to` still exports them.
 */
import { InvalidParameterError, NotImplementedError, errorMessage } from '../../errors.js';
import type { Engine } from '../../engine/engine.js';
import type { Descriptor } from '../../build/cache-manifest.js';
import { stepsToExport, writeCacheArtifact, type CacheBlobTarget, type CacheExportStores, type CacheMode, type UsedStep } from '../../engine/build-cache-export.js';
import { CacheImporter, inlineImportedCache, loadImportedCache, type CacheBlobSource, type ImportedCache } from '../../engine/build-cache-import.js';
import { isCacheManifest } from '../../build/cache-manifest.js';
import { registryCacheRepository } from '../../engine/build-cache-registry.js';
import { CONTENT_METHODS, SessionContentStore } from '../../buildkit/session-content.js';
import { sessionCredentials, type SessionCredentials } from '../../buildkit/session-auth.js';
import { parseReference } from '../../image/reference.js';
import type { ClientSession } from '../../buildkit/sessions.js';
import type { BuildProgress } from '../../buildkit/progress.js';

export interface CacheOptionsEntry { Type: string; Attrs: Record<string, string> }

export type CacheExportSpec = ({ type: 'local'; dest: string } | { type: 'registry'; ref: string } | { type: 'inline' }) & { mode: CacheMode; ignoreError: boolean };
export type CacheImportSpec = { type: 'local'; src: string; digest: string } | { type: 'registry'; ref: string };

export interface CachePlan { exports: CacheExportSpec[]; imports: CacheImportSpec[] }

/** Attributes each type takes (buildkit's cache/remotecache/*), and the values berth honours where it has a choice. */
const EXPORT_ATTRS: Record<string, Set<string>> = {
  local: new Set(['dest', 'mode', 'tag', 'ignore-error', 'oci-mediatypes', 'image-manifest', 'compression']),
  registry: new Set(['ref', 'mode', 'ignore-error', 'oci-mediatypes', 'image-manifest', 'compression']),
  inline: new Set([]),
};
const IMPORT_ATTRS: Record<string, Set<string>> = {
  local: new Set(['src', 'digest', 'tag']),
  registry: new Set(['ref']),
};

function bool(v: string | undefined, what: string): boolean {
  if (v === undefined || v === '') return false;
  if (/^(1|t|true)$/i.test(v)) return true;
  if (/^(0|f|false)$/i.test(v)) return false;
  throw new InvalidParameterError(`invalid ${what} value ${JSON.stringify(v)}: expected true or false`);
}

function checkAttrs(kind: string, e: CacheOptionsEntry, known: Record<string, Set<string>>): void {
  const allowed = known[e.Type];
  if (!allowed) {
    throw new NotImplementedError(`${kind} type=${e.Type} is not supported: berth ${kind === '--cache-to' ? 'exports' : 'imports'} type=${Object.keys(known).join('|')}`);
  }
  for (const k of Object.keys(e.Attrs)) {
    if (!allowed.has(k)) throw new NotImplementedError(`${kind} type=${e.Type}: attribute ${JSON.stringify(k)} is not supported`);
  }
}

/** Checks a Solve's cache options; refuses what berth cannot do before the build starts. */
export function planCache(cache: { Exports: CacheOptionsEntry[]; Imports: CacheOptionsEntry[] } | null): CachePlan {
  const plan: CachePlan = { exports: [], imports: [] };
  for (const e of cache?.Exports ?? []) {
    checkAttrs('--cache-to', e, EXPORT_ATTRS);
    const mode = e.Attrs.mode ?? 'min';
    if (mode !== 'min' && mode !== 'max') throw new InvalidParameterError(`--cache-to: invalid mode ${JSON.stringify(mode)}: expected min or max`);
    if (e.Attrs['oci-mediatypes'] !== undefined && !bool(e.Attrs['oci-mediatypes'], 'oci-mediatypes')) {
      throw new NotImplementedError('--cache-to oci-mediatypes=false is not supported: berth writes OCI media types');
    }
    if (e.Attrs['image-manifest'] !== undefined && !bool(e.Attrs['image-manifest'], 'image-manifest')) {
      throw new NotImplementedError('--cache-to image-manifest=false is not supported: berth writes the cache as an OCI image manifest');
    }
    if (e.Attrs.compression !== undefined && e.Attrs.compression !== 'gzip') {
      throw new NotImplementedError(`--cache-to compression=${e.Attrs.compression} is not supported: berth's layers are gzip`);
    }
    const ignoreError = bool(e.Attrs['ignore-error'], 'ignore-error');
    if (e.Type === 'inline') {
      plan.exports.push({ type: 'inline', mode: 'min', ignoreError: false });
      continue;
    }
    if (e.Type === 'registry') {
      if (!e.Attrs.ref) throw new InvalidParameterError('registry cache exporter requires ref');
      plan.exports.push({ type: 'registry', ref: e.Attrs.ref, mode, ignoreError });
      continue;
    }
    const dest = e.Attrs.dest ?? '';
    if (!dest) throw new InvalidParameterError('local cache exporter requires dest');
    plan.exports.push({ type: 'local', dest, mode, ignoreError });
  }
  for (const e of cache?.Imports ?? []) {
    checkAttrs('--cache-from', e, IMPORT_ATTRS);
    if (e.Type === 'registry') {
      if (!e.Attrs.ref) throw new InvalidParameterError('registry cache importer requires ref');
      plan.imports.push({ type: 'registry', ref: e.Attrs.ref });
      continue;
    }
    const src = e.Attrs.src ?? '';
    if (!src) throw new InvalidParameterError('local cache importer requires src');
    if (!/^sha256:[0-9a-f]{64}$/.test(e.Attrs.digest ?? '')) throw new InvalidParameterError('local cache importer requires explicit digest');
    plan.imports.push({ type: 'local', src, digest: e.Attrs.digest });
  }
  return plan;
}

function stores(engine: Engine): CacheExportStores {
  return { cache: engine.builds.cache, images: engine.images.store, layers: engine.layers, content: engine.content };
}

function sessionStore(session: ClientSession, id: string): SessionContentStore {
  for (const m of Object.values(CONTENT_METHODS)) {
    if (!session.methods.has(m)) throw new InvalidParameterError(`the client serves no content store on its session (no ${m})`);
  }
  return new SessionContentStore(session.conn, id);
}

/**
 * The imported caches, read before the build. A cache that cannot be read
 * is a warning and gives no hits (as BuildKit's importer does); one that
 * can be read but lies about its blobs fails the step that uses it.
 */
export async function loadCacheImports(
  engine: Engine, plan: CachePlan, session: ClientSession, progress: BuildProgress, signal: AbortSignal,
): Promise<CacheImporter | undefined> {
  if (!plan.imports.length) return undefined;
  const caches: ImportedCache[] = [];
  for (const im of plan.imports) {
    const name = im.type === 'local' ? `local:${im.src}` : im.ref;
    const v = progress.vertex(`importing cache manifest from ${name}`);
    try {
      let c: ImportedCache;
      if (im.type === 'local') {
        const store = sessionStore(session, name);
        const size = await store.info(im.digest, signal);
        if (size === undefined) throw new InvalidParameterError(`${im.digest}: not found in ${name}`);
        const source: CacheBlobSource = { read: (d, sig) => store.read(d, sig) };
        c = await loadImportedCache(name, source, { mediaType: '', digest: im.digest, size }, signal);
      } else {
        c = await registryImport(engine, im.ref, await registryCredentials(session, im.ref, signal), signal);
      }
      if (c.steps.size === 0 && !c.inline) v.log(`${name} holds no berth build steps (a cache made by BuildKit's own solver gives no hits here)\n`);
      caches.push(c);
      v.complete();
    } catch (e) {
      if (signal.aborted) { v.complete(errorMessage(e)); throw e; }
      progress.publish({ warnings: [{ vertex: v.digest, level: 1, short: Buffer.from(`failed to import cache from ${name}: ${errorMessage(e)}`) }] });
      v.complete();
    }
  }
  return new CacheImporter(stores(engine), caches);
}

/**
 * `--cache-from type=registry,ref=…` (and `--cache-from NAME`, which buildx
 * sends so): a cache artifact at the reference, or an image, whose config
 * may carry an inline cache. The image is pulled first (as `docker pull`
 * would), or taken from the store when the registry cannot be reached and
 * an image has that name here.
 */
async function registryImport(engine: Engine, ref: string, auth: SessionCredentials | undefined, signal: AbortSignal): Promise<ImportedCache> {
  const repo = await registryCacheRepository(engine.distribution, ref, auth, signal);
  let manifest: Buffer;
  try {
    manifest = (await repo.getManifest()).bytes;
  } catch (e) {
    repo.close();
    const local = engine.images.tryResolve(ref);
    if (signal.aborted || !local) throw e;
    return inlineOrNothing(ref, local);
  }
  if (isCacheManifest(manifest)) {
    try {
      return { ...await loadImportedCache(ref, repo.source, manifest, signal), close: () => repo.close() };
    } catch (e) {
      repo.close();
      throw e;
    }
  }
  repo.close();
  await engine.distribution.pull(ref, { ...(auth ? { auth } : {}), progress: () => undefined, signal });
  return inlineOrNothing(ref, engine.images.resolve(ref));
}

/** What the client's docker config holds for the reference's registry (asked over its session, as BuildKit does). */
async function registryCredentials(session: ClientSession, ref: string, signal: AbortSignal): Promise<SessionCredentials | undefined> {
  let domain: string;
  try { domain = parseReference(ref).domain; } catch { return undefined; }
  return sessionCredentials(session, domain, signal);
}

function inlineOrNothing(ref: string, image: ReturnType<Engine['images']['resolve']>): ImportedCache {
  return inlineImportedCache(ref, image) ?? { name: ref, steps: new Map() };
}

/**
 * Writes the build's cache to each `--cache-to` target; returns the
 * ExporterResponse entries (`cache.manifest` for a local export).
 */
export async function exportCaches(
  engine: Engine, plan: CachePlan, used: readonly UsedStep[], finalStage: number, session: () => Promise<ClientSession>,
  progress: BuildProgress, signal: AbortSignal,
): Promise<Record<string, string>> {
  const response: Record<string, string> = {};
  for (const ex of plan.exports) {
    // The inline cache went into the image (control.ts's image export).
    if (ex.type === 'inline') continue;
    const name = ex.type === 'local' ? `local:${ex.dest}` : ex.ref;
    const v = progress.vertex(ex.type === 'local' ? 'exporting cache to client directory' : 'exporting cache to registry');
    const say = (what: string) => { const st = v.status(what); return () => st.finish(); };
    try {
      const steps = await stepsToExport(stores(engine), used, finalStage, ex.mode);
      if (steps.length === 0) {
        v.log('no build steps to export\n');
        v.complete();
        continue;
      }
      if (ex.type === 'local') {
        const store = sessionStore(await session(), name);
        const target: CacheBlobTarget = { write: (d: Descriptor, open, sig) => store.write(d, open() as AsyncIterable<Buffer>, sig) };
        const artifact = await writeCacheArtifact(stores(engine), steps, target, signal, say);
        response['cache.manifest'] = JSON.stringify(artifact.manifestDesc);
      } else {
        const repo = await registryCacheRepository(engine.distribution, ex.ref, await registryCredentials(await session(), ex.ref, signal), signal);
        try {
          const artifact = await writeCacheArtifact(stores(engine), steps, repo.target, signal, say);
          const done = say(`pushing manifest for ${ex.ref}`);
          await repo.putManifest(artifact);
          done();
        } finally {
          repo.close();
        }
      }
      v.complete();
    } catch (e) {
      v.complete(ex.ignoreError ? undefined : errorMessage(e));
      if (!ex.ignoreError || signal.aborted) throw e;
      progress.publish({ warnings: [{ vertex: v.digest, level: 1, short: Buffer.from(`failed to export cache to ${name}: ${errorMessage(e)}`) }] });
    }
  }
  return response;
}
