/**
 * The image service: lookup by name or ID, import, tag, remove, list and the
 * views `images`, `inspect` and `history` show. Policy lives here; bytes live
 * in store/.
 */
import type { Readable } from 'node:stream';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js';
import type { ImageConfig, ContainerDefaults } from '../image/config.js';
import { hostArchitecture } from '../image/config.js';
import { applyChanges } from '../image/change.js';
import {
  familiarString, formatReference, looksLikeId, parseReference, withDefaultTag, familiarName, repositoryName, repoTagReference, DIGEST_ALGORITHM_NAME, type Reference,
} from '../image/reference.js';
import type { ImageRecord, ImageStore } from '../store/image-store.js';
import type { LayerStore } from '../store/layer-store.js';
import type { ContainerStore } from '../store/container-store.js';
import type { DataPaths } from '../store/paths.js';
import type { EventBus } from './events.js';
import { prunable, type PruneFilters } from './prune-filters.js';
import { familiarRef, isImageIdPrefix, isSingleReference, tagRef, type RepoRef } from './image-references.js';

export interface ImportOptions {
  repo?: string;          // "name[:tag]" or "name" with a separate tag
  tag?: string;
  changes?: string[];
  message?: string;
  source?: string;        // "-" or the URL, recorded in history
  platform?: string;
}

export type DeleteResponseItem = { Untagged: string } | { Deleted: string };

export class ImageService {
  constructor(
    readonly store: ImageStore,
    readonly layers: LayerStore,
    private readonly containers: ContainerStore,
    private readonly paths: DataPaths,
    private readonly events: EventBus,
  ) {}

  /** Finds an image by reference, full/short ID or digest; `No such image: x` otherwise. */
  resolve(nameOrId: string): ImageRecord {
    const img = this.tryResolve(nameOrId);
    if (!img) throw new NotFoundError(`No such image: ${nameOrId}`);
    return img;
  }

  tryResolve(nameOrId: string): ImageRecord | undefined {
    if (nameOrId.startsWith('sha256:') && nameOrId.length === 71) return this.store.get(nameOrId);
    let refErr: unknown;
    try {
      const ref = withDefaultTag(parseReference(nameOrId));
      // A digest reference (`name@sha256:…`, also with a tag, which dockerd then ignores) is looked up as one.
      const id = ref.digest ? this.store.resolveDigest(repositoryName(ref), ref.digest) : this.store.resolveTag(formatReference(ref));
      if (id) return this.store.get(id);
    } catch (e) { refErr = e; }
    if (looksLikeId(nameOrId)) {
      const ids = this.store.findByPrefix(nameOrId);
      if (ids.length === 1) return this.store.get(ids[0]);
      if (ids.length > 1) throw new InvalidParameterError(`multiple IDs found with provided prefix: ${nameOrId}`);
    }
    if (refErr && !looksLikeId(nameOrId)) throw refErr;
    return undefined;
  }

  /** Repo tags in Docker's familiar form (`busybox:latest`). */
  repoTags(imageId: string): string[] {
    return this.store.tagsOf(imageId).map((r) => familiarString(parseReference(r)));
  }

  /** `name@sha256:…` for each registry manifest known for the image (not for indexes' children). */
  repoDigests(imageId: string): string[] {
    const seen = new Set<string>();
    for (const m of this.store.manifestsOf(imageId)) {
      seen.add(`${familiarName(parseReference(m.repository))}@${m.digest}`);
    }
    return [...seen];
  }

  /** Sum of the image's layer sizes (what `images` shows as SIZE). */
  size(img: ImageRecord): number {
    return this.layers.chain(img.topLayer).reduce((n, l) => n + l.size, 0);
  }

  /** The size of image `id` (its whole layer chain); undefined when there is no such image. */
  sizeById(id: string): number | undefined {
    const img = this.store.get(id);
    return img ? this.size(img) : undefined;
  }

