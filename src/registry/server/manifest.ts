/**
 * Reading a pushed manifest: what it is, and what it points at.
 *
 * OCI distribution spec v1.1 §"Pushing Manifests": the registry stores the exact
 * bytes; the `Content-Type` should equal the body's `mediaType` when it has one
 * (docker-registry 2.8.2 answers `MANIFEST_INVALID` otherwise, fact sheet §4.1);
 * descriptors that name missing content MAY be refused with
 * `MANIFEST_BLOB_UNKNOWN`; a `subject` MUST be accepted even when it does not
 * exist yet. Media types and fields are from the image spec (fact sheet §3.1,
 * §3.2). Nothing here re-serialises the manifest: its digest is over the bytes.
 */
import { DistributionError } from './errors.js';
import { looksLikeDigest, parseDigest, type Digest } from './names.js';

export const MEDIA_TYPES = {
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerSchema1: 'application/vnd.docker.distribution.manifest.v1+json',
  dockerSchema1Signed: 'application/vnd.docker.distribution.manifest.v1+prettyjws',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
} as const;

/**
 * Largest manifest accepted. The spec: registries SHOULD enforce a limit, answer
 * 413 above it, and accept at least 4 MB.
 */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  artifactType?: string;
  annotations?: Record<string, string>;
}

export interface ParsedManifest {
  /** The type stored with the revision and served as `Content-Type`. */
  mediaType: string;
  /** `config`, `layers[]` (and an artifact's `blobs[]`): must be blobs of the repository. */
  blobs: Descriptor[];
  /** An index's `manifests[]`: must be manifests of the repository. */
  manifests: Descriptor[];
  subject?: Descriptor;
  /** For a referrers descriptor: `artifactType`, else an image manifest's config media type. */
  artifactType?: string;
  annotations?: Record<string, string>;
}

const invalid = (message: string, detail?: unknown) => new DistributionError('MANIFEST_INVALID', { message, detail });

/** `Content-Type` without parameters (the spec: registries SHOULD ignore them), lowercased. */
export function bareMediaType(contentType: string | undefined): string | undefined {
  const t = contentType?.split(';')[0].trim().toLowerCase();
  return t ? t : undefined;
}

function descriptor(v: unknown, where: string): Descriptor {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw invalid(`${where}: descriptor must be an object`);
  const d = v as Record<string, unknown>;
  if (typeof d.digest !== 'string' || !looksLikeDigest(d.digest)) throw invalid(`${where}: invalid digest`, { digest: d.digest });
  if (typeof d.size !== 'number' || !Number.isSafeInteger(d.size) || d.size < 0) throw invalid(`${where}: invalid size`, { digest: d.digest });
  if (d.mediaType !== undefined && typeof d.mediaType !== 'string') throw invalid(`${where}: invalid mediaType`);
  const out: Descriptor = { mediaType: (d.mediaType as string | undefined) ?? '', digest: d.digest, size: d.size };
  if (Array.isArray(d.urls)) out.urls = d.urls.filter((u): u is string => typeof u === 'string');
  if (typeof d.artifactType === 'string') out.artifactType = d.artifactType;
  if (d.annotations && typeof d.annotations === 'object') out.annotations = d.annotations as Record<string, string>;
  return out;
}

function descriptors(v: unknown, where: string, required: boolean): Descriptor[] {
  if (v === undefined || v === null) {
    if (required) throw invalid(`${where} is required`);
    return [];
  }
  if (!Array.isArray(v)) throw invalid(`${where} must be an array`);
  return v.map((d, i) => descriptor(d, `${where}[${i}]`));
}

/**
 * Layers the registry need not hold: Docker foreign layers and OCI
 * non-distributable layers that say where to fetch them (`urls`).
 */
export function isExternalLayer(d: Descriptor): boolean {
  return !!d.urls?.length && (d.mediaType.includes('.foreign.') || d.mediaType.includes('nondistributable'));
}

