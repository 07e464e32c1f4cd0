/**
 * `berth checkpoint export` / `import`: a stopped container's checkpoint as
 * one tar another berthd restores (berth's own; Docker has no such thing).
 * The archive's layout and its manifest are in checkpoint-manifest.ts.
 *
 * Export stages the parts in tmp/ (the image as `docker save` writes it,
 * the read-write layer as a layer diff, the CRIU images hard-linked),
 * measures each, and streams the manifest and the parts.
 *
 * Import takes the archive as hostile input. It is unpacked under names of
 * ours (image/unpacked-archive.ts: no entry name can reach outside its
 * directory), the manifest is checked, every entry must be a regular file
 * the manifest lists with the size and digest it has, and only then does
 * anything happen: the image is loaded (as `docker load`, checked against
 * the manifest's image ID), the container is created through the same
 * path and checks as `POST /containers/create`, its layer applied, the
 * checkpoint put in place and restored. A failure at any step removes the
 * container again: no half container is left (the image loaded stays, as
 * any loaded image does). Nothing is loaded or created unless the importer
 * trusts the archive: CRIU's images describe the restored processes'
 * credentials and confinement, which only the restore itself applies.
 */
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { ConflictError, ForbiddenError, InvalidParameterError, NotImplementedError, SystemError } from '../errors.js';
import type { DataPaths } from '../store/paths.js';
import type { ContentStore } from '../store/content-store.js';
import { UnpackedArchive, openArchiveFile } from '../image/unpacked-archive.js';
import { containerDiffOptions, diffUpperDir } from '../image/layer-diff.js';
import { applyLayer } from '../image/layer-apply.js';
import { newHeader } from '../image/tar-format.js';
import { packTar, type PackEntry } from '../image/tar-pack.js';
import type { ContainerService } from './containers.js';
import type { ImageService } from './images.js';
import type { CheckpointService } from './checkpoints.js';
import type { CreateRequest } from './create-request.js';
import { loadImages, saveImages } from './image-archive.js';
import {
  CHECKPOINT_PREFIX, IMAGE_FILE, MANIFEST_NAME, ROOTFS_FILE, SCHEMA_VERSION, hostReachingSettings, isArchiveFileName, parseManifest,
  type CheckpointManifest, type ManifestFile,
} from './checkpoint-manifest.js';

export interface CheckpointArchiveDeps {
  containers: ContainerService;
  images: ImageService;
  paths: DataPaths;
  checkpoints: CheckpointService;
}

/** Size and sha256 of a file of ours. */
async function measure(path: string): Promise<ManifestFile> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path)) { hash.update(chunk as Buffer); size += (chunk as Buffer).length; }
  return { size, digest: `sha256:${hash.digest('hex')}` };
}

function bad(why: string): InvalidParameterError {
  return new InvalidParameterError(`invalid checkpoint archive: ${why}`);
}

export class CheckpointArchive {
  constructor(private readonly d: CheckpointArchiveDeps) {}

  /** `GET /containers/{id}/checkpoints/{name}/export`: the archive as a stream. */
  async export(nameOrId: string, checkpoint: string): Promise<Readable> {
    const { containers, images, paths, checkpoints } = this.d;
    const c = containers.lookup(nameOrId);
    const cpDir = checkpoints.existing(c.Id, checkpoint);
    const name = checkpoint;
    if (c.State.Running || c.State.Restarting) {
      throw new ConflictError(`cannot export checkpoint ${name} of container ${c.Id}: the container is running, so its file system is no longer the checkpoint's; stop it first (a checkpoint without --leave-running stops it)`);
    }
    const img = images.store.get(c.Image);
    if (!img) throw new SystemError(`image ${c.Image} of container ${c.Id} is missing`);
    await mkdir(paths.tmp, { recursive: true });
    const stage = await mkdtemp(join(paths.tmp, 'cp-export-'));
    try {
      // The image by the reference the container was made with when it still names the same image.
      const ref = (() => { try { return images.resolve(c.ImageRef).id === img.id ? c.ImageRef : img.id; } catch { return img.id; } })();
      await pipeline(saveImages(images, [ref]), createWriteStream(join(stage, IMAGE_FILE), { flags: 'wx' }));
      const upper = join(paths.containerDir(c.Id), 'upper');
      const leaveOut = containerDiffOptions(c.Mounts.map((m) => m.Destination), images.layers.lowerDirs(img.topLayer));
      await pipeline(diffUpperDir(upper, { ...leaveOut, idMap: containers.idMapOf(c) }), createWriteStream(join(stage, ROOTFS_FILE), { flags: 'wx' }));
      await mkdir(join(stage, 'checkpoint'));
      // Hard links: a checkpoint removed while the archive streams cannot change what it holds.
      for (const e of await readdir(cpDir, { withFileTypes: true })) {
        if (!e.isFile() || !isArchiveFileName(CHECKPOINT_PREFIX + e.name)) {
          throw new SystemError(`checkpoint ${name} of container ${c.Id} holds ${JSON.stringify(e.name)}, which is not a CRIU image file`);
        }
        await link(join(cpDir, e.name), join(stage, 'checkpoint', e.name));
      }
      const files: Record<string, ManifestFile> = {};
      for (const f of [IMAGE_FILE, ROOTFS_FILE]) files[f] = await measure(join(stage, f));
      for (const f of (await readdir(join(stage, 'checkpoint'))).sort()) files[CHECKPOINT_PREFIX + f] = await measure(join(stage, 'checkpoint', f));
      const manifest: CheckpointManifest = {
        SchemaVersion: SCHEMA_VERSION, Checkpoint: name, Image: { Id: img.id, Ref: ref },
        Container: { Name: c.Name, Config: c.Config, HostConfig: c.HostConfig }, Files: files,
      };
      const body = Buffer.from(JSON.stringify(manifest, null, 2) + '\n');
      const out = packTar(async function* (): AsyncGenerator<PackEntry> {
        yield { header: newHeader({ name: MANIFEST_NAME, type: 'file', mode: 0o644, size: body.length }), content: body };
        for (const [p, f] of Object.entries(files)) {
          yield { header: newHeader({ name: p, type: 'file', mode: 0o600, size: f.size }), contentPath: join(stage, p) };
        }
      });
      void finished(out).catch(() => undefined).finally(() => rm(stage, { recursive: true, force: true }));
      return out;
    } catch (e) {
      await rm(stage, { recursive: true, force: true });
      throw e;
    }
  }

