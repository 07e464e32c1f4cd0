/**
 * The manifest media types berth pulls and pushes (fact sheet §3.1; OCI
 * image-spec v1.1 `media-types.md`, distribution v2.8.2 `manifest-v2-2.md`).
 *
 * Every manifest request sends all four in `Accept`: a registry answers with
 * the stored type only when the client lists it, and docker-registry 2.8.2
 * rewrites a manifest list into its linux/amd64 child (or answers 404 for an
 * OCI index) when the client lists only the Docker v2 manifest type (fact
 * sheet §4.1, "Content negotiation quirks").
 */
export const MediaType = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerManifestList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

/** Indexes first, so a registry that can serve either picks the multi-platform form, as Docker asks. */
export const MANIFEST_ACCEPT: readonly string[] = [
  MediaType.ociIndex,
  MediaType.dockerManifestList,
  MediaType.ociManifest,
  MediaType.dockerManifest,
];

/** True for a Docker manifest list or an OCI image index (entries per platform). */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.ociIndex || mediaType === MediaType.dockerManifestList;
}

/** `Content-Type` without parameters, lowercased; undefined when absent. */
export function bareMediaType(contentType: string | string[] | undefined): string | undefined {
  const value = Array.isArray(contentType) ? contentType[0] : contentType;
  const t = value?.split(';')[0].trim().toLowerCase();
  return t ? t : undefined;
}

/**
 * The media type of manifest bytes a registry returned. The body's own
 * `mediaType` wins over a generic `Content-Type` (`application/json`,
 * `text/plain`, `application/octet-stream`), which some registries and static
 * file servers send; an image-spec manifest without `mediaType` is told apart
 * from an index by its `manifests` array, as the image spec suggests.
 */
export function manifestMediaType(contentType: string | undefined, bytes: Buffer): string {
  const generic = !contentType || contentType === 'application/json' || contentType === 'text/plain' || contentType === 'application/octet-stream';
  if (!generic) return contentType;
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown; manifests?: unknown };
    if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
    return Array.isArray(doc.manifests) ? MediaType.ociIndex : MediaType.ociManifest;
  } catch {
    return contentType ?? 'application/octet-stream';
  }
}
