/**
 * Sinks for filesync (filesync.ts): a tar stream, which is what berth's
 * build service unpacks a context from (through the same checked
 * extraction as `POST /build`'s body), and a small in-memory directory for
 * the Dockerfile and its ignore file.
 *
 * Entries are written as the docker CLI writes a context tar: owned by
 * root, with the client's permission bits and modification times.
 */
import { once } from 'node:events';
import tarStream from 'tar-stream';
import { InvalidParameterError } from '../errors.js';
import type { SyncEntry, SyncSink } from './filesync.js';

/**
 * Writes a file's bytes into its tar entry as they come, waiting on the
 * entry's backpressure. (No stream.pipeline: its abort controller and
 * wrapper streams per file cost more than the bytes of a small file.)
 */
async function writeFileEntry(pack: tarStream.Pack, header: Partial<tarStream.Header> & { name: string }, data: AsyncIterable<Buffer>): Promise<void> {
  let settle!: (e?: Error | null) => void;
  const written = new Promise<void>((res, rej) => { settle = (e) => (e ? rej(e) : res()); });
  written.catch(() => undefined);
  const entry = pack.entry(header, (e) => settle(e));
  try {
    for await (const chunk of data) {
      if (!entry.write(chunk)) await Promise.race([once(entry, 'drain'), written]);
    }
    // tar-stream's entries are streamx writables: end() with no chunk (the typings want an argument).
    entry.end(undefined);
  } catch (e) {
    entry.destroy(e as Error);
    throw e;
  }
  await written;
}

export function tarSink(pack: tarStream.Pack): SyncSink {
  return {
    async entry(e, data) {
      const header: Partial<tarStream.Header> & { name: string } = { name: e.path, mode: e.mode, mtime: new Date(e.mtimeMs), uid: 0, gid: 0 };
      switch (e.kind) {
        case 'dir': header.type = 'directory'; break;
        case 'symlink': header.type = 'symlink'; header.linkname = e.linkname; break;
        case 'hardlink': header.type = 'link'; header.linkname = e.linkname; break;
        default: header.type = 'file'; header.size = e.size;
      }
      if (header.type === 'file' && data) {
        await writeFileEntry(pack, header, data);
        return;
      }
      const done = (res: () => void, rej: (e: Error) => void) => (err?: Error | null) => (err ? rej(err) : res());
      // An empty file comes without data; tar-stream's entry of a file without a buffer waits for a body that never comes.
      if (header.type === 'file') await new Promise<void>((res, rej) => { pack.entry(header, Buffer.alloc(0), done(res, rej)); });
      else await new Promise<void>((res, rej) => { pack.entry(header, done(res, rej)); });
    },
  };
}

/** Keeps regular files (at most `maxBytes` in all) in memory; other entries are noted by kind only. */
export class MemorySink implements SyncSink {
  readonly files = new Map<string, Buffer>();
  private total = 0;

  constructor(private readonly maxBytes: number) {}

  async entry(e: SyncEntry, data?: AsyncIterable<Buffer>): Promise<void> {
    if (e.kind !== 'file') return;
    if (this.total + e.size > this.maxBytes) throw new InvalidParameterError(`${e.path} is too large (over ${this.maxBytes} bytes)`);
    const chunks: Buffer[] = [];
    if (data) for await (const c of data) chunks.push(c);
    const buf = Buffer.concat(chunks);
    this.total += buf.length;
    this.files.set(e.path, buf);
  }
}
