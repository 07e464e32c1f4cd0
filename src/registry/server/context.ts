/** What every handler works with: the stores and the server's policy. */
import type { StorageLayout } from './layout.js';
import type { BlobStore } from './blob-store.js';
import type { RepositoryStore } from './repository-store.js';
import type { UploadStore } from './upload-store.js';

export interface RegistryContext {
  layout: StorageLayout;
  blobs: BlobStore;
  repos: RepositoryStore;
  uploads: UploadStore;
  /** Spec §"Content Management": registries MAY disable deletion (then 405). */
  deleteEnabled: boolean;
}
