/**
 * The `local` and `tar` exporters (`--output type=local,dest=…`,
 * `type=tar,dest=…`): the final image's file system, sent to the client's
 * session over `/moby.filesync.v1.FileSend/DiffCopy` (buildkit's
 * session/filesync CopyToCaller and CopyFileWriter), the exporter's index
 * in `buildkit-attachable-exporter-id`.
 *
 * - local: berthd is fsutil's sender (send.go): a STAT per entry in walk
 *   order (the ID is its index), an empty STAT, then the bytes of each file
 *   the client asks for (REQ → DATA…, empty DATA), FIN for FIN;
 * - tar: a tar of the tree as BytesMessage chunks, then the end of the call.
 *
 * The tree is read through LayerView (the layers' merged view, symlinks
 * never followed, whiteouts applied); a file is opened without following a
 * link and sent only when it is a regular file.
 */
import { constants } from 'node:fs';
import { open, readlink } from 'node:fs/promises';
import { Readable } from 'node:stream';
import tarStream from 'tar-stream';
import { InvalidParameterError, SystemError } from '../errors.js';
import type { LayerView } from '../build/layer-view.js';
import type { GrpcClientConnection } from './grpc-client.js';
import { decode, encode } from './messages.js';

export const FILESEND_METHOD = '/moby.filesync.v1.FileSend/DiffCopy';

const CHUNK = 32 << 10;
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SYMLINK = 1 << 27;

interface TreeEntry {
  path: string;
  kind: 'dir' | 'file' | 'symlink';
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtimeMs: number;
  linkname: string;
  host: string;
}

/** The view's entries, depth first, names in byte order (fsutil's walk order). Devices, FIFOs and sockets are left out. */
async function* walk(view: LayerView, rel = ''): AsyncGenerator<TreeEntry> {
  for (const name of await view.readdir(rel)) {
    const path = rel ? `${rel}/${name}` : name;
    const e = await view.lstat(path);
    if (!e) continue;
    const st = e.st;
    const base = { path, mode: Number(st.mode & 0o7777n), uid: Number(st.uid), gid: Number(st.gid), size: 0, mtimeMs: Number(st.mtimeMs), linkname: '', host: e.host };
    if (st.isDirectory()) {
      yield { ...base, kind: 'dir' };
      yield* walk(view, path);
    } else if (st.isSymbolicLink()) {
      yield { ...base, kind: 'symlink', linkname: await readlink(e.host) };
    } else if (st.isFile()) {
      yield { ...base, kind: 'file', size: Number(st.size) };
    }
  }
}

/** A file's bytes, opened without following a link, refused unless it is (still) a regular file. */
async function* fileBytes(host: string): AsyncGenerator<Buffer> {
  const fh = await open(host, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    if (!(await fh.stat()).isFile()) throw new SystemError(`${host} is no longer a regular file`);
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) return;
      yield buf.subarray(0, bytesRead);
    }
  } finally {
    await fh.close();
  }
}

function goMode(e: TreeEntry): number {
  let m = e.mode & 0o777;
  if (e.mode & 0o4000) m += 1 << 23;
  if (e.mode & 0o2000) m += 1 << 22;
  if (e.mode & 0o1000) m += 1 << 20;
  if (e.kind === 'dir') m += GO_MODE_DIR;
  if (e.kind === 'symlink') m += GO_MODE_SYMLINK;
  return m;
}

/** `type=local`: the tree to the client's directory target `exporterId`. */
export async function sendTree(conn: GrpcClientConnection, exporterId: number, view: LayerView, signal: AbortSignal): Promise<void> {
  const call = conn.call(FILESEND_METHOD, { 'buildkit-attachable-exporter-id': String(exporterId) });
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort);
  try {
    const files = new Map<number, string>();
    let id = 0;
    for await (const e of walk(view)) {
      if (e.kind === 'file') files.set(id, e.host);
      await call.write(encode('Packet', {
        type: 0,
        stat: { path: e.path, mode: goMode(e), uid: e.uid, gid: e.gid, size: e.size, modTime: Math.floor(e.mtimeMs) * 1e6, linkname: e.linkname },
      }));
      id++;
    }
    await call.write(encode('Packet', { type: 0 }));
    for await (const m of call.messages()) {
      const p = decode<{ type: number; ID: number; data: Buffer }>('Packet', m);
      if (p.type === 1) {
        const host = files.get(p.ID);
        if (host === undefined) throw new InvalidParameterError(`filesync: the client asked for file ${p.ID}, which is no file sent`);
        files.delete(p.ID);
        for await (const chunk of fileBytes(host)) await call.write(encode('Packet', { type: 2, ID: p.ID, data: chunk }));
        await call.write(encode('Packet', { type: 2, ID: p.ID }));
      } else if (p.type === 3) {
        call.send(encode('Packet', { type: 3 }));
        call.end();
      } else if (p.type === 4) {
        throw new InvalidParameterError(`filesync: the client failed to receive the files: ${p.data.toString('utf8').slice(0, 4096)}`);
      }
    }
    await call.done;
  } catch (e) {
    call.cancel();
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/** The tree as a tar stream (owners and modes as in the image). */
export function treeTar(view: LayerView): Readable {
  const pack = tarStream.pack();
  void (async () => {
    for await (const e of walk(view)) {
      const header = { name: e.path, mode: e.mode, uid: e.uid, gid: e.gid, mtime: new Date(e.mtimeMs) };
      if (e.kind === 'file') {
        const entry = pack.entry({ ...header, type: 'file', size: e.size });
        for await (const c of fileBytes(e.host)) if (!entry.write(c)) await new Promise<void>((r) => { entry.once('drain', () => r()); });
        await new Promise<void>((res, rej) => { entry.once('error', rej); entry.end(() => res()); });
      } else {
        await new Promise<void>((res, rej) => {
          pack.entry({ ...header, type: e.kind === 'dir' ? 'directory' : 'symlink', linkname: e.linkname }, (err) => (err ? rej(err) : res()));
        });
      }
    }
    pack.finalize();
  })().catch((e: Error) => pack.destroy(e));
  pack.on('error', () => undefined);
  return pack as unknown as Readable;
}

/** `type=tar`: the tree's tar to the client's file target `exporterId`. */
export function sendTreeTar(conn: GrpcClientConnection, exporterId: number, view: LayerView, signal: AbortSignal): Promise<void> {
  return sendFile(conn, exporterId, treeTar(view), signal);
}

/**
 * A byte stream (a tar) to the client's file target `exporterId` (buildx's
 * `dest=` file or stdout): BytesMessage chunks, then the end of the call.
 */
export async function sendFile(conn: GrpcClientConnection, exporterId: number, stream: Readable, signal: AbortSignal): Promise<void> {
  const call = conn.call(FILESEND_METHOD, { 'buildkit-attachable-exporter-id': String(exporterId) });
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      for (let off = 0; off < chunk.length; off += CHUNK) await call.write(encode('BytesMessage', { data: chunk.subarray(off, off + CHUNK) }));
    }
    call.end();
    for await (const m of call.messages()) void m;
    await call.done;
  } catch (e) {
    call.cancel();
    stream.destroy();
    throw e;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
