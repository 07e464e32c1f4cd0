/**
 * The layer a COPY/ADD adds, written straight from the plan — no container,
 * no mount. Entries come in path order (byte order, so a directory precedes
 * its contents), mtimes clamped to SOURCE_DATE_EPOCH when given, numeric
 * owners only, no uname/gname.
 *
 * Every parent directory of a copied file is in the tar too: an overlay
 * upper layer's directory decides the merged directory's owner and mode, so
 * a parent the image already has is written with the owner, mode and mtime
 * it has there (otherwise `COPY x /tmp/` would turn /tmp from 1777 into
 * 0755), and a missing one is created 0755, owned by the --chown user or
 * root (Docker's MkdirAllAndChownNew).
 */
import type { Readable } from 'node:stream';
import { InvalidParameterError } from '../errors.js';
import { newHeader } from '../image/tar-format.js';
import { packTar, type PackEntry } from '../image/tar-pack.js';
import type { CopyPlan, PlanEntry } from './copy-plan.js';
import type { LayerView } from './layer-view.js';

export interface LayerOptions {
  /** Clamp mtimes to this (seconds). */
  sourceDateEpoch?: number;
  /** mtime of directories the copy creates (seconds); the epoch wins when set. */
  now: number;
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) out.push(parts.slice(0, i).join('/'));
  return out;
}

/** The plan's entries plus the parent directories they need, in tar order. */
export async function layerEntries(plan: CopyPlan, destView: LayerView, o: LayerOptions): Promise<PlanEntry[]> {
  const clamp = (t: number) => (o.sourceDateEpoch !== undefined && t > o.sourceDateEpoch ? o.sourceDateEpoch : t);
  const byPath = new Map(plan.entries.map((e) => [e.path, { ...e, mtime: clamp(e.mtime) }]));
  const wanted = new Set<string>();
  for (const e of plan.entries) for (const a of ancestors(e.path)) wanted.add(a);
  if (plan.destDir) {
    wanted.add(plan.destDir);
    for (const a of ancestors(plan.destDir)) wanted.add(a);
  }
  for (const dir of wanted) {
    if (byPath.has(dir)) {
      if (byPath.get(dir)!.type !== 'dir') throw new InvalidParameterError(`cannot copy into /${dir}: it is also copied as a file`);
      continue;
    }
    const e = await destView.lstat(dir);
    if (e && !e.st.isDirectory()) throw new InvalidParameterError(`cannot copy to non-directory: /${dir}`);
    byPath.set(dir, e
      ? { path: dir, type: 'dir', mode: Number(e.st.mode) & 0o7777, uid: Number(e.st.uid), gid: Number(e.st.gid), mtime: clamp(Number(e.st.mtimeNs / 1_000_000_000n)), size: 0 }
      : { path: dir, type: 'dir', mode: 0o755, uid: plan.createOwner.uid, gid: plan.createOwner.gid, mtime: clamp(o.now), size: 0 });
  }
  return [...byPath.values()].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

function toPack(e: PlanEntry): PackEntry {
  const header = newHeader({
    name: e.type === 'dir' ? `${e.path}/` : e.path, type: e.type, mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime,
    size: e.type === 'file' ? e.size : 0, linkname: e.linkname ?? '', devmajor: e.devmajor ?? 0, devminor: e.devminor ?? 0,
  });
  return e.type === 'file' ? { header, contentPath: e.contentPath } : { header };
}

/** The layer tar of a plan (lazy: files are read as the consumer pulls). */
export async function copyLayerTar(plan: CopyPlan, destView: LayerView, o: LayerOptions): Promise<Readable> {
  const entries = await layerEntries(plan, destView, o);
  return packTar(async function* () {
    for (const e of entries) yield toPack(e);
  });
}