  async import(tar: Readable, o: ImportOptions): Promise<ImageRecord> {
    let target: string | undefined;
    // The same checks as tag's (no digest, no 64-hex or `sha256` name), before the layer is read.
    if (o.repo) target = this.tagTarget(o.repo, o.tag);
    if (o.platform && o.platform !== `linux/${hostArchitecture()}` && o.platform !== 'linux') {
      throw new InvalidParameterError(`importing for platform ${o.platform} is not supported`);
    }
    const defaults: ContainerDefaults = applyChanges({}, o.changes ?? []);
    const layer = await this.layers.importLayer(tar, null);
    const created = new Date().toISOString();
    const config: ImageConfig = {
      architecture: hostArchitecture(),
      os: 'linux',
      created,
      ...(o.message ? { comment: o.message } : {}),
      config: defaults,
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created, created_by: '', comment: o.message || `Imported from ${o.source ?? '-'}` }],
    };
    // Image and tag in one transaction; the tag event comes before the import event, as dockerd's import orders them.
    const img = this.store.atomically(() => {
      const rec = this.store.put(Buffer.from(JSON.stringify(config)), layer.chainId, layer.size);
      if (target) this.tag(rec.id, target);
      return rec;
    });
    this.events.emit('image', 'import', img.id, {});
    return img;
  }

  /**
   * The tag that the `repo` and `tag` query parameters of tag and commit name,
   * normalised, checked before anything is done (moby RepoTagReference).
   */
  tagTarget(repo: string, tag?: string): string {
    const ref = repoTagReference(repo, tag);
    refuseAmbiguousName(ref);
    return formatReference(ref);
  }

  /** Points `target` (a reference string) at the image `source` names. */
  tag(source: string, target: string): void {
    const img = this.resolve(source);
    const ref = parseReference(target);
    if (ref.digest) throw new InvalidParameterError(`refusing to create a tag with a digest reference`);
    refuseAmbiguousName(ref);
    const norm = formatReference(withDefaultTag(ref));
    this.store.tag(norm, img.id);
    this.events.emit('image', 'tag', img.id, { name: familiarString(withDefaultTag(ref)) });
  }

  /** Every repository reference to the image: its tags and its digest references. */
  references(imageId: string): RepoRef[] {
    return [
      ...this.store.tagsOf(imageId).map(tagRef),
      ...this.store.manifestsOf(imageId).map((m) => ({ repository: m.repository, digest: m.digest })),
    ];
  }

  /**
   * `rmi`, as dockerd's ImageDelete decides it. By name (a tag or a digest
   * reference): that one reference goes — with a tag, also the digest
   * references of its repository once no tag of that repository is left —
   * and the image goes only when nothing names it any more, and quietly
   * stays when a container or a child image still needs it. Removing the
   * only name of an image a container uses must be forced. By ID (or an ID
   * prefix): the image goes with all its names; several names need force,
   * and a running container or a child image refuses even that.
   *
   * A container's image is never deleted from under it: with `force` its
   * names go but the image stays (dangling) until no container uses it,
   * which is what keeps the container's layers. Unless `noprune`, the
   * untagged parents only this image was keeping (a build's intermediate
   * images) go with it, up to the first one that is tagged, used or has
   * other children.
   */
  async remove(nameOrId: string, force: boolean, noprune = false): Promise<DeleteResponseItem[]> {
    const img = this.resolve(nameOrId);
    const out: DeleteResponseItem[] = [];
    const manifests: string[] = [];
    const users = this.containers.usesImage(img.id);
    let refs = this.references(img.id);
    let quiet = false;
    if (!isImageIdPrefix(img.id, nameOrId)) {
      if (!force && users.length > 0 && isSingleReference(refs)) {
        // The image would be left dangling under its container: the user must say so.
        throw new ConflictError(`conflict: unable to remove repository reference "${nameOrId}" (must force) - container ${users[0].Id.slice(0, 12)} is using its referenced image ${img.id.slice(7, 19)}`);
      }
      const ref = withDefaultTag(parseReference(nameOrId));
      const named: RepoRef = ref.digest ? { repository: repositoryName(ref), digest: ref.digest } : { repository: repositoryName(ref), tag: ref.tag };
      this.removeReference(img.id, named, out, manifests);
      refs = this.references(img.id);
      if (named.tag !== undefined && !refs.some((r) => r.tag !== undefined && r.repository === named.repository)) {
        for (const r of refs) if (r.digest !== undefined && r.repository === named.repository) this.removeReference(img.id, r, out, manifests);
        refs = this.references(img.id);
      }
      if (refs.length > 0) return out;
      quiet = true;
    } else if (isSingleReference(refs)) {
      const conflict = this.deleteConflict(img.id, { soft: !force, references: false });
      if (conflict) throw conflict;
      for (const r of refs) this.removeReference(img.id, r, out, manifests);
    }

    const conflict = this.deleteConflict(img.id, { soft: !force, references: true });
    if (conflict) {
      // After removing a name, a conflict only keeps the image (unless it is dangling and unused, which cannot conflict).
      if (quiet) { await this.layers.collectGarbage({ manifests }); return out; }
      throw conflict;
    }
    for (const r of this.references(img.id)) this.removeReference(img.id, r, out, manifests);
    if (users.length > 0) { await this.layers.collectGarbage({ manifests }); return out; } // forced: the image stays, dangling, for its containers
    manifests.push(...this.store.manifestsOf(img.id).map((m) => m.digest));
    this.store.delete(img.id);
    out.push({ Deleted: img.id });
    this.events.emit('image', 'delete', img.id, {});
    for (let parent = noprune ? undefined : this.store.get(img.parent); parent; parent = this.store.get(parent.parent)) {
      if (this.store.tagsOf(parent.id).length || this.containers.usesImage(parent.id).length || this.store.children(parent.id).length) break;
      manifests.push(...this.store.manifestsOf(parent.id).map((m) => m.digest));
      this.store.delete(parent.id);
      out.push({ Deleted: parent.id });
      this.events.emit('image', 'delete', parent.id, {});
    }
    await this.layers.collectGarbage({ manifests });
    return out;
  }

  /** Removes one name of the image and says so (`Untagged:`, an untag event). */
  private removeReference(imageId: string, r: RepoRef, out: DeleteResponseItem[], manifests: string[]): void {
    if (r.digest !== undefined) {
      if (this.store.removeManifest(imageId, r.repository, r.digest)) manifests.push(r.digest);
    } else {
      this.store.untag(`${r.repository}:${r.tag}`);
    }
    const name = familiarRef(r);
    out.push({ Untagged: name });
    this.events.emit('image', 'untag', imageId, { name });
  }

  /**
   * What stops the image from being deleted, in dockerd's order: hard
   * conflicts (child images, a running container) that force cannot
   * override, then soft ones (remaining names, a stopped container) unless
   * `soft` is false.
   */
  private deleteConflict(imageId: string, o: { soft: boolean; references: boolean }): ConflictError | undefined {
    const short = imageId.slice(7, 19);
    const conflict = (how: string, why: string) => new ConflictError(`conflict: unable to delete ${short} (${how}) - ${why}`);
    if (this.store.children(imageId).length > 0) return conflict('cannot be forced', 'image has dependent child images');
    const users = this.containers.usesImage(imageId);
    const running = users.find((c) => c.State.Running || c.State.Paused || c.State.Restarting);
    if (running) return conflict('cannot be forced', `image is being used by running container ${running.Id.slice(0, 12)}`);
    if (!o.soft) return undefined;
    if (o.references && this.references(imageId).length > 0) return conflict('must be forced', 'image is referenced in multiple repositories');
    if (users.length > 0) return conflict('must be forced', `image is being used by stopped container ${users[0].Id.slice(0, 12)}`);
    return undefined;
  }

  /**
   * The images `image prune` takes: unused (no container, not even a
   * stopped one) and untagged unless `all`, matching the filters, children
   * before parents — a parent goes once every child of it goes, as dockerd's
   * delete walks up untagged parents.
   */
  pruneCandidates(all: boolean, f: PruneFilters): ImageRecord[] {
    const images = this.store.list();
    const tags = this.store.allTags();
    const used = new Set(this.containers.all().map((c) => c.Image));
    const children = new Map<string, number>();
    for (const img of images) if (img.parent) children.set(img.parent, (children.get(img.parent) ?? 0) + 1);
    const eligible = (img: ImageRecord) => (all || !tags.get(img.id)?.length) && !used.has(img.id)
      && prunable(f, Date.parse(img.config.created ?? '') || img.created, img.config.config?.Labels);
    const gone: ImageRecord[] = [];
    const goneIds = new Set<string>();
    for (let changed = true; changed;) {
      changed = false;
      for (const img of images) {
        if (goneIds.has(img.id) || (children.get(img.id) ?? 0) > 0 || !eligible(img)) continue;
        gone.push(img);
        goneIds.add(img.id);
        if (img.parent) children.set(img.parent, (children.get(img.parent) ?? 0) - 1);
        changed = true;
      }
    }
    return gone;
  }

  /**
   * `image prune`. With `dryRun` nothing changes and the answer says what
   * would go and the bytes that would be freed — computed by the same plan
   * the real prune then carries out, so the two agree.
   */
  async prune(all: boolean, f: PruneFilters, dryRun = false): Promise<{ ImagesDeleted: DeleteResponseItem[]; SpaceReclaimed: number }> {
    const gone = this.pruneCandidates(all, f);
    const deleted: DeleteResponseItem[] = [];
    for (const img of gone) {
      for (const t of this.store.tagsOf(img.id)) deleted.push({ Untagged: familiarString(parseReference(t)) });
      deleted.push({ Deleted: img.id });
    }
    if (dryRun) return { ImagesDeleted: deleted, SpaceReclaimed: await this.layers.sizeOf(this.layers.planGarbage(new Set(gone.map((i) => i.id)))) };
    const manifests = gone.flatMap((img) => this.store.manifestsOf(img.id).map((m) => m.digest));
    const untagged = gone.map((img) => ({ id: img.id, tags: this.store.tagsOf(img.id) }));
    this.store.deleteMany(gone.map((img) => img.id));
    for (const { id, tags } of untagged) {
      for (const t of tags) this.events.emit('image', 'untag', id, { name: familiarString(parseReference(t)) });
      this.events.emit('image', 'delete', id, {});
    }
    return { ImagesDeleted: deleted, SpaceReclaimed: await this.layers.collectGarbage({ manifests, measure: true }) };
  }

  /** How many containers (running or not) use each image. */
  containerCounts(): Map<string, number> {
    const used = new Map<string, number>();
    for (const c of this.containers.all()) used.set(c.Image, (used.get(c.Image) ?? 0) + 1);
    return used;
  }

  /** A stored reference in Docker's familiar form (`busybox:latest`). */
  familiarTag(ref: string): string {
    return familiarString(parseReference(ref));
  }

  /** `GET /images/json` items. */
  summaries(): Record<string, unknown>[] {
    const tags = this.store.allTags();
    const used = this.containerCounts();
    return this.store.list().map((img) => {
      const t = (tags.get(img.id) ?? []).map((r) => familiarString(parseReference(r)));
      const size = this.size(img);
      return {
        Id: img.id,
        ParentId: img.parent,
        RepoTags: t,
        RepoDigests: this.repoDigests(img.id),
        Created: Math.floor(Date.parse(img.config.created ?? '') / 1000) || Math.floor(img.created / 1000),
        Size: size,
        SharedSize: -1,
        VirtualSize: size,
        Labels: img.config.config?.Labels ?? {},
        Containers: used.get(img.id) ?? 0,
      };
    });
  }

  /** `GET /images/{name}/json`. */
  inspect(img: ImageRecord): Record<string, unknown> {
    const chain = this.layers.chain(img.topLayer);
    const lowers = chain.map((l) => this.paths.layerDiff(l.chainId)).reverse();
    const cfg = img.config;
    return {
      Id: img.id,
      RepoTags: this.repoTags(img.id),
      RepoDigests: this.repoDigests(img.id),
      Parent: img.parent,
      Comment: cfg.comment ?? '',
      Created: cfg.created ?? new Date(img.created).toISOString(),
      DockerVersion: '',
      Author: cfg.author ?? '',
      Config: { ...emptyContainerConfig(), ...(cfg.config ?? {}) },
      // moby leaves ContainerConfig out from API 1.45 on; berth keeps it at
      // every version because docker-compose 1.29 (Debian's), which asks for
      // the newest API, reads ContainerConfig.Volumes whenever it recreates a
      // container and fails with KeyError: 'ContainerConfig' without it
      // (docker/compose#11693). It is the image's `container_config` (the
      // classic builder's step container), empty for images without one.
      ContainerConfig: { ...emptyContainerConfig(), ...((cfg as { container_config?: Record<string, unknown> }).container_config ?? {}) },
      Architecture: cfg.architecture,
      ...(cfg.variant ? { Variant: cfg.variant } : {}),
      Os: cfg.os,
      Size: this.size(img),
      GraphDriver: {
        Name: 'overlay2',
        Data: lowers.length ? { UpperDir: lowers[0], LowerDir: lowers.slice(1).join(':') || undefined, MergedDir: undefined } : {},
      },
      RootFS: { Type: 'layers', Layers: cfg.rootfs.diff_ids },
      Metadata: { LastTagTime: img.lastTag ? new Date(img.lastTag).toISOString() : '0001-01-01T00:00:00Z' },
    };
  }

  /** `GET /images/{name}/history`, newest first. */
  history(img: ImageRecord): Record<string, unknown>[] {
    const hist = img.config.history ?? [];
    const chain = this.layers.chain(img.topLayer);
    let layerIdx = 0;
    const rows = hist.map((h) => {
      const size = h.empty_layer ? 0 : (chain[layerIdx++]?.size ?? 0);
      return {
        Id: '<missing>', Created: Math.floor(Date.parse(h.created ?? '') / 1000) || 0,
        CreatedBy: h.created_by ?? '', Tags: null as string[] | null, Size: size, Comment: h.comment ?? '',
      };
    }).reverse();
    if (rows.length > 0) {
      rows[0].Id = img.id;
      const t = this.repoTags(img.id);
      rows[0].Tags = t.length ? t : null;
    }
    return rows;
  }

  /** Name to show for an image ID: its first tag, else the short ID. */
  displayName(imageId: string): string {
    const t = this.store.tagsOf(imageId)[0];
    return t ? familiarString(parseReference(t)) : imageId.slice(7, 19);
  }

  familiar(ref: string): string {
    try { return familiarName(parseReference(ref)); } catch { return ref; }
  }
}

/** `sha256:x` would read as a digest: dockerd's reference store refuses such a tag, whoever asks (tag, commit, build, load). */
function refuseAmbiguousName(ref: Reference): void {
  if (familiarName(ref) === DIGEST_ALGORITHM_NAME) throw new InvalidParameterError('refusing to create an ambiguous tag using digest algorithm as name');
}

/** The container-config keys Docker always shows in image inspect. */
export function emptyContainerConfig(): Record<string, unknown> {
  return {
    Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: false, AttachStderr: false,
    Tty: false, OpenStdin: false, StdinOnce: false, Env: null, Cmd: null, Image: '', Volumes: null,
    WorkingDir: '', Entrypoint: null, OnBuild: null, Labels: null,
  };
}
