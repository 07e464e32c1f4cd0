/**
 * Test content for the registry client: random blobs, a tiny image as a
 * Docker v2 manifest and as an OCI manifest, and an index over both
 * platforms; temp dirs named so the suite's leftover check sees them.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';

export const sha256 = (b: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

export function tempDir(prefix: string): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), `berth-test-regclient-${prefix}-`));
}

/** A body factory over a buffer, delivered in small chunks so streaming paths are exercised. */
export function source(b: Buffer, chunk = 16 * 1024): () => Readable {
  return () => Readable.from((function* () {
    for (let i = 0; i < b.length; i += chunk) yield b.subarray(i, i + chunk);
  })());
}

export async function readAll(s: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of s) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

export interface Blob {
  bytes: Buffer;
  digest: string;
}

export function blob(size: number): Blob {
  const bytes = crypto.randomBytes(size);
  return { bytes, digest: sha256(bytes) };
}

export interface Image {
  layer: Blob;
  config: Blob;
  /** The same image as Docker v2 and as OCI. */
  docker: Blob & { mediaType: string };
  oci: Blob & { mediaType: string };
}

export const DOCKER_V2 = 'application/vnd.docker.distribution.manifest.v2+json';
export const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

export function image(architecture = 'amd64', layerSize = 3000): Image {
  const layer = blob(layerSize);
  const configBytes = Buffer.from(JSON.stringify({
    architecture, os: 'linux', config: { Cmd: ['/bin/true'] },
    rootfs: { type: 'layers', diff_ids: [sha256(crypto.randomBytes(8))] }, history: [{ created_by: 'berth test' }],
  }));
  const config = { bytes: configBytes, digest: sha256(configBytes) };
  const docker = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: DOCKER_V2,
    config: { mediaType: 'application/vnd.docker.container.image.v1+json', size: config.bytes.length, digest: config.digest },
    layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', size: layer.bytes.length, digest: layer.digest }],
  }));
  const oci = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: config.bytes.length, digest: config.digest },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', size: layer.bytes.length, digest: layer.digest }],
  }));
  return {
    layer, config,
    docker: { bytes: docker, digest: sha256(docker), mediaType: DOCKER_V2 },
    oci: { bytes: oci, digest: sha256(oci), mediaType: OCI_MANIFEST },
  };
}

/** An index (OCI or Docker list) over images for several platforms. */
export function indexOf(entries: Array<{ m: Blob & { mediaType: string }; arch: string; variant?: string }>, mediaType = OCI_INDEX): Blob & { mediaType: string } {
  const bytes = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    manifests: entries.map(({ m, arch, variant }) => ({
      mediaType: m.mediaType, digest: m.digest, size: m.bytes.length,
      platform: variant ? { architecture: arch, os: 'linux', variant } : { architecture: arch, os: 'linux' },
    })),
  }));
  return { bytes, digest: sha256(bytes), mediaType };
}