/** Parses and checks a manifest; throws `MANIFEST_INVALID` (400). */
export function parseManifest(bytes: Buffer, contentType: string | undefined): ParsedManifest {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw invalid(`manifest is not JSON: ${(err as Error).message}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid('manifest must be a JSON object');
  const m = doc as Record<string, unknown>;
  if (m.mediaType !== undefined && typeof m.mediaType !== 'string') throw invalid('mediaType must be a string');

  const declared = m.mediaType as string | undefined;
  let header = bareMediaType(contentType);
  // Clients without a type of their own send a generic one; let the body speak.
  if (header === 'application/octet-stream' || header === 'application/json') header = undefined;
  if (declared && header && declared.toLowerCase() !== header) {
    throw invalid(`Content-Type ${header} does not match the manifest's mediaType ${declared}`, { contentType: header, mediaType: declared });
  }
  const mediaType = declared ?? header ?? (Array.isArray(m.manifests) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);

  if (mediaType === MEDIA_TYPES.dockerSchema1 || mediaType === MEDIA_TYPES.dockerSchema1Signed || m.schemaVersion === 1) {
    throw invalid('schema 1 manifests are not supported');
  }

  const parsed: ParsedManifest = { mediaType, blobs: [], manifests: [] };
  const isImage = mediaType === MEDIA_TYPES.ociManifest || mediaType === MEDIA_TYPES.dockerManifest;
  const isIndex = mediaType === MEDIA_TYPES.ociIndex || mediaType === MEDIA_TYPES.dockerList;
  if ((isImage || isIndex) && m.schemaVersion !== 2) throw invalid('schemaVersion must be 2', { schemaVersion: m.schemaVersion });

  if (isImage || m.config !== undefined) {
    if (m.config === undefined) throw invalid('config is required');
    parsed.blobs.push(descriptor(m.config, 'config'));
  }
  parsed.blobs.push(...descriptors(m.layers, 'layers', mediaType === MEDIA_TYPES.dockerManifest));
  parsed.blobs.push(...descriptors(m.blobs, 'blobs', false));
  parsed.manifests = descriptors(m.manifests, 'manifests', isIndex);

  if (m.subject !== undefined) parsed.subject = descriptor(m.subject, 'subject');
  if (typeof m.artifactType === 'string' && m.artifactType) parsed.artifactType = m.artifactType;
  else if (!isIndex && m.config !== undefined) parsed.artifactType = parsed.blobs[0].mediaType || undefined;
  if (m.annotations && typeof m.annotations === 'object' && !Array.isArray(m.annotations)) {
    parsed.annotations = m.annotations as Record<string, string>;
  }
  return parsed;
}

/** What a stored manifest points at, as digests this registry can hold. */
export interface ManifestReferences {
  /** `config`, `layers[]` and an artifact's `blobs[]`. */
  blobs: Digest[];
  /** An index's (manifest list's) `manifests[]`. */
  manifests: Digest[];
  /** The manifest this one refers to (it is a referrer of its subject). */
  subject?: Digest;
}

/**
 * The references of a stored manifest, for garbage collection. It is read the
 * way PUT read it (`parseManifest` with the media type recorded then), so
 * what was accepted reads the same now; anything else throws
 * `MANIFEST_INVALID`. Descriptors whose digest is of no registered algorithm are left out:
 * such content cannot be stored here (`names.ts`).
 */
export function manifestReferences(bytes: Buffer, mediaType: string | undefined): ManifestReferences {
  const parsed = parseManifest(bytes, mediaType);
  const storable = (descs: Descriptor[]): Digest[] => descs.flatMap((desc) => {
    try {
      return [parseDigest(desc.digest)];
    } catch {
      return [];
    }
  });
  const refs: ManifestReferences = { blobs: storable(parsed.blobs), manifests: storable(parsed.manifests) };
  const [subject] = storable(parsed.subject ? [parsed.subject] : []);
  if (subject) refs.subject = subject;
  return refs;
}
