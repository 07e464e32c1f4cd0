/**
 * Pull, push and login: the engine side of the distribution API. The
 * registry client moves bytes; this module decides what to fetch or send,
 * verifies every blob (digest and size) before it becomes visible, keeps
 * in-flight layers leased so garbage collection leaves them alone, and
 * cleans up everything a failed or cancelled pull fetched.
 */
import { BerthError, InvalidParameterError, NotFoundError, SystemError, errorMessage } from '../errors.js';
import {
  familiarName, familiarString, formatReference, parseReference, repositoryName, withDefaultTag, type Reference,
} from '../image/reference.js';
import type { ImageConfig } from '../image/config.js';
import type { RegistryClient, RegistryCredentials } from '../registry/client/registry-client.js';
import { DOCKER_HUB_DOMAIN, endpointFor, mirrorEndpoint, parseMirrorFlag, type MirrorEntry, type RegistryEndpoint } from '../registry/client/endpoint.js';
import { digestOf, isDigest, parseDigest } from '../registry/client/digest.js';
import { MediaType, isIndexMediaType } from '../registry/client/media-types.js';
import { defaultPlatform, parsePlatform, selectManifest, type PlatformDescriptor } from '../registry/client/platform.js';
import type { ImageService } from './images.js';
import type { ContentStore } from '../store/content-store.js';
import { chainIds, DOCKER_LAYER_GZIP, LAYER_GZIP, type LayerBlob } from '../store/layer-store.js';
import { Slots } from './slots.js';
import type { Progress, PullLayer } from './pull-layers.js';
import { imageIdOf, type ImageRecord } from '../store/image-store.js';

export type { Progress } from './pull-layers.js';

export interface AuthConfig { username?: string; password?: string; serveraddress?: string; identitytoken?: string; registrytoken?: string }

const OCI_CONFIG_MEDIA = 'application/vnd.oci.image.config.v1+json';
const PARALLEL_DOWNLOADS = 3;
/** Blobs a push sends at a time: dockerd's default (--max-concurrent-uploads). */
const PARALLEL_UPLOADS = 5;
const LAYER_TYPES = new Set([
  'application/vnd.docker.image.rootfs.diff.tar.gzip', 'application/vnd.oci.image.layer.v1.tar+gzip',
  'application/vnd.oci.image.layer.v1.tar', 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip',
]);

/** Decodes `X-Registry-Auth` (base64url JSON, Docker's EncodeAuthConfig). */
export function decodeRegistryAuth(header: string | undefined): AuthConfig | undefined {
  if (!header) return undefined;
  try {
    const v = JSON.parse(Buffer.from(header.replace(/-/g, '+').replace(/_/g, '/'), 'base64').toString('utf8'));
    return v && typeof v === 'object' ? (v as AuthConfig) : undefined;
  } catch { return undefined; }
}

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

/** `GET /distribution/{name}/json`: what the registry has for a reference (moby registry.DistributionInspect). */
export interface DistributionInspect {
  Descriptor: { mediaType: string; digest: string; size: number };
  Platforms: Record<string, unknown>[];
}

/**
 * The registry client (~15 modules with node:https and node:tls) and the
 * resumable download, loaded by the first request that talks to a registry:
 * a daemon that only runs local images never needs them, and their code is
 * idle memory until then.
 */
let registryClientModule: Promise<typeof import('../registry/client/registry-client.js')> | undefined;
const registryClient = () => (registryClientModule ??= import('../registry/client/registry-client.js'));

export class Distribution {
  /**
   * `--registry-mirror` entries: pulls of a mirrored registry's images ask
   * its mirrors first, in order, then the registry itself, as dockerd does
   * for Docker Hub (moby registry/service_v2.go lookupV2Endpoints); berth
   * also mirrors other registries (`REGISTRY=URL`). Pushes never go to a
   * mirror.
   */
  private mirrors: MirrorEntry[] = [];

