/**
 * Image archives for `POST /images/load`, made consistent first (digests
 * and diffIds that match, so a load gets past the checks and really
 * unpacks the hostile layer) and then, now and then, made inconsistent on
 * purpose: descriptors and manifest paths that name host files (`sha256:../../x`,
 * `/etc/passwd`, the canary's secret and FIFO), digests that are not digests,
 * sizes that lie, blobs that are missing, FIFOs, symlinks or directories,
 * an index that contains itself, manifests and configs that are not what
 * their schema says. Two layouts: Docker's `docker save` (manifest.json
 * plus, as Docker 25 writes, an OCI layout around the same blobs), and a
 * plain OCI image layout.
 */
import { createHash } from 'node:crypto';
import type { Rng } from './rng.js';
import type { Canary } from './host-canary.js';
import { mutateJson, toJsonText } from './json-mutate.js';
import { junkString } from './strings.js';
import { dir, file, type TarEntry } from './tar-write.js';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const blobPath = (digest: string) => `blobs/${digest.replace(':', '/')}`;

export interface Layer {
  /** The uncompressed layer tar (its sha256 is the diffId). */
  tar: Buffer;
  /** What is stored: the tar itself or a gzip of it. */
  stored: Buffer;
  gzipped: boolean;
  /** Ranges of `stored` mutators must leave alone. */
  protectedRanges: Array<[number, number]>;
}

export interface ArchiveModel {
  blobs: Map<string, { bytes: Buffer; protectedRanges?: Array<[number, number]>; opaque?: boolean }>;
  config: Record<string, unknown>;
  manifest: Record<string, unknown>;
  index: Record<string, unknown>;
  dockerManifest: unknown;
  /** Extra entries (FIFOs, links, directories at blob paths). */
  extra: TarEntry[];
  /** The config and manifest digests seal() wrote last ('' before the first). */
  auto: { config: string; manifest: string };
  format: 'docker-save' | 'oci';
  what: string[];
}

export function buildModel(layers: Layer[], repoTag: string, format: 'docker-save' | 'oci'): ArchiveModel {
  const blobs: ArchiveModel['blobs'] = new Map();
  const layerDescs = layers.map((l) => {
    const digest = sha(l.stored);
    blobs.set(digest, { bytes: l.stored, protectedRanges: l.protectedRanges, opaque: l.gzipped });
    return { mediaType: l.gzipped ? 'application/vnd.oci.image.layer.v1.tar+gzip' : 'application/vnd.oci.image.layer.v1.tar', digest, size: l.stored.length };
  });
  const config = {
    architecture: 'amd64', os: 'linux', config: { Cmd: ['true'], Env: ['PATH=/bin'] },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => sha(l.tar)) },
    history: layers.map(() => ({ created_by: 'berth fuzz' })),
  };
  const model: ArchiveModel = {
    blobs, config, manifest: {}, index: {}, dockerManifest: [], extra: [], auto: { config: '', manifest: '' }, format, what: [format],
  };
  model.manifest = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json',
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: '', size: 0 }, layers: layerDescs,
  };
  const [repo, tag] = [repoTag.slice(0, repoTag.lastIndexOf(':')), repoTag.slice(repoTag.lastIndexOf(':') + 1)];
  model.index = {
    schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: '', size: 0, annotations: { 'io.containerd.image.name': `docker.io/${repo}:${tag}`, 'org.opencontainers.image.ref.name': tag } }],
  };
  model.dockerManifest = [{ Config: '', RepoTags: [repoTag], Layers: layerDescs.map((d) => blobPath(d.digest)) }];
  seal(model);
  return model;
}

/**
 * Writes the config and manifest blobs from their JSON, and points every
 * reference that still names the previous automatic digest at the new one
 * (references a mutation changed stay as the mutation left them).
 */