  /**
   * `POST /checkpoints/import`: a new container from the archive, restored
   * from its checkpoint. `decodeCreate` is the API's own check of a
   * create body (the manifest's Config and HostConfig are no more trusted
   * than a client's).
   */
  async import(archive: Readable, o: { name?: string; trust?: boolean; decodeCreate: (body: unknown) => CreateRequest }): Promise<{ Id: string; Checkpoint: string }> {
    const { containers, images, paths, checkpoints } = this.d;
    await mkdir(paths.tmp, { recursive: true });
    const stage = await mkdtemp(join(paths.tmp, 'cp-import-'));
    let created: string | undefined;
    try {
      const unpacked = await UnpackedArchive.unpack(archive, stage);
      if (!unpacked.has(MANIFEST_NAME)) throw bad(`no ${MANIFEST_NAME}: not a berth checkpoint archive`);
      const m = parseManifest((await unpacked.readJson(unpacked.file(MANIFEST_NAME))).value);
      const reach = o.trust ? [] : hostReachingSettings(m.Container.HostConfig);
      if (reach.length) {
        throw new ForbiddenError(`checkpoint archive's container asks for access beyond a default container's (HostConfig ${reach.join(', ')}): import it only if you trust its author, with --trust (?trust=1)`);
      }
      for (const e of unpacked.list()) {
        if (e.name === MANIFEST_NAME || (e.type === 'dir' && e.name === 'checkpoint')) continue;
        if (e.type !== 'file' || !m.Files[e.name]) throw bad(`unexpected entry ${JSON.stringify(e.name.slice(0, 200))} (${e.type})`);
      }
      // Every part checked against the manifest before anything is created.
      const part = (p: string) => unpacked.blob(p, m.Files[p]);
      for (const p of Object.keys(m.Files)) part(p);
      const req = o.decodeCreate({ ...m.Container.Config, Image: m.Image.Id, HostConfig: m.Container.HostConfig });
      // CRIU's images carry the uids and gids the process had as the
      // checkpointing daemon saw them; a remapped container needs its
      // rootfs and the restored process both shifted into the remap range,
      // which CRIU 3.17 cannot be asked to do (and, failing `criu check`
      // on kernels >= 6.13, could not be tested here). Refused before the
      // image is loaded or a container made: nothing is left behind.
      if (containers.idMapOf({ HostConfig: req.HostConfig ?? {} })) {
        throw new NotImplementedError('checkpoint import into a daemon with --userns-remap is not supported: CRIU would restore the process with the user and group IDs it was checkpointed with, not the remapped ones; import it into a daemon without --userns-remap');
      }
      // CRIU restores its images as they are, as root: they set the restored processes' credentials, capabilities
      // and seccomp filters (core-*.img, seccomp.img) and the mounts and files it re-creates, none of which follows
      // from the container's HostConfig. An archive whose images claim every capability and no seccomp filter
      // would get a process with them, which no check of the manifest sees: the restore is the importer's decision.
      if (!o.trust) {
        throw new ForbiddenError('checkpoint archive\'s CRIU images are restored as they are (the processes\' credentials, capabilities, seccomp filters and mounts), which berth cannot check against the container\'s confinement: import it only if you trust its author, with --trust (?trust=1)');
      }

      // Only the container's image, and no tag of the importer's moved: else an archive could repoint e.g. `alpine:latest` at an image of its own.
      const loaded = await loadImages(images, paths, openArchiveFile(part(IMAGE_FILE)), () => undefined, {
        check: (plan) => {
          if (plan.length !== 1 || plan[0].config.digest !== m.Image.Id) throw bad(`${IMAGE_FILE} must hold image ${m.Image.Id} and nothing else`);
        },
        keepExistingTags: true,
      });
      if (!loaded.some((l) => l.id === m.Image.Id)) throw bad(`${IMAGE_FILE} does not hold image ${m.Image.Id}`);
      const ref = (() => { try { return images.resolve(m.Image.Ref).id === m.Image.Id ? m.Image.Ref : m.Image.Id; } catch { return m.Image.Id; } })();

      created = (await containers.create({ ...req, Image: ref }, o.name || m.Container.Name)).Id;
      await applyLayer(openArchiveFile(part(ROOTFS_FILE)), join(paths.containerDir(created), 'upper'));
      const cpFiles = Object.keys(m.Files).filter((p) => p.startsWith(CHECKPOINT_PREFIX))
        .map((p) => ({ name: p.slice(CHECKPOINT_PREFIX.length), host: part(p).host }));
      await checkpoints.adopt(created, m.Checkpoint, cpFiles);
      await checkpoints.start(created, m.Checkpoint, null);
      return { Id: created, Checkpoint: m.Checkpoint };
    } catch (e) {
      if (created) await containers.remove(created, { force: true, volumes: true }).catch(() => undefined);
      throw e;
    } finally {
      await rm(stage, { recursive: true, force: true });
    }
  }
}
