/**
 * The exporters of a BuildKit Solve (`--output`, `--load`, `--push`), as
 * buildx sends them to a `docker` driver (build/opt.go):
 *
 * - `moby` (buildx's name for `type=image` and `--load` on this driver):
 *   the image is in berth's store already; `name` tags it, `push=true`
 *   pushes each name (buildx turns `type=registry` and `--push` into this),
 *   with the credentials the client's session gives (session-auth.ts);
 * - `docker` and `oci` with `dest=` (buildx sends these only when the
 *   worker has a snapshotter label, as a containerd-store dockerd does):
 *   a `docker save` archive of the image under `name` — an OCI layout that
 *   is at once a Docker archive, so `docker load` and OCI tools read it —
 *   sent to the client's file over FileSend; the store is not tagged;
 * - `local` and `tar`: the image's file system (image-export.ts).
 *
 * Every type and attribute outside this list is refused by name before the
 * build starts (checkExporters); nothing is ignored.
 */
import { InvalidParameterError, NotImplementedError, errorMessage } from '../../errors.js';
import type { Engine } from '../../engine/engine.js';
import { saveArchive } from '../../engine/image-archive.js';
import { checkNameLength, familiarString, formatReference, parseReference, withDefaultTag, type Reference } from '../../image/reference.js';
import { FILESEND_METHOD, sendFile, sendTree, sendTreeTar } from '../../buildkit/image-export.js';
import type { BuildProgress } from '../../buildkit/progress.js';
import { sessionCredentials } from '../../buildkit/session-auth.js';
import type { ClientSession } from '../../buildkit/sessions.js';
import { LayerView } from '../../build/layer-view.js';

export interface ExporterEntry { Type: string; Attrs: Record<string, string> }

/** Attributes each exporter takes; `true` marks the boolean ones whose only accepted value is what berth does. */
const ATTRS: Record<string, Record<string, 'any' | 'bool' | 'true-only' | 'false-only'>> = {
  moby: { name: 'any', push: 'bool', unpack: 'true-only', store: 'true-only', 'push-by-digest': 'false-only', 'registry.insecure': 'false-only' },
  image: { name: 'any', push: 'bool', unpack: 'true-only', store: 'true-only', 'push-by-digest': 'false-only', 'registry.insecure': 'false-only' },
  docker: { name: 'any', tar: 'true-only', context: 'any' },
  oci: { name: 'any', tar: 'true-only' },
  local: {},
  tar: {},
};

/** Go's strconv.ParseBool. */
function goBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Refuses exporters and attributes berth does not implement, by name. */
export function checkExporters(exporters: readonly ExporterEntry[]): void {
  for (const e of exporters) {
    const allowed = Object.hasOwn(ATTRS, e.Type) ? ATTRS[e.Type] : undefined;
    if (!allowed) {
      throw new NotImplementedError(`exporter ${JSON.stringify(e.Type)} is not supported: berth exports to its image store (image, registry), docker, oci, local and tar`);
    }
    for (const [k, v] of Object.entries(e.Attrs)) {
      const kind = Object.hasOwn(allowed, k) ? allowed[k] : undefined;
      if (!kind) throw new NotImplementedError(`exporter ${e.Type}: attribute ${JSON.stringify(k)} is not supported`);
      if (kind === 'any') continue;
      const b = goBool(v);
      if (b === undefined) throw new InvalidParameterError(`exporter ${e.Type}: invalid value ${JSON.stringify(v)} for ${k}: expected a boolean`);
      if ((kind === 'true-only' && !b) || (kind === 'false-only' && b)) {
        throw new NotImplementedError(`exporter ${e.Type}: ${k}=${v} is not supported`);
      }
    }
    if ((e.Type === 'moby' || e.Type === 'image') && goBool(e.Attrs.push ?? 'false') && names(e).length === 0) {
      throw new InvalidParameterError('tag is needed when pushing to registry');
    }
  }
}