  constructor(
    private readonly images: ImageService,
    private readonly content: ContentStore,
    private readonly insecureRegistries: string[],
  ) {}

  /** Sets the mirrors (berthd's `--registry-mirror` values, parsed by registry/client/endpoint.ts parseMirrorFlag). */
  useMirrors(mirrors: readonly string[]): void {
    this.mirrors = mirrors.map(parseMirrorFlag);
  }

  /** Docker Hub's mirrors, as `docker info` shows them (RegistryConfig.Mirrors). */
  get registryMirrors(): string[] {
    return this.mirrorsOf(DOCKER_HUB_DOMAIN);
  }

  /** The other registries' mirrors, by registry (`docker info`'s IndexConfigs). */
  get otherRegistryMirrors(): Record<string, string[]> {
    const out: Record<string, string[]> = {};
    for (const m of this.mirrors) if (m.registry !== DOCKER_HUB_DOMAIN) (out[m.registry] ??= []).push(m.url);
    return out;
  }

  private mirrorsOf(registry: string): string[] {
    return this.mirrors.filter((m) => m.registry === registry).map((m) => m.url);
  }

  /** `--insecure-registry` entries as given (hosts and CIDRs), for `docker info`. */
  get insecureRegistryList(): string[] {
    return [...this.insecureRegistries];
  }

  private async client(ref: Reference, auth?: AuthConfig, signal?: AbortSignal): Promise<RegistryClient> {
    return this.clientAt(endpointFor(ref.domain, this.insecureRegistries), auth, signal);
  }

  private async clientAt(endpoint: RegistryEndpoint, auth?: AuthConfig, signal?: AbortSignal): Promise<RegistryClient> {
    const { RegistryClient } = await registryClient();
    let creds: RegistryCredentials | undefined;
    if (auth && (auth.username || auth.identitytoken || auth.registrytoken)) {
      creds = { username: auth.username, password: auth.password, identityToken: auth.identitytoken, registryToken: auth.registrytoken };
    }
    // Credentials come only from the client (X-Registry-Auth), as with dockerd: the daemon's own
    // ~/.docker/config.json would lend root's logins to every user of the socket.
    return new RegistryClient(endpoint, creds, { userAgent: 'berth/0.1.0', signal });
  }

  /**
   * Where a pull of `ref` may come from, in order: the mirrors of its
   * registry, then the registry itself. A mirror is another party than
   * the registry the client's credentials are for: it is asked anonymously
   * (its 401 challenge could name a token realm of its own, which would get
   * the Docker Hub password).
   */
  private pullEndpoints(ref: Reference): { endpoint: RegistryEndpoint; mirror: boolean }[] {
    const own = { endpoint: endpointFor(ref.domain, this.insecureRegistries), mirror: false };
    return [...this.mirrorsOf(ref.domain.toLowerCase()).map((m) => ({ endpoint: mirrorEndpoint(m, this.insecureRegistries), mirror: true })), own];
  }

  /**
   * Runs `first` (the pull's first request: a manifest, the tag list)
   * against each pull endpoint in turn until one answers, and returns that
   * endpoint's client with the answer; the rest of the pull stays with it.
   * A mirror that fails (unreachable, no such image, refused) is passed
   * over, as dockerd falls back from a mirror on any error; the registry's
   * own error is the one reported. A cancelled pull stops at once.
   */
  private async fromPullEndpoints<T>(ref: Reference, auth: AuthConfig | undefined, signal: AbortSignal | undefined, first: (c: RegistryClient) => Promise<T>): Promise<{ client: RegistryClient; value: T }> {
    const endpoints = this.pullEndpoints(ref);
    for (const [i, { endpoint: ep, mirror }] of endpoints.entries()) {
      const client = await this.clientAt(ep, mirror ? undefined : auth, signal);
      try {
        return { client, value: await first(client) };
      } catch (e) {
        client.close();
        if (signal?.aborted || i === endpoints.length - 1) throw e;
        console.error(`berthd: pull ${familiarString(ref)}: mirror ${ep.scheme}://${ep.host} failed (${errorMessage(e)}); trying the next endpoint`);
      }
    }
    throw new SystemError('no registry endpoint to pull from');
  }

