/**
 * Where everything lives under the storage root. One place decides paths, so
 * the on-disk format can be read in one screen:
 *
 *   blobs/<algorithm>/<hex>                              content, global, deduplicated
 *   repositories/<name>/_layers/<hex>                    link: the blob is in <name>
 *   repositories/<name>/_manifests/revisions/<hex>       link + media type (JSON)
 *
 * (a link's name is the hex for sha256, `<algorithm>-<hex>` for another
 * registered algorithm: `names.ts` digestFileName)
 *   repositories/<name>/_manifests/tags/<tag>            the digest the tag points at
 *   _uploads/<uuid>/{data,state}                         upload sessions in progress
 *   _tmp/                                                temp files, renamed into place
 *   _lock                                                pid of the one process using the root
 *
 * The shape follows docker-registry's filesystem driver (a blob is visible in a
 * repository only through a link), which is what makes cross-repository mount
 * a link write and dedup free. Names and tags are validated (`names.ts`)
 * before they reach here, so they cannot escape the root.
 */
import path from 'node:path';
import { digestFileName, type Digest, type DigestAlgorithm } from './names.js';

export class StorageLayout {
  constructor(readonly root: string) {}

  get blobsRoot(): string { return path.join(this.root, 'blobs'); }
  blobsDir(algorithm: DigestAlgorithm): string { return path.join(this.blobsRoot, algorithm); }
  blob(d: Digest): string { return path.join(this.blobsDir(d.algorithm), d.hex); }

  get repositoriesDir(): string { return path.join(this.root, 'repositories'); }
  repository(name: string): string { return path.join(this.repositoriesDir, ...name.split('/')); }

  layersDir(name: string): string { return path.join(this.repository(name), '_layers'); }
  layerLink(name: string, d: Digest): string { return path.join(this.layersDir(name), digestFileName(d)); }

  revisionsDir(name: string): string { return path.join(this.repository(name), '_manifests', 'revisions'); }
  revision(name: string, d: Digest): string { return path.join(this.revisionsDir(name), digestFileName(d)); }

  tagsDir(name: string): string { return path.join(this.repository(name), '_manifests', 'tags'); }
  tag(name: string, tag: string): string { return path.join(this.tagsDir(name), tag); }

  get uploadsDir(): string { return path.join(this.root, '_uploads'); }
  upload(uuid: string): string { return path.join(this.uploadsDir, uuid); }
  uploadData(uuid: string): string { return path.join(this.upload(uuid), 'data'); }
  uploadState(uuid: string): string { return path.join(this.upload(uuid), 'state'); }

  /** Same filesystem as everything else, so `rename` out of it is atomic. */
  get tmpDir(): string { return path.join(this.root, '_tmp'); }

  /** Held by `registry serve` while it runs and by `registry garbage-collect` (`root-lock.ts`). */
  get lockFile(): string { return path.join(this.root, '_lock'); }
  /** A lock file being written, or a stale one moved aside; `suffix` makes it the caller's own. */
  lockFileAside(suffix: string): string { return path.join(this.root, `_lock.${suffix}`); }
}