/** The `name` attribute's references (comma-separated), normalised. */
function names(e: ExporterEntry): Reference[] {
  return (e.Attrs.name ?? '').split(',').map((x) => x.trim()).filter(Boolean).map((n) => {
    try {
      return withDefaultTag(checkNameLength(parseReference(n)));
    } catch (err) {
      throw new InvalidParameterError(`invalid reference format: ${n}: ${errorMessage(err)}`);
    }
  });
}

export interface ExportContext {
  engine: Engine;
  progress: BuildProgress;
  /** The client's session, for file targets and registry credentials. */
  session: () => Promise<ClientSession>;
  signal: AbortSignal;
}

/** Runs the exporters for the built image; returns BuildKit's exporter response. */
export async function runExporters(c: ExportContext, imageId: string, exporters: readonly ExporterEntry[]): Promise<Record<string, string>> {
  const response: Record<string, string> = {};
  const img = c.engine.images.store.get(imageId);
  if (!img) throw new InvalidParameterError(`image ${imageId} is gone`);
  for (const [i, e] of exporters.entries()) {
    if (e.Type === 'moby' || e.Type === 'image') {
      Object.assign(response, await toStore(c, imageId, e));
      continue;
    }
    const session = await c.session();
    if (!session.methods.has(FILESEND_METHOD)) throw new InvalidParameterError(`the client does not receive files (no ${FILESEND_METHOD} in its session)`);
    const title = { local: 'exporting to client directory', tar: 'exporting to client tarball', docker: 'exporting to docker image format', oci: 'exporting to oci image format' }[e.Type];
    const v = c.progress.vertex(title ?? `exporting ${e.Type}`);
    const sending = v.status(e.Type === 'local' ? 'copying files' : 'sending tarball');
    try {
      if (e.Type === 'local' || e.Type === 'tar') {
        const view = new LayerView(c.engine.layers.lowerDirs(img.topLayer));
        if (e.Type === 'tar') await sendTreeTar(session.conn, i, view, c.signal);
        else await sendTree(session.conn, i, view, c.signal);
      } else {
        const tags = names(e).map((r) => familiarString(r));
        await sendFile(session.conn, i, saveArchive(c.engine.images, [{ img, tags }]), c.signal);
        response['containerimage.config.digest'] = imageId;
        response['containerimage.digest'] = imageId;
        if (tags.length) response['image.name'] = names(e).map(formatReference).join(',');
      }
    } catch (err) {
      v.complete(errorMessage(err));
      throw err;
    }
    sending.finish();
    v.complete();
  }
  return response;
}

/** `moby`/`image`: name the image in the store, then push each name when asked. */
async function toStore(c: ExportContext, imageId: string, e: ExporterEntry): Promise<Record<string, string>> {
  const refs = names(e);
  const v = c.progress.vertex('exporting to image');
  try {
    v.status(`writing image ${imageId}`).finish();
    for (const r of refs) {
      const n = formatReference(r);
      const naming = v.status(`naming to ${n}`);
      c.engine.images.tag(imageId, n);
      naming.finish();
    }
    let pushed: string | undefined;
    if (goBool(e.Attrs.push ?? 'false')) {
      const session = await c.session();
      for (const r of refs) {
        const n = formatReference(r);
        const pushing = v.status(`pushing ${n}`);
        const auth = await sessionCredentials(session, r.domain, c.signal);
        await c.engine.distribution.push(n, {
          ...(auth ? { auth } : {}), signal: c.signal,
          progress: (m) => {
            if (typeof m.status === 'string' && m.id === undefined) v.log(`${m.status}\n`);
            const digest = (m.aux as { Digest?: unknown } | undefined)?.Digest;
            if (typeof digest === 'string') pushed = digest;
          },
        });
        pushing.finish();
      }
    }
    v.complete();
    return {
      'containerimage.config.digest': imageId,
      // After a push, BuildKit reports the manifest's digest (buildx prints it, --metadata-file keeps it).
      'containerimage.digest': pushed ?? imageId,
      ...(refs.length ? { 'image.name': refs.map(formatReference).join(',') } : {}),
    };
  } catch (err) {
    v.complete(errorMessage(err));
    throw err;
  }
}