  /**
   * `GET /distribution/{name}/json`: the manifest's descriptor and the
   * platforms it offers, from the mirrors first for Docker Hub's images
   * (moby api/server/router/distribution getDistributionInfo): an index
   * lists its manifests' platforms, a single manifest its config's.
   */
  async inspect(name: string, auth?: AuthConfig): Promise<DistributionInspect> {
    if (/^(sha256:)?[a-f0-9]{64}$/.test(name)) throw new InvalidParameterError('no manifest found for full image ID');
    const ref = withDefaultTag(parseReference(name));
    const reference = ref.digest ?? ref.tag!;
    const { client, value } = await this.fromPullEndpoints(ref, auth, undefined, async (c) => {
      const manifest = await c.getManifest(ref.path, reference);
      const platforms: Record<string, unknown>[] = [];
      const doc = JSON.parse(manifest.bytes.toString('utf8')) as { manifests?: PlatformDescriptor[]; config?: { digest: string; size: number } };
      if (isIndexMediaType(manifest.mediaType)) {
        for (const m of doc.manifests ?? []) if (m.platform) platforms.push(ociPlatform(m.platform as unknown as Record<string, unknown>));
      } else if (doc.config?.digest) {
        // As dockerd: a config that cannot be read or parsed just gives no platform.
        const config = await c.getBlob(ref.path, doc.config.digest)
          .then((b) => streamToBuffer(b, doc.config!.size, doc.config!.digest))
          .then((b) => JSON.parse(b.toString('utf8')) as Record<string, unknown>)
          .catch(() => undefined);
        if (config && (config.os || config.architecture)) platforms.push(ociPlatform(config));
      }
      return { Descriptor: { mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.bytes.length }, Platforms: platforms };
    });
    client.close();
    return value;
  }

