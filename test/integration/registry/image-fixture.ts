/**
 * A tiny image built in memory: one gzipped tar layer holding one file, an OCI
 * config, an OCI manifest; and the same written as an OCI image layout
 * (`oci-layout`, `index.json`, `blobs/sha256/`) for skopeo's `oci:` transport.
 */
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';

export const sha256 = (b: Buffer | string): string => `sha256:${crypto.createHash('sha256').update(b).digest('hex')}`;

/** A ustar archive with one regular file. */
export function tarOneFile(name: string, content: string): Buffer {
  const hdr = Buffer.alloc(512);
  hdr.write(name, 0);
  hdr.write('0000644\0', 100);
  hdr.write('0000000\0', 108);
  hdr.write('0000000\0', 116);
  hdr.write(Buffer.byteLength(content).toString(8).padStart(11, '0') + '\0', 124);
  hdr.write('00000000000\0', 136);
  hdr.write('        ', 148);
  hdr.write('0', 156);
  hdr.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const b of hdr) sum += b;
  hdr.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const data = Buffer.alloc(Math.ceil(Buffer.byteLength(content) / 512) * 512);
  Buffer.from(content).copy(data);
  return Buffer.concat([hdr, data, Buffer.alloc(1024)]);
}

export interface TinyImage {
  layer: Buffer;
  config: Buffer;
  manifest: Buffer;
  manifestDigest: string;
  mediaType: string;
}

export function tinyImage(content = 'hello from berth\n'): TinyImage {
  const tar = tarOneFile('hello.txt', content);
  const layer = zlib.gzipSync(tar);
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Cmd: ['/bin/cat', '/hello.txt'] },
    rootfs: { type: 'layers', diff_ids: [sha256(tar)] }, history: [{ created_by: 'berth test' }],
  }));
  const mediaType = 'application/vnd.oci.image.manifest.v1+json';
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: sha256(layer), size: layer.length }],
  }));
  return { layer, config, manifest, manifestDigest: sha256(manifest), mediaType };
}

/** An OCI image index with `img` as its linux/amd64 entry. */
export function indexOf(img: TinyImage): { index: Buffer; digest: string; mediaType: string } {
  const mediaType = 'application/vnd.oci.image.index.v1+json';
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    manifests: [{ mediaType: img.mediaType, digest: img.manifestDigest, size: img.manifest.length, platform: { architecture: 'amd64', os: 'linux' } }],
  }));
  return { index, digest: sha256(index), mediaType };
}

/**
 * Writes `img` as an OCI image layout: tag `imageTag` names the image
 * manifest, and `indexTag` (when given) an index holding it.
 */
export async function writeOciLayout(dir: string, img: TinyImage, imageTag: string, indexTag?: string): Promise<void> {
  const blobs = path.join(dir, 'blobs', 'sha256');
  await fs.mkdir(blobs, { recursive: true });
  const idx = indexOf(img);
  for (const b of [img.layer, img.config, img.manifest, idx.index]) await fs.writeFile(path.join(blobs, sha256(b).slice(7)), b);
  const manifests = [{ mediaType: img.mediaType, digest: img.manifestDigest, size: img.manifest.length, annotations: { 'org.opencontainers.image.ref.name': imageTag } }];
  if (indexTag) manifests.push({ mediaType: idx.mediaType, digest: idx.digest, size: idx.index.length, annotations: { 'org.opencontainers.image.ref.name': indexTag } });
  await fs.writeFile(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  await fs.writeFile(path.join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests }));
}

/** The manifest digest an OCI layout's index names for `tag`. */
export async function layoutDigest(dir: string, tag: string): Promise<string | undefined> {
  const index = JSON.parse(await fs.readFile(path.join(dir, 'index.json'), 'utf8')) as {
    manifests: Array<{ digest: string; annotations?: Record<string, string> }>;
  };
  return index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag)?.digest;
}

/** A gzipped tar layer holding one file. */
export function gzipLayer(name: string, content: string): Buffer {
  return zlib.gzipSync(tarOneFile(name, content));
}

/** Media types of the two manifest formats a registry sees. */
export const FORMATS = {
  oci: {
    manifest: 'application/vnd.oci.image.manifest.v1+json',
    index: 'application/vnd.oci.image.index.v1+json',
    config: 'application/vnd.oci.image.config.v1+json',
    layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  },
  docker: {
    manifest: 'application/vnd.docker.distribution.manifest.v2+json',
    index: 'application/vnd.docker.distribution.manifest.list.v2+json',
    config: 'application/vnd.docker.container.image.v1+json',
    layer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
  },
} as const;

export interface LayeredImage {
  layers: Buffer[];
  config: Buffer;
  manifest: Buffer;
  manifestDigest: string;
  mediaType: string;
}

/** An image of `layers` (gzipped tars, bottom first) whose config `label` tells apart from others with the same layers. */
export function layeredImage(layers: Buffer[], label: string, format: keyof typeof FORMATS = 'oci'): LayeredImage {
  const types = FORMATS[format];
  const config = Buffer.from(JSON.stringify({
    architecture: 'amd64', os: 'linux', config: { Labels: { label } },
    rootfs: { type: 'layers', diff_ids: layers.map((l) => sha256(zlib.gunzipSync(l))) }, history: [{ created_by: `berth test ${label}` }],
  }));
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType: types.manifest,
    config: { mediaType: types.config, digest: sha256(config), size: config.length },
    layers: layers.map((l) => ({ mediaType: types.layer, digest: sha256(l), size: l.length })),
  }));
  return { layers, config, manifest, manifestDigest: sha256(manifest), mediaType: types.manifest };
}

/** An index (manifest list) over manifests, one platform entry each. */
export function indexOver(children: Array<{ manifest: Buffer; mediaType: string }>, format: keyof typeof FORMATS = 'oci'): { index: Buffer; digest: string; mediaType: string } {
  const mediaType = FORMATS[format].index;
  const archs = ['amd64', 'arm64', 's390x', 'ppc64le'];
  const index = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType,
    manifests: children.map((c, i) => ({
      mediaType: c.mediaType, digest: sha256(c.manifest), size: c.manifest.length, platform: { architecture: archs[i % archs.length], os: 'linux' },
    })),
  }));
  return { index, digest: sha256(index), mediaType };
}

/**
 * An OCI artifact that refers to `subject` (a signature, an SBOM): the empty
 * config `{}` and one blob.
 */
export function referrerOf(subject: { manifest: Buffer; mediaType: string }, content: string): { manifest: Buffer; digest: string; mediaType: string; config: Buffer; blob: Buffer } {
  const config = Buffer.from('{}');
  const blob = Buffer.from(content);
  const mediaType = FORMATS.oci.manifest;
  const manifest = Buffer.from(JSON.stringify({
    schemaVersion: 2, mediaType, artifactType: 'application/vnd.berth.test.signature',
    config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(config), size: config.length },
    layers: [{ mediaType: 'application/octet-stream', digest: sha256(blob), size: blob.length }],
    subject: { mediaType: subject.mediaType, digest: sha256(subject.manifest), size: subject.manifest.length },
  }));
  return { manifest, digest: sha256(manifest), mediaType, config, blob };
}
