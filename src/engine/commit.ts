/**
 * `docker commit`: a container's changes (its overlay upper dir, with
 * whiteouts for deletions) become one new layer on top of its image, and the
 * container's Config — with `--change` instructions applied — becomes the new
 * image's config. Used by POST /commit and by the builder's RUN steps.
 */
import { join } from 'node:path';
import type { ContainerDefaults, ImageConfig } from '../image/config.js';
import { applyChanges } from '../image/change.js';
import { containerDiffOptions, diffUpperDir } from '../image/layer-diff.js';
import type { IdMap } from '../runtime/id-map.js';
import type { ImageRecord } from '../store/image-store.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { ImageService } from './images.js';
import type { DataPaths } from '../store/paths.js';
import { ConflictError, SystemError } from '../errors.js';

export interface CommitOptions {
  /** Container defaults of the new image; default: the container's own Config. */
  config?: ContainerDefaults;
  changes?: string[];
  author?: string;
  comment?: string;
  /** History `created_by`; default: the container's command. */
  createdBy?: string;
  /** Clamps layer mtimes and the created time (reproducible builds). */
  sourceDateEpoch?: number;
  /** A normalised reference to name the image by, written with it in one transaction. */
  tag?: string;
  /** The user namespace maps the container wrote its upper dir through (`--userns-remap`). */
  idMap?: IdMap;
}

/** The image-config subset of a container's Config (what `commit` keeps). */
export function defaultsFromContainer(c: ContainerRecord): ContainerDefaults {
  const cfg = c.Config;
  const out: ContainerDefaults = {
    User: cfg.User || undefined, ExposedPorts: cfg.ExposedPorts, Env: cfg.Env, Entrypoint: cfg.Entrypoint,
    Cmd: cfg.Cmd, Volumes: cfg.Volumes, WorkingDir: cfg.WorkingDir || undefined, Labels: cfg.Labels,
    StopSignal: cfg.StopSignal, Healthcheck: cfg.Healthcheck, OnBuild: cfg.OnBuild,
  };
  for (const k of Object.keys(out) as (keyof ContainerDefaults)[]) if (out[k] === undefined || out[k] === null) delete out[k];
  return out;
}

export async function commitContainer(images: ImageService, paths: DataPaths, c: ContainerRecord, o: CommitOptions = {}): Promise<ImageRecord> {
  // dockerd's refusals (daemon/commit.go): a container on its way out has no layer to read.
  if (c.State.Dead) throw new ConflictError(`You cannot commit container ${c.Id} which is Dead`);
  if (c.State.Status === 'removing') throw new ConflictError(`You cannot commit container ${c.Id} which is being removed`);
  const base = images.store.get(c.Image);
  if (!base) throw new SystemError(`image ${c.Image} of container ${c.Id} is missing`);
  const upper = join(paths.containerDir(c.Id), 'upper');
  // Mount points (runc's /etc/hosts, volume targets) and the directories made for them stay out of the image.
  const leaveOut = containerDiffOptions(c.Mounts.map((m) => m.Destination), images.layers.lowerDirs(base.topLayer));
  const layer = await images.layers.importLayer(diffUpperDir(upper, { sourceDateEpoch: o.sourceDateEpoch, ...leaveOut, idMap: o.idMap }), base.topLayer);
  const created = o.sourceDateEpoch !== undefined ? new Date(o.sourceDateEpoch * 1000).toISOString() : new Date().toISOString();
  const defaults = applyChanges(o.config ?? defaultsFromContainer(c), o.changes ?? []);
  const prev = base.config;
  const config: ImageConfig = {
    architecture: prev.architecture,
    os: prev.os,
    ...(prev.variant ? { variant: prev.variant } : {}),
    created,
    ...(o.author ? { author: o.author } : {}),
    ...(o.comment ? { comment: o.comment } : {}),
    config: defaults,
    rootfs: { type: 'layers', diff_ids: [...prev.rootfs.diff_ids, layer.diffId] },
    history: [...(prev.history ?? []), {
      created, created_by: o.createdBy ?? [c.Path, ...c.Args].join(' '),
      ...(o.author ? { author: o.author } : {}), ...(o.comment ? { comment: o.comment } : {}),
    }],
  };
  const size = images.layers.chain(layer.chainId).reduce((n, l) => n + l.size, 0);
  // Image and name together: a crash never leaves the commit's image without the name it was asked for.
  return images.store.atomically(() => {
    const img = images.store.put(Buffer.from(JSON.stringify(config)), layer.chainId, size, base.id);
    if (o.tag) images.tag(img.id, o.tag);
    return img;
  });
}