  /** `POST /auth`: checks credentials against the registry. */
  async login(auth: AuthConfig): Promise<{ Status: string; IdentityToken?: string }> {
    const server = (auth.serveraddress || 'docker.io').replace(/^https?:\/\//, '').replace(/\/v1\/?$/, '').replace(/\/$/, '');
    const domain = server === 'index.docker.io' ? 'docker.io' : server;
    const { RegistryClient } = await registryClient();
    const client = new RegistryClient(endpointFor(domain, this.insecureRegistries), { username: auth.username, password: auth.password });
    try {
      await client.ping();
      return { Status: 'Login Succeeded', ...(client.identityToken ? { IdentityToken: client.identityToken } : {}) };
    } finally { client.close(); }
  }

  /** Pulls one reference (or every tag with `allTags`). */
  async pull(refStr: string, o: { auth?: AuthConfig; platform?: string; allTags?: boolean; progress: Progress; signal?: AbortSignal }): Promise<void> {
    const ref = parseReference(refStr);
    if (o.allTags) {
      if (ref.tag || ref.digest) throw new InvalidParameterError('tag can\'t be used with --all-tags/-a');
      const { client, value: tags } = await this.fromPullEndpoints(ref, o.auth, o.signal, (c) => c.listTags(ref.path));
      client.close();
      for (const tag of tags) await this.pullOne({ ...ref, tag }, o);
      o.progress({ status: `Status: Downloaded newer image for ${familiarName(ref)}` });
      return;
    }
    await this.pullOne(withDefaultTag(ref), o, true);
  }

  private async pullOne(ref: Reference, o: { auth?: AuthConfig; platform?: string; progress: Progress; signal?: AbortSignal }, final = false): Promise<ImageRecord> {
    // One cancellation for the whole pull: the caller's (its client went away) or the first
    // failure's. It cuts every registry request in flight, stops the other downloads and the
    // extraction, and the clean-up below runs only once nothing is writing any more.
    const cancel = new AbortController();
    const stop = () => cancel.abort(o.signal?.reason instanceof BerthError ? o.signal.reason : new SystemError('context canceled'));
    if (o.signal?.aborted) stop();
    else o.signal?.addEventListener('abort', stop, { once: true });
    let client: RegistryClient | undefined;
    const lease = this.images.layers.lease();
    const fetched: string[] = [];
    let layersDone: Promise<void> = Promise.resolve();
    let ok = false;
    try {
      // Loaded on the first pull, with the registry client's download modules it uses (not at berthd's start).
      const { pullLayers } = await import('./pull-layers.js');
      const reference = ref.digest ?? ref.tag!;
      // A missing manifest is `manifest for … not found: manifest unknown: …`, a refused one
      // `pull access denied for …` (registry-client.ts words them as Docker does).
      const first = await this.fromPullEndpoints(ref, o.auth, cancel.signal, (c) => c.getManifest(ref.path, reference));
      client = first.client;
      const top = first.value;
      const registry = client;
      // After the manifest, as dockerd's puller: a missing or refused image is an error, not a pull that started.
      o.progress({ status: `Pulling from ${familiarName(ref)}`, id: ref.digest ?? ref.tag });
      let manifest = top;
      if (isIndexMediaType(top.mediaType)) {
        const index = JSON.parse(top.bytes.toString('utf8')) as { manifests: PlatformDescriptor[] };
        const chosen = selectManifest(index.manifests, o.platform ? parsePlatform(o.platform) : defaultPlatform());
        checkDigest(chosen.digest, 'manifest');
        manifest = await registry.getManifest(ref.path, chosen.digest);
      }
      const m = JSON.parse(manifest.bytes.toString('utf8')) as { config?: { digest: string; size: number }; layers?: { digest: string; size: number; mediaType: string }[] };
      if (!m.config || !m.layers) throw new InvalidParameterError(`unsupported manifest type ${manifest.mediaType}`);
      // The manifest is the registry's word: every digest and size is checked before it names a
      // file in the content store or a URL (a digest such as `sha256:../../x` would reach outside).
      checkDescriptor(m.config, 'config');
      for (const l of m.layers) {
        checkDescriptor(l, 'layer');
        if (!LAYER_TYPES.has(l.mediaType)) throw new InvalidParameterError(`unsupported layer media type ${l.mediaType} (${l.digest})`);
        // berth's content store holds sha256 blobs (store/content-store.ts); say so rather than fail verifying.
        if (parseDigest(l.digest).algorithm !== 'sha256') throw new InvalidParameterError(`unsupported layer digest algorithm in ${l.digest}: berth stores sha256 layers only`);
      }
      const configBytes = await streamToBuffer(await registry.getBlob(ref.path, m.config.digest), m.config.size, m.config.digest);
      const config = JSON.parse(configBytes.toString('utf8')) as ImageConfig;
      const diffIds = config.rootfs?.diff_ids ?? [];
      if (diffIds.length !== m.layers.length) throw new InvalidParameterError(`invalid image config: ${diffIds.length} diff_ids for ${m.layers.length} layers`);
      const chains = chainIds(diffIds);
      // Leased at once (no await since has()): garbage collection cannot take a layer found here.
      const layers: PullLayer[] = m.layers.map((l, i) => ({
        digest: l.digest, size: l.size, mediaType: l.mediaType, diffId: diffIds[i], chainId: chains[i], present: this.images.layers.has(chains[i]),
      }));
      for (const l of layers) if (l.present) lease.layers.add(l.chainId);
      for (const l of layers) o.progress({ status: l.present ? 'Already exists' : 'Pulling fs layer', progressDetail: {}, id: short(l.digest) });
      layersDone = pullLayers({
        registry, repo: ref.path, content: this.content, layers: this.images.layers, lease, cancel, progress: o.progress, fetched, parallel: PARALLEL_DOWNLOADS,
      }, layers);
      await layersDone;
      const parent = chains.at(-1) ?? null;
      // The manifests go into the content store first (unreferenced, so a failure drops them);
      // from the image record on, nothing awaits: a pull cancelled now is a pull finished.
      for (const b of top === manifest ? [top.bytes] : [top.bytes, manifest.bytes]) {
        const { digest } = await this.content.putBytes(b);
        fetched.push(digest);
      }
      cancel.signal.throwIfAborted();
      const size = this.images.layers.chain(parent).reduce((n, l) => n + l.size, 0);
      const existed = ref.tag ? this.images.store.resolveTag(formatReference(ref)) === imageIdOf(configBytes) : true;
      // The image, its manifests and its tag in one transaction: a crash leaves the pull done or undone.
      const img = this.images.store.atomically(() => {
        const rec = this.images.store.put(configBytes, parent, size);
        this.images.store.addManifest(rec.id, repositoryName(ref), top.digest, top.mediaType);
        if (top !== manifest) this.images.store.addManifest(rec.id, repositoryName(ref), manifest.digest, manifest.mediaType);
        if (ref.tag) this.images.tag(rec.id, formatReference(ref));
        return rec;
      });
      ok = true;
      o.progress({ status: `Digest: ${top.digest}` });
      if (final) {
        o.progress({ status: existed ? `Status: Image is up to date for ${familiarString(ref)}` : `Status: Downloaded newer image for ${familiarString(ref)}` });
      }
      return img;
    } catch (e) {
      if (!cancel.signal.aborted) cancel.abort(e);
      // A request cut by the cancellation fails with a network error; say why it was cut.
      throw cancel.signal.aborted ? cancel.signal.reason : e;
    } finally {
      await layersDone.catch(() => undefined);
      o.signal?.removeEventListener('abort', stop);
      client?.close();
      lease.release();
      if (!ok) {
        // Nothing of a failed pull may stay: unreferenced layers, then blobs no layer took.
        await this.images.layers.collectGarbage().catch(() => undefined);
        for (const d of fetched) if (!this.images.layers.blobReferenced(d)) await this.content.delete(d);
      }
    }
  }

  /**
   * A manifest kept for the image (it was pulled, or pushed before) that
   * names one blob per layer, each still in the content store; undefined
   * when there is none.
   */
  private async keptManifest(imageId: string, layerCount: number): Promise<{ bytes: Buffer; mediaType: string; layers: LayerBlob[] } | undefined> {
    for (const m of this.images.store.manifestsOf(imageId)) {
      if (isIndexMediaType(m.mediaType)) continue;
      const bytes = await this.content.read(m.digest).catch(() => undefined);
      if (!bytes) continue;
      let layers: LayerBlob[];
      try {
        const parsed = JSON.parse(bytes.toString('utf8')) as { layers?: { mediaType?: unknown; digest?: unknown; size?: unknown }[] };
        if (!Array.isArray(parsed.layers) || parsed.layers.length !== layerCount) continue;
        layers = parsed.layers.map((l) => {
          checkDescriptor({ digest: l.digest, size: l.size }, 'layer');
          return { digest: l.digest as string, size: l.size as number, mediaType: typeof l.mediaType === 'string' ? l.mediaType : LAYER_GZIP };
        });
      } catch {
        continue;
      }
      let complete = true;
      for (const l of layers) if ((await this.content.info(l.digest))?.size !== l.size) complete = false;
      if (complete) return { bytes, mediaType: m.mediaType, layers };
    }
    return undefined;
  }

  /**
   * A client of `name`'s registry with the repository path and the tag or
   * digest `name` gives (`latest` when none): what the build cache's
   * `type=registry` export and import talk to (build-cache-registry.ts).
   * The caller closes the client.
   */
  async repository(name: string, auth?: AuthConfig, signal?: AbortSignal): Promise<{ client: RegistryClient; path: string; reference: string }> {
    const ref = withDefaultTag(parseReference(name));
    return { client: await this.client(ref, auth, signal), path: ref.path, reference: ref.digest ?? ref.tag! };
  }

  /**
   * Pushes one tag; aborting `signal` (the client went away) cuts the uploads
   * in flight. Up to PARALLEL_UPLOADS blobs go at a time, the image's top
   * layer first (as dockerd); the first failure cuts the others.
   */
  async push(name: string, o: { tag?: string; auth?: AuthConfig; progress: Progress; signal?: AbortSignal }): Promise<void> {
    const ref = withDefaultTag(parseReference(o.tag ? `${name}:${o.tag}` : name));
    const img = this.images.resolve(formatReference(ref));
    const cancel = new AbortController();
    const stop = () => cancel.abort(o.signal?.reason);
    if (o.signal?.aborted) stop();
    else o.signal?.addEventListener('abort', stop, { once: true });
    const client = await this.client(ref, o.auth, cancel.signal);
    try {
      o.progress({ status: `The push refers to repository [${familiarName(ref)}]` });
      const layers = this.images.layers.chain(img.topLayer);
      const otherRepos = this.images.store.repositoriesOf(img.id).filter((r) => r.startsWith(`${ref.domain}/`) && r !== repositoryName(ref));
      // Re-send a manifest we already have for this image, with the very blobs it names (its digest
      // must not change); else write an OCI manifest of each layer's push blob (a layer made here is
      // gzipped now, at its first push), which skopeo, containerd and Docker ≥ 25 keep byte for byte.
      const kept = await this.keptManifest(img.id, layers.length);
      const blobOf = (i: number): Promise<LayerBlob> => kept ? Promise.resolve(kept.layers[i]) : this.images.layers.pushBlob(layers[i].diffId);
      // Top layer first, as dockerd.
      const order = layers.map((_, i) => i).reverse();
      for (const i of order) o.progress({ status: 'Preparing', progressDetail: {}, id: short(layers[i].diffId) });
      const slots = new Slots(PARALLEL_UPLOADS);
      const pushLayer = async (i: number): Promise<LayerBlob> => {
        const id = short(layers[i].diffId);
        await slots.take(cancel.signal);
        try {
          const blob = await blobOf(i);
          if (await client.blobExists(ref.path, blob.digest)) { o.progress({ status: 'Layer already exists', progressDetail: {}, id }); return blob; }
          for (const r of otherRepos) {
            if (await client.mountBlob(ref.path, blob.digest, r.slice(ref.domain.length + 1))) {
              o.progress({ status: `Mounted from ${familiarName(parseReference(r))}`, progressDetail: {}, id });
              return blob;
            }
          }
          await client.uploadBlob(ref.path, blob.digest, blob.size, () => this.content.open(blob.digest), {
            onProgress: (n) => o.progress({ status: 'Pushing', progressDetail: { current: n, total: blob.size }, id }),
          });
          o.progress({ status: 'Pushed', progressDetail: {}, id });
          return blob;
        } finally {
          slots.give();
        }
      };
      // Layers of the chain with one diffId (empty layers) send their blob once.
      const byKey = new Map<string, Promise<LayerBlob>>();
      const uploads = new Map<number, Promise<LayerBlob>>();
      for (const i of order) {
        const key = kept ? kept.layers[i].digest : layers[i].diffId;
        let p = byKey.get(key);
        if (!p) {
          p = pushLayer(i).catch((e: unknown) => {
            if (!cancel.signal.aborted) cancel.abort(e);
            throw e;
          });
          p.catch(() => undefined);
          byKey.set(key, p);
        }
        uploads.set(i, p);
      }
      const sent = await Promise.allSettled(layers.map((_, i) => uploads.get(i)!));
      // The first failure, not the requests it cut.
      if (cancel.signal.aborted) throw cancel.signal.reason;
      const descs: LayerBlob[] = [];
      for (const r of sent) {
        if (r.status === 'rejected') throw r.reason;
        descs.push({ mediaType: r.value.mediaType === DOCKER_LAYER_GZIP ? LAYER_GZIP : r.value.mediaType, size: r.value.size, digest: r.value.digest });
      }
      if (!(await client.blobExists(ref.path, img.id))) {
        await client.uploadBlob(ref.path, img.id, img.configBytes.length, () => bufferStream(img.configBytes));
      }
      const mediaType: string = kept?.mediaType ?? MediaType.ociManifest;
      const bytes = kept?.bytes ?? Buffer.from(JSON.stringify({
        schemaVersion: 2, mediaType: MediaType.ociManifest,
        config: { mediaType: OCI_CONFIG_MEDIA, size: img.configBytes.length, digest: img.id },
        layers: descs,
      }));
      const digest = await client.putManifest(ref.path, ref.tag!, bytes, mediaType);
      await this.content.putBytes(bytes);
      this.images.store.addManifest(img.id, repositoryName(ref), digest, mediaType);
      o.progress({ status: `${ref.tag}: digest: ${digest} size: ${bytes.length}` });
      o.progress({ progressDetail: {}, aux: { Tag: ref.tag, Digest: digest, Size: bytes.length } });
    } finally {
      o.signal?.removeEventListener('abort', stop);
      client.close();
    }
  }
}

/** Throws unless `digest` is a digest of a registered algorithm (the registry client's parseDigest), in Docker's words. */
function checkDigest(digest: unknown, what: string): void {
  if (typeof digest !== 'string' || !isDigest(digest)) throw new InvalidParameterError(`invalid ${what} digest in manifest: ${JSON.stringify(digest)}`);
}

/** A manifest descriptor: a valid digest and a size that is a whole number of bytes. */
function checkDescriptor(desc: { digest: unknown; size: unknown }, what: string): void {
  checkDigest(desc.digest, what);
  if (typeof desc.size !== 'number' || !Number.isSafeInteger(desc.size) || desc.size < 0) {
    throw new InvalidParameterError(`invalid ${what} size in manifest for ${String(desc.digest)}: ${JSON.stringify(desc.size)}`);
  }
}

/** An OCI platform object as Go's ocispec.Platform marshals it: empty optional fields left out. */
function ociPlatform(p: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { architecture: p.architecture ?? '', os: p.os ?? '' };
  if (p['os.version']) out['os.version'] = p['os.version'];
  if (Array.isArray(p['os.features']) && p['os.features'].length) out['os.features'] = p['os.features'];
  if (p.variant) out.variant = p.variant;
  return out;
}

/**
 * The most of a config read into memory: far beyond any real image's, and a
 * bound whatever a hostile registry's descriptor claims (2^52 bytes, or no
 * number at all) while it streams an endless body.
 */
const MAX_CONFIG_BYTES = 16 << 20;

async function streamToBuffer(s: import('node:stream').Readable, size: number, digest: string): Promise<Buffer> {
  // A small descriptor is allowed some slack (as before); an unreadable or huge one is capped.
  const limit = Number.isSafeInteger(size) && size >= 0 ? Math.min(Math.max(size, 8 << 20), MAX_CONFIG_BYTES) : 8 << 20;
  if (Number.isSafeInteger(size) && size > MAX_CONFIG_BYTES) {
    s.destroy();
    throw new InvalidParameterError(`blob ${digest} is too large: ${size} bytes (berth reads at most ${MAX_CONFIG_BYTES} of a config)`);
  }
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of s) {
    n += (c as Buffer).length;
    if (n > limit) throw new InvalidParameterError(`blob ${digest} is larger than its descriptor says`);
    chunks.push(c as Buffer);
  }
  const b = Buffer.concat(chunks);
  // The descriptor's own algorithm (sha256, sha384 or sha512, as go-digest verifies), never assumed sha256.
  const got = digestOf(b, parseDigest(digest).algorithm);
  if (got !== digest) throw new InvalidParameterError(`failed to verify ${digest}: digest mismatch: got ${got}`);
  return b;
}

function bufferStream(b: Buffer): import('node:stream').Readable {
  return (async function* () { yield b; })() as unknown as import('node:stream').Readable;
}
