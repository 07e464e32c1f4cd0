/**
 * `--cache-to type=registry,ref=…` and `--cache-from type=registry,ref=…`:
 * the build cache artifact (build/cache-manifest.ts) as a manifest in a
 * registry repository, its blobs beside it — what BuildKit's registry
 * cache exporter pushes (an OCI image manifest whose config is the cache
 * config). Blobs are pushed once (a blob the repository has is skipped)
 * and verified (digest and size) as they are pulled.
 */
import { InvalidParameterError, errorMessage } from '../errors.js';
import type { CacheArtifact, Descriptor } from '../build/cache-manifest.js';
import { verifyingStream } from '../registry/client/verify.js';
import type { RegistryClient } from '../registry/client/registry-client.js';
import type { CacheBlobTarget } from './build-cache-export.js';
import type { CacheBlobSource } from './build-cache-import.js';
import type { AuthConfig, Distribution } from './distribution.js';

const CACHE_MANIFEST_ACCEPT = [
  'application/vnd.oci.image.manifest.v1+json', 'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json',
];

export interface RegistryCacheRepository {
  target: CacheBlobTarget;
  source: CacheBlobSource;
  /** Tags the artifact's manifest as the reference's tag. */
  putManifest(artifact: CacheArtifact): Promise<string>;
  /** The manifest the reference names: its bytes and descriptor. */
  getManifest(): Promise<{ bytes: Buffer; desc: Descriptor }>;
  close(): void;
}

export async function registryCacheRepository(distribution: Distribution, name: string, auth: AuthConfig | undefined, signal: AbortSignal): Promise<RegistryCacheRepository> {
  let repo: { client: RegistryClient; path: string; reference: string };
  try {
    repo = await distribution.repository(name, auth, signal);
  } catch (e) {
    throw new InvalidParameterError(`invalid cache reference ${JSON.stringify(name)}: ${errorMessage(e)}`);
  }
  const { client, path, reference } = repo;
  return {
    target: {
      write: async (d, open) => {
        if (await client.blobExists(path, d.digest)) return;
        await client.uploadBlob(path, d.digest, d.size, open);
      },
    },
    source: {
      read: async function* (d) {
        const body = await client.getBlob(path, d.digest);
        const verify = verifyingStream(d.digest, d.size);
        body.on('error', (e) => verify.destroy(e));
        yield* body.pipe(verify) as AsyncIterable<Buffer>;
      },
    },
    putManifest: (a) => client.putManifest(path, reference, a.manifest, a.manifestDesc.mediaType),
    getManifest: async () => {
      const m = await client.getManifest(path, reference, CACHE_MANIFEST_ACCEPT);
      return { bytes: m.bytes, desc: { mediaType: m.mediaType, digest: m.digest, size: m.bytes.length } };
    },
    close: () => client.close(),
  };
}
