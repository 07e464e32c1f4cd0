/**
 * berth's build cache as a distributable artifact (`--cache-to` /
 * `--cache-from` of type local and registry), in the shape of BuildKit's
 * remote cache (buildkit cache/remotecache/v1/types): an OCI image manifest
 * whose config is a cache config (`application/vnd.buildkit.cacheconfig.v0`)
 * and whose layers are the cache's blobs.
 *
 * The cache config holds BuildKit's two lists — `layers` (blobs with their
 * parent and uncompressed digest) and `records` (cache keys linked to their
 * inputs and results) — with berth's step keys (cache-key.ts) as record
 * digests, plus `berth.steps.v1`: per step what berth needs to give a hit
 * on another daemon — the key, the image it starts from, the image it made
 * (whose config is a blob of the manifest too) and the layer it added. A
 * BuildKit daemon reads the file but finds none of its own keys in it
 * (they are derived from LLB, berth's from the Dockerfile step).
 *
 * Parsing is a trust boundary: every digest is checked before it names a
 * blob, every index before it is followed, and a step's blobs must be
 * listed by the manifest.
 */
import { createHash } from 'node:crypto';
import { InvalidParameterError } from '../errors.js';
import type { CacheEntryInput } from '../store/build-cache.js';

export const CACHE_CONFIG_MEDIA_TYPE = 'application/vnd.buildkit.cacheconfig.v0';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';
export const OCI_CONFIG = 'application/vnd.oci.image.config.v1+json';
const DOCKER_MANIFEST_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const STEPS_FIELD = 'berth.steps.v1';

/** How big a cache manifest and its cache config may be. */
export const MAX_MANIFEST_BYTES = 4 << 20;
export const MAX_CACHE_CONFIG_BYTES = 64 << 20;
export const MAX_IMAGE_CONFIG_BYTES = 8 << 20;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/** The layer a step added: its blob as stored (compressed) and its place in the chain. */
export interface StepLayer {
  blob: Descriptor;
  diffId: string;
  chainId: string;
  parentChainId: string | null;
  created: number;
}

/** One build step as the cache carries it: the build cache's row, with the image the step made as blobs. */
export interface CacheStep extends Omit<CacheEntryInput, 'imageId' | 'size'> {
  /** The image the step made: its config blob. */
  config: Descriptor;
  layer?: StepLayer;
  created: number;
}

export interface CacheArtifact {
  /** The manifest's bytes and descriptor (what index.json or a registry tag points at). */
  manifest: Buffer;
  manifestDesc: Descriptor;
  /** The cache config blob. */
  cacheConfig: Buffer;
  cacheConfigDesc: Descriptor;
  /** The other blobs the manifest lists, in order: layers, then image configs. */
  blobs: Descriptor[];
}

function digestOf(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The artifact for `steps` (in build order, each step's parent before it). */
export function buildCacheArtifact(steps: readonly CacheStep[]): CacheArtifact {
  const layers: { blob: string; parent?: number; annotations: Record<string, unknown> }[] = [];
  const layerIndex = new Map<string, number>();
  const layerDescs: Descriptor[] = [];
  for (const s of steps) {
    if (!s.layer || layerIndex.has(s.layer.chainId)) continue;
    const parent = s.layer.parentChainId === null ? undefined : layerIndex.get(s.layer.parentChainId);
    layerIndex.set(s.layer.chainId, layers.length);
    layers.push({
      blob: s.layer.blob.digest, parent: parent ?? -1,
      annotations: { mediaType: s.layer.blob.mediaType, diffID: s.layer.diffId, size: s.layer.blob.size, createdAt: iso(s.layer.created) },
    });
    if (!layerDescs.some((d) => d.digest === s.layer!.blob.digest)) {
      layerDescs.push({
        mediaType: s.layer.blob.mediaType, digest: s.layer.blob.digest, size: s.layer.blob.size,
        annotations: { 'containerd.io/uncompressed': s.layer.diffId, 'buildkit/createdat': iso(s.layer.created) },
      });
    }
  }
  const recordOf = new Map<string, number>();
  const records = steps.map((s, i) => {
    const parentRecord = recordOf.get(s.parent);
    recordOf.set(s.config.digest, i);
    return {
      digest: s.key,
      ...(s.layer ? { layers: [{ layer: layerIndex.get(s.layer.chainId)!, createdAt: iso(s.created) }] } : {}),
      ...(parentRecord !== undefined ? { inputs: [[{ link: parentRecord }]] } : {}),
    };
  });
  const configDescs: Descriptor[] = [];
  for (const s of steps) if (!configDescs.some((d) => d.digest === s.config.digest)) configDescs.push({ mediaType: OCI_CONFIG, digest: s.config.digest, size: s.config.size });
  const cacheConfig = Buffer.from(JSON.stringify({
    layers, records,
    [STEPS_FIELD]: steps.map((s) => ({
      key: s.key, parent: s.parent, kind: s.kind, original: s.original, inputs: s.inputs, context: s.context,
      image: s.config.digest, configSize: s.config.size, layer: s.layer ? layerIndex.get(s.layer.chainId)! : -1, createdAt: iso(s.created),
    })),
  }));
  const cacheConfigDesc: Descriptor = { mediaType: CACHE_CONFIG_MEDIA_TYPE, digest: digestOf(cacheConfig), size: cacheConfig.length };
  const blobs = [...layerDescs, ...configDescs];
  const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: cacheConfigDesc, layers: blobs }));
  return { manifest, manifestDesc: { mediaType: OCI_MANIFEST, digest: digestOf(manifest), size: manifest.length }, cacheConfig, cacheConfigDesc, blobs };
}