function seal(m: ArchiveModel): void {
  const obj = (v: unknown): Record<string, unknown> | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? v as Record<string, unknown> : undefined);
  const configBytes = Buffer.from(toJsonText(m.config));
  const configDigest = sha(configBytes);
  if (m.auto.config) m.blobs.delete(m.auto.config);
  m.blobs.set(configDigest, { bytes: configBytes });
  const mc = obj(obj(m.manifest)?.config);
  if (mc && mc.digest === m.auto.config) { mc.digest = configDigest; mc.size = configBytes.length; }
  const dm = Array.isArray(m.dockerManifest) ? obj(m.dockerManifest[0]) : undefined;
  if (dm && dm.Config === (m.auto.config ? blobPath(m.auto.config) : '')) dm.Config = blobPath(configDigest);
  m.auto.config = configDigest;

  const manifestBytes = Buffer.from(toJsonText(m.manifest));
  const manifestDigest = sha(manifestBytes);
  if (m.auto.manifest) m.blobs.delete(m.auto.manifest);
  m.blobs.set(manifestDigest, { bytes: manifestBytes });
  const idx = obj(Array.isArray(obj(m.index)?.manifests) ? (m.index.manifests as unknown[])[0] : undefined);
  if (idx && idx.digest === m.auto.manifest) { idx.digest = manifestDigest; idx.size = manifestBytes.length; }
  m.auto.manifest = manifestDigest;
}

function hostileRefs(c: Canary): string[] {
  const up = '../'.repeat(12);
  return [
    'sha256:../../x', `sha256:${up}etc/passwd`, `sha256:${up}${c.secretFile.slice(1)}`, 'sha256:', `sha256:${'g'.repeat(64)}`,
    `sha256:${'a'.repeat(64)}`, `sha512:${'a'.repeat(128)}`, 'md5:d41d8cd98f00b204e9800998ecf8427e', `sha256:${'a'.repeat(64)}/../../../etc/passwd`,
    `sha256:${'A'.repeat(64)}`, '', 'sha256', `sha256:${up}${c.dir.slice(1)}/fifo`,
  ];
}

function hostilePaths(c: Canary): string[] {
  return [
    '../../../../../../etc/passwd', '/etc/passwd', c.secretFile, `${'../'.repeat(12)}${c.secretFile.slice(1)}`, 'blobs/sha256/../../../x',
    'missing', '', 'blobs', `${c.dir}/fifo`, 'fifo-blob', 'link-blob', 'manifest.json', '.', '/',
  ];
}

type Mutation = (m: ArchiveModel, rng: Rng, c: Canary) => void;

function descriptors(m: ArchiveModel): Array<Record<string, unknown>> {
  const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
  const index = m.index as Record<string, unknown> | null;
  const manifest = m.manifest as Record<string, unknown> | null;
  const all = [...list(index?.manifests), manifest?.config, ...list(manifest?.layers)];
  const ds = all.filter((d): d is Record<string, unknown> => !!d && typeof d === 'object' && !Array.isArray(d));
  return ds.length ? ds : [{}];
}

