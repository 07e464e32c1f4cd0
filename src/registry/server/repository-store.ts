/**
 * Per-repository state, all of it small link files (see `layout.ts`):
 * which blobs a repository holds (`_layers`), its manifest revisions with their
 * media types (`_manifests/revisions`), and its tags (`_manifests/tags`).
 *
 * Every write is an atomic replace (`durable-fs.ts`); writers put the blob
 * first and the link after, so a crash can leave an unreferenced blob but
 * never a link to missing content.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import type { StorageLayout } from './layout.js';
import { digestFromFileName, parseDigest, type Digest } from './names.js';
import { listDir, readIfExists, unlinkIfExists, writeFileDurable } from './durable-fs.js';

/** What a revision file records: enough to answer HEAD and the referrers API without the manifest. */
export interface RevisionInfo {
  digest: string;
  mediaType: string;
  size: number;
  /** Digest of the manifest's `subject`, for the referrers API (spec end-12a). */
  subject?: string;
  /** The referrers descriptor's `artifactType` (spec §"Listing Referrers"). */
  artifactType?: string;
  annotations?: Record<string, string>;
}

export class RepositoryStore {
  constructor(private readonly layout: StorageLayout) {}

  async exists(name: string): Promise<boolean> {
    try {
      return (await fsp.stat(this.layout.repository(name))).isDirectory();
    } catch {
      return false;
    }
  }

  // ---- blobs linked into the repository (`_layers`)

  async hasLayer(name: string, d: Digest): Promise<boolean> {
    return (await readIfExists(this.layout.layerLink(name, d))) !== undefined;
  }

  async linkLayer(name: string, d: Digest): Promise<void> {
    if (await this.hasLayer(name, d)) return;
    await writeFileDurable(this.layout.tmpDir, this.layout.layerLink(name, d), d.value);
  }

  /** False when the repository did not hold the blob. */
  async unlinkLayer(name: string, d: Digest): Promise<boolean> {
    return unlinkIfExists(this.layout.layerLink(name, d));
  }

  /** The blobs linked into the repository (whether or not their content is still stored). */
  async listLayers(name: string): Promise<Digest[]> {
    return (await listDir(this.layout.layersDir(name))).map(digestFromFileName).filter((d): d is Digest => d !== undefined);
  }

  // ---- manifest revisions

  async getRevision(name: string, d: Digest): Promise<RevisionInfo | undefined> {
    const text = await readIfExists(this.layout.revision(name, d));
    if (text === undefined) return undefined;
    return JSON.parse(text) as RevisionInfo;
  }

  async putRevision(name: string, info: RevisionInfo): Promise<void> {
    const d = parseDigest(info.digest);
    await writeFileDurable(this.layout.tmpDir, this.layout.revision(name, d), JSON.stringify(info));
  }

  async deleteRevision(name: string, d: Digest): Promise<boolean> {
    return unlinkIfExists(this.layout.revision(name, d));
  }

  async listRevisions(name: string): Promise<RevisionInfo[]> {
    const out: RevisionInfo[] = [];
    for (const file of await listDir(this.layout.revisionsDir(name))) {
      const d = digestFromFileName(file);
      if (!d) continue;
      const info = await this.getRevision(name, d);
      if (info) out.push(info);
    }
    return out;
  }

  // ---- tags

  async resolveTag(name: string, tag: string): Promise<Digest | undefined> {
    const text = await readIfExists(this.layout.tag(name, tag));
    return text === undefined ? undefined : parseDigest(text.trim());
  }

  async setTag(name: string, tag: string, d: Digest): Promise<void> {
    await writeFileDurable(this.layout.tmpDir, this.layout.tag(name, tag), d.value);
  }

  async deleteTag(name: string, tag: string): Promise<boolean> {
    return unlinkIfExists(this.layout.tag(name, tag));
  }

  /** Tags whose target revision still exists. */
  async listTags(name: string): Promise<string[]> {
    const tags: string[] = [];
    for (const tag of await listDir(this.layout.tagsDir(name))) {
      const d = await this.resolveTag(name, tag);
      if (d && (await readIfExists(this.layout.revision(name, d))) !== undefined) tags.push(tag);
    }
    return tags;
  }

  /** Removes every tag pointing at `d` (deleting a manifest drops its tags: spec end-9). */
  async untagDigest(name: string, d: Digest): Promise<void> {
    for (const tag of await listDir(this.layout.tagsDir(name))) {
      const target = await this.resolveTag(name, tag);
      if (target?.value === d.value) await this.deleteTag(name, tag);
    }
  }

  // ---- catalog

  /** Every repository: a directory holding `_layers` or `_manifests`. */
  async listRepositories(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string, prefix: string[]): Promise<void> => {
      let entries: import('node:fs').Dirent[];
      try {
        entries = await fsp.readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      const dirs = entries.filter((e) => e.isDirectory());
      if (prefix.length > 0 && dirs.some((e) => e.name === '_layers' || e.name === '_manifests')) out.push(prefix.join('/'));
      for (const e of dirs) {
        if (e.name.startsWith('_')) continue;
        await walk(path.join(dir, e.name), [...prefix, e.name]);
      }
    };
    await walk(this.layout.repositoriesDir, []);
    return out;
  }
}
