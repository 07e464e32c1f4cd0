/**
 * A `docker load` archive (docker save's format or an OCI image layout, as a
 * tar, optionally gzip-compressed), unpacked so its files can be read in
 * any order: manifest.json and index.json come last in the archives docker
 * save writes, after the blobs they name.
 *
 * Nothing in the archive is written under its own name. Each regular file's
 * content goes to a file of ours, `<dir>/<n>` (created O_EXCL, never through
 * a symlink), and the archive's names live only in a table: entry name →
 * regular file (its size and sha256, measured while it was written),
 * symlink (its target), directory, or anything else (a FIFO, a device).
 * So no entry name, however crafted (`..`, absolute, a symlink followed by
 * a file "inside" it, a hard link to /etc/shadow), can make us write or
 * read outside `dir`, and a lookup follows symlinks through the table only
 * (see archive-names.ts), ending at a regular file of the archive or at an
 * error. Reads never go past the size the entry had.
 */
import { createHash } from 'node:crypto';
import { constants, createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { InvalidParameterError } from '../errors.js';
import { MAX_PATH_LENGTH, quoteName, symlinkTarget, tarEntryName } from './archive-names.js';
import { uncompressed } from './decompress.js';
import { readTar, type TarEntryType } from './tar-format.js';

/** More entries than any save archive has (a few per layer and image); with the next, a bound on the table's memory. */
export const MAX_ENTRIES = 100_000;
/** Bytes of entry names and symlink targets the table may hold in all. */
export const MAX_NAMES_SIZE = 32 << 20;
/** manifest.json, index.json, manifests and configs are parsed whole; none is anywhere near this. */
export const MAX_JSON_SIZE = 8 << 20;
/** Symlinks followed in one lookup before giving up (Linux's MAXSYMLINKS). */
const MAX_HOPS = 40;

/** A regular file of the archive: where its content is, how big it is, its digest. */
export interface ArchiveFile {
  /** The canonical archive path it was found at (after symlinks). */
  path: string;
  size: number;
  digest: string;
  host: string;
}

type Entry =
  | { type: 'file'; file: ArchiveFile }
  | { type: 'symlink'; linkname: string }
  | { type: Exclude<TarEntryType, 'file' | 'symlink' | 'link'> };

export class UnpackedArchive {
  private constructor(private readonly entries: Map<string, Entry>) {}

  /**
   * Reads the whole archive into `dir` (which must exist, empty and ours).
   * Refuses absolute or `..` entry names and hard links to anything but an
   * earlier regular file of the archive.
   */
  static async unpack(source: AsyncIterable<Buffer | string | Uint8Array>, dir: string): Promise<UnpackedArchive> {
    const entries = new Map<string, Entry>();
    let n = 0;
    let namesSize = 0;
    for await (const { header: h, body } of readTar(uncompressed(source))) {
      if (++n > MAX_ENTRIES) throw new InvalidParameterError(`invalid archive: more than ${MAX_ENTRIES} entries`);
      namesSize += h.name.length + h.linkname.length;
      if (namesSize > MAX_NAMES_SIZE) throw new InvalidParameterError(`invalid archive: its entry names exceed ${MAX_NAMES_SIZE} bytes`);
      const name = tarEntryName(h.name);
      if (name === '') continue; // "./"
      if (h.type === 'file') {
        entries.set(name, { type: 'file', file: await writeBody(body, name, `${dir}/${n}`) });
      } else if (h.type === 'link') {
        // A hard link names an earlier entry by its archive path; it shares that file's content.
        const target = tarEntryName(h.linkname);
        const e = entries.get(target);
        if (e?.type !== 'file') throw new InvalidParameterError(`invalid archive: hard link ${quoteName(h.name)} to ${quoteName(h.linkname)}, which is not a regular file in the archive`);
        entries.set(name, e);
      } else if (h.type === 'symlink') {
        if (h.linkname.length > MAX_PATH_LENGTH) throw new InvalidParameterError(`invalid archive: symlink ${quoteName(h.name)} has a target longer than ${MAX_PATH_LENGTH} bytes`);
        entries.set(name, { type: 'symlink', linkname: h.linkname });
      } else {
        entries.set(name, { type: h.type });
      }
    }
    return new UnpackedArchive(entries);
  }

  /** Every entry: its canonical name and type (a hard link shows as the file it shares). */
  list(): { name: string; type: TarEntryType }[] {
    return [...this.entries].map(([name, e]) => ({ name, type: e.type }));
  }

  /** Whether `path` (canonical) names an entry at all, of any type. */
  has(path: string): boolean {
    return this.entries.has(path);
  }

  /**
   * The regular file `path` (canonical) names, following symlink entries
   * within the archive. Anything else is an error: a missing name, a
   * symlink out of the archive, a directory, FIFO or device.
   */
  file(path: string): ArchiveFile {
    let parts = path.split('/');
    let hops = 0;
    // parts[0..i) is a prefix known to be no symlink; a symlink at parts[i] replaces the prefix with its target.
    for (let i = 0; i < parts.length;) {
      const prefix = parts.slice(0, i + 1).join('/');
      const e = this.entries.get(prefix);
      if (e?.type !== 'symlink') { i++; continue; }
      if (++hops > MAX_HOPS) throw new InvalidParameterError(`${quoteName(path)} in archive: too many levels of symbolic links`);
      const target = symlinkTarget(prefix, e.linkname);
      if (target === null) throw new InvalidParameterError(`${quoteName(path)} in archive is a symlink to ${quoteName(e.linkname)}, outside the archive`);
      parts = [...(target ? target.split('/') : []), ...parts.slice(i + 1)];
      i = 0;
    }
    const resolved = parts.join('/');
    const e = resolved ? this.entries.get(resolved) : { type: 'dir' as const };
    if (!e) throw new InvalidParameterError(`${quoteName(path)} not found in archive`);
    if (e.type !== 'file') throw new InvalidParameterError(`${quoteName(path)} in archive is not a regular file`);
    return e.file;
  }

  /**
   * The regular file at `path`, checked against what a descriptor says of it
   * (OCI: a blob's size and digest). Nothing is read: both were measured
   * when the file was unpacked.
   */
  blob(path: string, expected: { size?: number; digest?: string }): ArchiveFile {
    const f = this.file(path);
    if (expected.size !== undefined && f.size !== expected.size) {
      throw new InvalidParameterError(`${quoteName(path)} in archive: unexpected size ${f.size}, expected ${expected.size}`);
    }
    if (expected.digest !== undefined && f.digest !== expected.digest) {
      throw new InvalidParameterError(`${quoteName(path)} in archive: unexpected digest ${f.digest}, expected ${expected.digest}`);
    }
    return f;
  }

  /** The bytes of a file that is parsed whole (JSON), refused above `max` bytes before anything is read. */
  async read(f: ArchiveFile, max = MAX_JSON_SIZE): Promise<Buffer> {
    if (f.size > max) throw new InvalidParameterError(`${quoteName(f.path)} in archive is too large: ${f.size} bytes (at most ${max})`);
    const bytes = await readFile(f.host, { flag: constants.O_RDONLY | constants.O_NOFOLLOW });
    if (bytes.length !== f.size) throw new InvalidParameterError(`${quoteName(f.path)} in archive: unexpected size`);
    return bytes;
  }

  /**
   * Parses a JSON file. A parse error says where, never what: the message of
   * JSON.parse quotes the text it choked on.
   */
  async readJson(f: ArchiveFile, max = MAX_JSON_SIZE): Promise<{ bytes: Buffer; value: unknown }> {
    const bytes = await this.read(f, max);
    try {
      return { bytes, value: JSON.parse(bytes.toString('utf8')) };
    } catch {
      throw new InvalidParameterError(`${quoteName(f.path)} in archive is not valid JSON`);
    }
  }
}

/** A stream of an archive file's content: its recorded size, not a byte more. */
export function openArchiveFile(f: ArchiveFile): Readable {
  if (f.size === 0) return Readable.from([]);
  return createReadStream(f.host, { start: 0, end: f.size - 1, highWaterMark: 1 << 20 });
}

/** Writes one entry's content to a new file of ours, measuring its size and sha256 on the way. */
async function writeBody(body: AsyncIterable<Buffer>, path: string, host: string): Promise<ArchiveFile> {
  const fh = await open(host, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  const hash = createHash('sha256');
  let size = 0;
  try {
    for await (const chunk of body) {
      hash.update(chunk);
      let off = 0;
      while (off < chunk.length) off += (await fh.write(chunk, off, chunk.length - off)).bytesWritten;
      size += chunk.length;
    }
  } finally {
    await fh.close();
  }
  return { path, size, digest: `sha256:${hash.digest('hex')}`, host };
}
