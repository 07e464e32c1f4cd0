/**
 * The layers of one pull, downloaded and unpacked at once. Each missing
 * layer's blob streams from the registry into two consumers: the content
 * store (hashed as it is written, committed only if digest and size match)
 * and the layer store's unpacking, into a staging directory nobody sees.
 * The layer becomes visible only after its blob verified, its diffID
 * matched the image config's, and the layer beneath it was committed
 * (layer-store.ts importLayer's `beforeCommit`): unpacking never reads the
 * parent layer, so every download unpacks as it goes, and only the commits
 * keep the chain's order. Up to `parallel` layers download at a time, taken
 * in layer order; a layer that finished unpacking and only waits for its
 * parent gives its place to the next.
 *
 * A layer whose unpacking fails keeps downloading to the end: if its bytes
 * turn out not to be the blob's, the digest mismatch is the error reported
 * (the unpacker only saw garbage), as when the blob was verified first.
 * The first failure cancels the rest (`cancel`); every task has settled
 * when `pullLayers` returns or throws, so the caller's clean-up races no
 * writer.
 */
import { PassThrough, Transform, type Readable } from 'node:stream';
import { InvalidParameterError, errorMessage } from '../errors.js';
import type { RegistryClient } from '../registry/client/registry-client.js';
import { DEFAULT_RESUME, resumableBlob } from '../registry/client/resumable-blob.js';
import type { ContentStore } from '../store/content-store.js';
import type { Lease, LayerBlob, LayerStore } from '../store/layer-store.js';
import { Slots } from './slots.js';

/** A pull's or push's progress messages (JSON lines of `POST /images/create`). */
export type Progress = (msg: Record<string, unknown>) => void;

/** One layer of the manifest, with what the config says of it. */
export interface PullLayer extends LayerBlob {
  diffId: string;
  chainId: string;
  /** Already in the layer store (and leased by the caller): nothing to do. */
  present: boolean;
}

export interface PullLayersContext {
  registry: RegistryClient;
  repo: string;
  content: ContentStore;
  layers: LayerStore;
  lease: Lease;
  /** Aborted by the first failure (with it as the reason) or by the caller. */
  cancel: AbortController;
  progress: Progress;
  /** Digests of the blobs this pull wrote into the content store (the caller deletes them on failure). */
  fetched: string[];
  parallel: number;
}

/**
 * The download is passed on in pieces of this size, not as the socket's
 * reads (64 KiB at most): each piece costs a file write, a trip through the
 * thread pool for gunzip and one through the tar reader, so a sixteenth as
 * many pieces is a good part of the unpacking's CPU time.
 */
const PIECE = 1 << 20;
/** Pieces buffered for the unpacker: the writer and the unpacker run side by side. */
const UNPACK_PIECES = 4;
/** Bytes between two `Downloading` progress messages. */
const REPORT_EVERY = 512 * 1024;

const short = (d: string) => d.replace(/^sha256:/, '').slice(0, 12);