/** Mutations of the JSON documents (sealed afterwards), then of the blobs themselves. */
const MUTATIONS: Array<readonly [number, string, Mutation]> = [
  [3, 'descriptor digest', (m, rng, c) => { const d = rng.pick(descriptors(m)); d.digest = rng.pick(hostileRefs(c)); }],
  [2, 'descriptor size', (m, rng) => { const d = rng.pick(descriptors(m)); d.size = rng.pick<unknown>([-1, 0, 1, 2 ** 70, '12', null, 1e308]); }],
  [1, 'descriptor media type', (m, rng) => { const d = rng.pick(descriptors(m)); d.mediaType = rng.pick(['application/vnd.oci.image.index.v1+json', 'text/html', junkString(rng), 5]); }],
  [2, 'manifest.json paths', (m, rng, c) => {
    const dm = (m.dockerManifest as Array<Record<string, unknown>>)[0];
    if (!dm || typeof dm !== 'object') return;
    if (rng.chance(0.5)) dm.Config = rng.pick(hostilePaths(c));
    else dm.Layers = [rng.pick(hostilePaths(c)), ...(rng.chance(0.5) ? (dm.Layers as unknown[]) : [])];
  }],
  [2, 'RepoTags', (m, rng) => {
    const dm = (m.dockerManifest as Array<Record<string, unknown>>)[0];
    if (!dm || typeof dm !== 'object') return;
    dm.RepoTags = rng.pick<unknown>([['sha256:abc'], ['../../x:1'], [':'], [5], null, 'busybox', Array.from({ length: 2000 }, (_, i) => `fuzz/many:${i}`), [junkString(rng)], ['UPPER:1'], ['busybox:latest']]);
  }],
  [2, 'manifest.json shape', (m, rng) => { m.dockerManifest = mutateJson(m.dockerManifest, rng); }],
  [2, 'index.json shape', (m, rng) => { m.index = mutateJson(m.index, rng) as Record<string, unknown>; }],
  [2, 'image manifest shape', (m, rng) => { m.manifest = mutateJson(m.manifest, rng) as Record<string, unknown>; }],
  [3, 'config shape (digests kept right)', (m, rng) => { m.config = mutateJson(m.config, rng) as Record<string, unknown>; }],
  [1, 'index names itself', (m) => {
    if (!Array.isArray(m.index.manifests)) return;
    const selfDigest = `sha256:${'e'.repeat(64)}`;
    m.blobs.set(selfDigest, { bytes: Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [{ mediaType: 'application/vnd.oci.image.index.v1+json', digest: selfDigest, size: 10 }] })) });
    (m.index.manifests as unknown[]).unshift({ mediaType: 'application/vnd.oci.image.index.v1+json', digest: selfDigest, size: 200 });
  }],
  [2, 'blob missing', (m, rng) => { const k = rng.pick([...m.blobs.keys()]); m.blobs.delete(k); }],
  [2, 'blob is a FIFO, link or directory', (m, rng, c) => {
    const d = rng.pick(descriptors(m));
    const name = typeof d.digest === 'string' && d.digest.includes(':') ? blobPath(d.digest) : 'fifo-blob';
    if (typeof d.digest === 'string') m.blobs.delete(d.digest);
    m.extra.push(rng.pick<TarEntry>([
      { name, type: '6' },
      { name, type: '2', linkname: rng.pick([c.secretFile, '/etc/passwd', `${c.dir}/fifo`, '../../../../../../etc/shadow']) },
      { name, type: '1', linkname: rng.pick([c.secretFile, '/etc/passwd']) },
      dir(name),
    ]));
  }],
  [1, 'FIFO and link entries in the archive', (m, _rng, c) => {
    m.extra.push({ name: 'fifo-blob', type: '6' }, { name: 'link-blob', type: '2', linkname: c.secretFile });
  }],
  [1, 'blob duplicated with other content', (m, rng) => {
    const k = rng.pick([...m.blobs.keys()]);
    m.extra.push(file(blobPath(k), 'not the blob\n'));
  }],
];

const BLOB_LEVEL = new Set(['blob missing', 'blob is a FIFO, link or directory', 'FIFO and link entries in the archive', 'blob duplicated with other content']);

/** 0–3 mutations of the archive model: the documents first, then the digests are resealed, then the blobs. */
export function mutateModel(m: ArchiveModel, rng: Rng, c: Canary): void {
  const n = rng.weighted([[4, 0], [4, 1], [2, 2], [1, 3]] as const);
  const picks: Array<[string, Mutation]> = [];
  for (let i = 0; i < n; i++) picks.push(rng.weighted(MUTATIONS.map(([w, nm, fn]) => [w, [nm, fn] as [string, Mutation]] as const)));
  for (const [name, f] of picks.filter(([nm]) => !BLOB_LEVEL.has(nm))) { f(m, rng, c); m.what.push(name); }
  seal(m);
  for (const [name, f] of picks.filter(([nm]) => BLOB_LEVEL.has(nm))) { f(m, rng, c); m.what.push(name); }
}

/** The archive's entries. */
export function archiveEntries(m: ArchiveModel): TarEntry[] {
  const entries: TarEntry[] = [dir('blobs'), dir('blobs/sha256')];
  for (const [digest, b] of m.blobs) {
    entries.push({ ...file(blobPath(digest.includes(':') ? digest : `sha256:${digest}`), b.bytes), innerProtected: b.protectedRanges, opaqueData: b.opaque });
  }
  entries.push(file('oci-layout', '{"imageLayoutVersion":"1.0.0"}'));
  entries.push(file('index.json', toJsonText(m.index)));
  if (m.format === 'docker-save') entries.push(file('manifest.json', toJsonText(m.dockerManifest)));
  entries.push(...m.extra);
  return entries;
}
