/**
 * Reads a tar (a `docker save` berthd made) into entries tar-write.ts can
 * write back, so mutations can start from a real archive.
 */
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import type { TarEntry } from './tar-write.js';

const TYPES: Record<string, string> = { file: '0', link: '1', symlink: '2', 'character-device': '3', 'block-device': '4', directory: '5', fifo: '6' };

export async function readTar(bytes: Buffer): Promise<TarEntry[]> {
  const out: TarEntry[] = [];
  const ex = tar.extract();
  const done = new Promise<void>((resolve, reject) => { ex.on('finish', () => resolve()); ex.on('error', reject); });
  ex.on('entry', (h, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: unknown) => chunks.push(c as Buffer));
    stream.on('end', () => {
      out.push({
        name: h.name, type: TYPES[h.type ?? 'file'] ?? '0', data: Buffer.concat(chunks), linkname: h.linkname ?? undefined,
        mode: h.mode, uid: h.uid, gid: h.gid, mtime: h.mtime ? Math.floor(h.mtime.getTime() / 1000) : undefined,
      });
      next();
    });
    stream.resume();
  });
  Readable.from([bytes]).pipe(ex);
  await done;
  return out;
}