// ------------------------------------------------------------------ parsing

function bad(what: string): never {
  throw new InvalidParameterError(`invalid build cache: ${what}`);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseJson(b: Buffer, what: string): Record<string, unknown> {
  let v: unknown;
  try { v = JSON.parse(b.toString('utf8')); } catch { bad(`${what} is not JSON`); }
  if (!isObject(v)) bad(`${what} is not a JSON object`);
  return v;
}

export function checkDigest(d: unknown, what: string): string {
  if (typeof d !== 'string' || !DIGEST.test(d)) bad(`${what}: invalid digest ${JSON.stringify(String(d).slice(0, 80))}`);
  return d;
}

function checkDescriptor(v: unknown, what: string): Descriptor {
  if (!isObject(v)) bad(`${what} is not a descriptor`);
  const digest = checkDigest(v.digest, what);
  if (typeof v.size !== 'number' || !Number.isSafeInteger(v.size) || v.size < 0) bad(`${what}: invalid size`);
  const mediaType = typeof v.mediaType === 'string' ? v.mediaType.slice(0, 256) : '';
  return { mediaType, digest, size: v.size };
}

/** The cache config's descriptor and the blobs a cache manifest (or index) lists. */
export function parseCacheManifest(bytes: Buffer): { cacheConfig: Descriptor; blobs: Map<string, Descriptor> } {
  const m = parseJson(bytes, 'the cache manifest');
  const blobs = new Map<string, Descriptor>();
  let cacheConfig: Descriptor | undefined;
  const list = (v: unknown, what: string): unknown[] => (Array.isArray(v) ? v : bad(`${what} is not a list`));
  const mediaType = typeof m.mediaType === 'string' ? m.mediaType : '';
  if (mediaType === OCI_INDEX || mediaType === DOCKER_MANIFEST_LIST || (!mediaType && Array.isArray(m.manifests))) {
    for (const [i, e] of list(m.manifests, 'manifests').entries()) {
      const d = checkDescriptor(e, `manifests[${i}]`);
      if (d.mediaType === CACHE_CONFIG_MEDIA_TYPE) cacheConfig = d; else blobs.set(d.digest, d);
    }
  } else if (mediaType === OCI_MANIFEST || mediaType === DOCKER_MANIFEST || (!mediaType && isObject(m.config))) {
    const c = checkDescriptor(m.config, 'config');
    if (c.mediaType !== CACHE_CONFIG_MEDIA_TYPE) bad(`it is an image, not a cache manifest (config ${JSON.stringify(c.mediaType)})`);
    cacheConfig = c;
    for (const [i, e] of list(m.layers, 'layers').entries()) {
      const d = checkDescriptor(e, `layers[${i}]`);
      blobs.set(d.digest, d);
    }
  } else {
    bad(`unsupported manifest media type ${JSON.stringify(mediaType.slice(0, 100))}`);
  }
  if (!cacheConfig) bad(`the manifest lists no ${CACHE_CONFIG_MEDIA_TYPE}`);
  if (cacheConfig.size > MAX_CACHE_CONFIG_BYTES) bad(`its cache config is too large (${cacheConfig.size} bytes)`);
  return { cacheConfig, blobs };
}

function str(v: unknown, what: string, max: number): string {
  if (typeof v !== 'string' || v.length > max) bad(`${what} is not a string of at most ${max} characters`);
  return v;
}

/**
 * berth's steps from a cache config, keyed by step key. A cache config
 * without berth's steps (made by BuildKit) gives none.
 */
export function parseCacheConfig(bytes: Buffer, blobs: ReadonlyMap<string, Descriptor>): Map<string, CacheStep> {
  const c = parseJson(bytes, 'the cache config');
  const out = new Map<string, CacheStep>();
  const raw = c[STEPS_FIELD];
  if (raw === undefined) return out;
  if (!Array.isArray(raw)) bad(`${STEPS_FIELD} is not a list`);
  const layers = Array.isArray(c.layers) ? c.layers : [];
  const listed = (digest: string, what: string): Descriptor => blobs.get(digest) ?? bad(`${what} ${digest} is not in the manifest`);
  const layerAt = (idx: number, what: string): { blob: Descriptor; diffId: string } => {
    const l: unknown = layers[idx];
    if (!isObject(l) || !isObject(l.annotations)) bad(`${what}: layer ${idx} is missing or has no annotations`);
    const blob = listed(checkDigest(l.blob, `${what} layer blob`), `${what}: layer`);
    return { blob, diffId: checkDigest(l.annotations.diffID, `${what} layer diffID`) };
  };
  for (const [i, s] of raw.entries()) {
    const what = `step ${i}`;
    if (!isObject(s)) bad(`${what} is not an object`);
    const key = checkDigest(s.key, `${what} key`);
    const parent = s.parent === '' ? '' : checkDigest(s.parent, `${what} parent`);
    const image = checkDigest(s.image, `${what} image`);
    const config = listed(image, `${what}: image config`);
    if (config.size > MAX_IMAGE_CONFIG_BYTES) bad(`${what}: image config too large`);
    if (typeof s.layer !== 'number' || !Number.isSafeInteger(s.layer) || s.layer < -1 || s.layer >= layers.length) bad(`${what}: invalid layer index`);
    const created = typeof s.createdAt === 'string' && Number.isFinite(Date.parse(s.createdAt)) ? Date.parse(s.createdAt) : 0;
    const step: CacheStep = {
      key, parent, kind: str(s.kind, `${what} kind`, 32), original: str(s.original, `${what} instruction`, 1 << 20),
      inputs: str(s.inputs, `${what} inputs`, 4 << 20), context: str(s.context, `${what} context`, 4 << 20),
      config, created,
    };
    if (s.layer >= 0) {
      const l = layerAt(s.layer, what);
      // The chain is checked against the image config when the step is used (cache-import.ts); these are informative.
      step.layer = { blob: l.blob, diffId: l.diffId, chainId: '', parentChainId: null, created };
    }
    out.set(key, step);
  }
  return out;
}

// ------------------------------------------------------------------ inline cache

/** The image config field BuildKit's inline cache uses (a JSON list of cache records, as Go's []byte: base64). */
export const INLINE_CACHE_FIELD = 'moby.buildkit.cache.v0';
const INLINE_STEP_FIELD = 'berth.step.v1';

/** A step of an image's own chain, for its inline cache: its key, its history line and, when it added one, its layer's index. */
export interface InlineStep { key: string; history: number; layer?: number }

/** The inline cache value for an image made by `steps` (in build order). */
export function inlineCacheValue(steps: readonly InlineStep[]): string {
  const records = steps.map((s, i) => ({
    digest: s.key,
    ...(s.layer !== undefined ? { layers: [{ layer: s.layer }] } : {}),
    ...(i > 0 ? { inputs: [[{ link: i - 1 }]] } : {}),
    [INLINE_STEP_FIELD]: { history: s.history },
  }));
  return Buffer.from(JSON.stringify(records)).toString('base64');
}

/**
 * berth's steps in an image config's inline cache: step key → the index of
 * the history line the step wrote. Records without berth's field
 * (BuildKit's own) are skipped; anything malformed gives no steps.
 */
export function parseInlineCache(config: Record<string, unknown>, historyLength: number): Map<string, number> {
  const out = new Map<string, number>();
  const v = config[INLINE_CACHE_FIELD];
  if (typeof v !== 'string' || v.length > MAX_CACHE_CONFIG_BYTES) return out;
  let records: unknown;
  try { records = JSON.parse(Buffer.from(v, 'base64').toString('utf8')); } catch { return out; }
  if (!Array.isArray(records)) return out;
  for (const r of records) {
    if (!isObject(r) || typeof r.digest !== 'string' || !DIGEST.test(r.digest)) continue;
    const step = r[INLINE_STEP_FIELD];
    if (!isObject(step) || typeof step.history !== 'number' || !Number.isSafeInteger(step.history) || step.history < 0 || step.history >= historyLength) continue;
    out.set(r.digest, step.history);
  }
  return out;
}

/** Whether a manifest a cache reference names is a cache artifact (else it is an image, whose config may hold an inline cache). */
export function isCacheManifest(bytes: Buffer): boolean {
  let m: unknown;
  try { m = JSON.parse(bytes.toString('utf8')); } catch { return false; }
  if (!isObject(m)) return false;
  if (isObject(m.config) && m.config.mediaType === CACHE_CONFIG_MEDIA_TYPE) return true;
  return Array.isArray(m.manifests) && m.manifests.some((d) => isObject(d) && d.mediaType === CACHE_CONFIG_MEDIA_TYPE);
}