/** Imports every layer not `present`; resolves once all are committed, in order. */
export async function pullLayers(c: PullLayersContext, layers: readonly PullLayer[]): Promise<void> {
  const slots = new Slots(c.parallel);
  const committed: Promise<void>[] = [];
  layers.forEach((l, i) => {
    const below = i > 0 ? committed[i - 1] : Promise.resolve();
    const task = l.present ? Promise.resolve() : pullLayer(c, l, i > 0 ? layers[i - 1].chainId : null, below, slots)
      .catch((e: unknown) => {
        if (!c.cancel.signal.aborted) c.cancel.abort(e);
        throw e;
      });
    // Awaited below (all of them) and by the layer above.
    task.catch(() => undefined);
    committed.push(task);
  });
  const results = await Promise.allSettled(committed);
  if (c.cancel.signal.aborted) throw c.cancel.signal.reason;
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

async function pullLayer(c: PullLayersContext, l: PullLayer, parent: string | null, below: Promise<void>, slots: Slots): Promise<void> {
  const { signal } = c.cancel;
  const id = short(l.digest);
  await slots.take(signal);
  let held = true;
  const giveBack = () => { if (held) { held = false; slots.give(); } };
  try {
    let tar: Readable;
    let verified: Promise<void>;
    if (await c.content.has(l.digest)) {
      c.progress({ status: 'Download complete', progressDetail: {}, id });
      tar = c.content.open(l.digest);
      verified = Promise.resolve();
    } else {
      // Asked before anything is written: a refused or missing blob fails as the registry said.
      const { blob, unpack } = download(c, l, await c.registry.getBlob(c.repo, l.digest));
      tar = unpack;
      c.fetched.push(l.digest);
      verified = c.content.put(blob, { digest: l.digest, size: l.size }).then(() => {
        c.progress({ status: 'Verifying Checksum', progressDetail: {}, id });
        c.progress({ status: 'Download complete', progressDetail: {}, id });
      }, (e: unknown) => {
        signal.throwIfAborted();
        throw new InvalidParameterError(`failed to verify layer ${l.digest}: ${errorMessage(e)}`);
      });
      verified.catch(() => undefined);
    }
    const cut = () => tar.destroy(signal.reason as Error);
    signal.addEventListener('abort', cut, { once: true });
    try {
      await c.layers.importLayer(tar, parent, {
        blob: { digest: l.digest, size: l.size, mediaType: l.mediaType },
        lease: c.lease,
        beforeCommit: async (diffId) => {
          await verified;
          c.progress({ status: 'Extracting', progressDetail: {}, id });
          if (diffId !== l.diffId) throw new InvalidParameterError(`layer ${l.digest}: its content has diffID ${diffId}, the image config says ${l.diffId}`);
          giveBack();
          await below;
          signal.throwIfAborted();
        },
      });
    } catch (e) {
      // Unpacking that failed on bytes that are not the blob's: the mismatch is the error. The
      // download goes on without the unpacker (one that never started reading is let go here).
      tar.destroy();
      await verified;
      signal.throwIfAborted();
      throw e;
    } finally {
      signal.removeEventListener('abort', cut);
    }
    c.progress({ status: 'Pull complete', progressDetail: {}, id });
  } finally {
    giveBack();
  }
}

/**
 * The blob's bytes from the registry (resumed after a broken connection),
 * counted for the progress, as two streams: `blob` for the content store,
 * which drives the download, and `unpack`, a copy for the unpacker with
 * shared backpressure. An unpacker that stops early (it failed) is left
 * behind while the blob goes on to its end.
 */
function download(c: PullLayersContext, l: PullLayer, first: Readable): { blob: Readable; unpack: PassThrough } {
  const { registry, repo, cancel, progress } = c;
  const id = short(l.digest);
  // Pieces as they are: a byte stream's reader (for await) gets everything buffered, copied into one.
  const unpack = new PassThrough({ objectMode: true, highWaterMark: UNPACK_PIECES });
  let unpacking = true;
  unpack.once('close', () => { unpacking = false; });
  // Its consumer (the unpacker) reports its own failure; a late one of the download has nobody to tell.
  unpack.on('error', () => undefined);
  let got = 0;
  let reported = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let whole = false;
  const take = () => {
    const piece = pending.length === 1 ? pending[0] : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return piece;
  };
  const blob = new Transform({
    highWaterMark: PIECE,
    transform(chunk: Buffer, _e, cb) {
      got += chunk.length;
      if (got - reported >= REPORT_EVERY || got === l.size) {
        reported = got;
        progress({ status: 'Downloading', progressDetail: { current: got, total: l.size }, id });
      }
      pending.push(chunk);
      pendingBytes += chunk.length;
      if (pendingBytes < PIECE) { cb(); return; }
      const piece = take();
      if (!unpacking || unpack.write(piece)) { cb(null, piece); return; }
      const go = () => { unpack.off('drain', go); unpack.off('close', go); cb(null, piece); };
      unpack.on('drain', go);
      unpack.on('close', go);
    },
    flush(cb) {
      whole = true;
      const piece = pendingBytes ? take() : undefined;
      if (unpacking) unpack.end(piece);
      cb(null, piece);
    },
    // Also called once the blob went through whole (autoDestroy): the unpacker then reads on.
    destroy(err, cb) {
      if (unpacking && !whole) unpack.destroy(err ?? new Error('layer download stopped before its end'));
      cb(err);
    },
  });
  const body = resumableBlob(first, (offset) => registry.getBlob(repo, l.digest, { offset }), {
    ...DEFAULT_RESUME, signal: cancel.signal,
    onResume: (_n, delay) => progress({ status: `Retrying in ${Math.max(1, Math.round(delay / 1000))} second${delay > 1500 ? 's' : ''}`, progressDetail: {}, id }),
  });
  // Count in the pipe itself: a 'data' listener would start the flow before the writer exists.
  body.once('error', (e) => blob.destroy(e));
  body.pipe(blob);
  return { blob, unpack };
}
