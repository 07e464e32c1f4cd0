/**
 * A context as one tar, the format of `docker context export|import`
 * (docker/cli cli/context/store: Export, Import):
 *
 *   meta.json                      {"Name":…,"Metadata":…,"Endpoints":…}
 *   tls/                           (directory)
 *   tls/docker/                    (directory, when there is TLS material)
 *   tls/docker/{ca,cert,key}.pem   the endpoint's PEM files
 *
 * The importer renames the context (meta.json's Name is replaced by the
 * name given to `import`). Archives the Docker CLI writes have no
 * end-of-archive blocks; they read as complete.
 *
 * An archive to import is hostile input (it may come from anyone): the
 * whole archive is limited to Docker's 10 MiB and each file to far less,
 * only the entries above may appear, each once, as regular files or
 * directories (no links, devices or other names, so no `..`, absolute or
 * backslashed names either), meta.json must be a context and its docker
 * endpoint an address berth can use, the PEM files must be PEM. All of it
 * is read and checked in memory before the store is touched, so a refused
 * archive writes nothing.
 */
import { BLOCK, encodeHeader, END_OF_ARCHIVE, newHeader, padding, readTar } from '../../image/tar-format.js';
import { StatusError } from '../errors.js';
import { parseHost } from '../host.js';
import type { ContextMeta, TlsFileName, TlsMaterial } from './store.js';

const META_FILE = 'meta.json';
const TLS_FILES: readonly TlsFileName[] = ['ca.pem', 'cert.pem', 'key.pem'];

/** Docker's own limit on an imported archive (maxAllowedFileSizeToImport). */
export const MAX_ARCHIVE_SIZE = 10 << 20;
/** A context's meta.json is a few hundred bytes; this leaves room for long descriptions and other tools' fields. */
export const MAX_META_SIZE = 256 << 10;
/** Room for a CA bundle (Mozilla's is about 220 KiB). */
export const MAX_PEM_SIZE = 1 << 20;

// ------------------------------------------------------------------ export

/** The archive of a context, as `docker context export` writes it (plus the end-of-archive blocks Docker's leaves out). */
export function contextArchive(meta: ContextMeta, tls: TlsMaterial): Buffer {
  const parts: Buffer[] = [];
  const file = (name: string, data: Buffer, mode: number) => {
    parts.push(encodeHeader(newHeader({ name, type: 'file', mode, size: data.length })), data, Buffer.alloc(padding(data.length)));
  };
  const dir = (name: string) => parts.push(encodeHeader(newHeader({ name, type: 'dir', mode: 0o700 })));
  file(META_FILE, Buffer.from(JSON.stringify(meta)), 0o644);
  dir('tls');
  const present = TLS_FILES.filter((f) => tls[f]);
  if (present.length > 0) {
    dir('tls/docker');
    for (const f of present) file(`tls/docker/${f}`, tls[f]!, 0o600);
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

// ------------------------------------------------------------------ import

function refuse(why: string): never {
  throw new StatusError(1, `invalid context archive: ${why}`);
}

/** What an entry name may be, or why not; the names are Docker's, with or without a directory's trailing slash. */
function classify(name: string, type: string): { kind: 'meta' } | { kind: 'tls'; file: TlsFileName } | { kind: 'dir' } {
  const shown = JSON.stringify(name.length > 120 ? `${name.slice(0, 120)}…` : name);
  if (type === 'dir') {
    if (['tls', 'tls/', 'tls/docker', 'tls/docker/'].includes(name)) return { kind: 'dir' };
    refuse(`unexpected directory ${shown}: a context archive holds meta.json and tls/docker/{ca,cert,key}.pem only`);
  }
  if (type !== 'file') refuse(`${shown} is a ${type}: a context archive holds regular files and directories only`);
  if (name === META_FILE) return { kind: 'meta' };
  const m = /^tls\/docker\/(ca|cert|key)\.pem$/.exec(name);
  if (m) return { kind: 'tls', file: `${m[1]}.pem` as TlsFileName };
  if (/^tls\/[^/]+\/[^/]+$/.test(name) && !name.startsWith('tls/docker/')) {
    refuse(`unexpected file ${shown}: berth contexts have a docker endpoint only, and no TLS material for other endpoints`);
  }
  refuse(`unexpected file ${shown}: a context archive holds meta.json and tls/docker/{ca,cert,key}.pem only`);
}

interface InputState {
  /** Bytes the source gave. */
  total: number;
  /** Zeros added after them to complete the last block (see limited). */
  filled: number;
}

/**
 * The input, ended with an error once it passes `max` bytes; a zip (which
 * Docker's CLI also imports) is refused by its magic. The Docker CLI's
 * exports end without the last entry's padding (its tar writer is closed
 * after the pipe it writes to); Go's reader takes that as the end. Zeros
 * complete the last block here, and readContextArchive accepts them only
 * where they stand for that padding.
 */
async function* limited(source: AsyncIterable<Buffer | string | Uint8Array>, max: number, state: InputState): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
    if (state.total === 0 && b.length >= 4 && b.readUInt32BE(0) === 0x504b0304) {
      refuse('zip archives are not supported by berth: export the context as a tar (`docker context export` writes one)');
    }
    state.total += b.length;
    if (state.total > max) refuse(`larger than ${max} bytes`);
    yield b;
  }
  if (state.total % BLOCK !== 0) {
    state.filled = BLOCK - (state.total % BLOCK);
    yield Buffer.alloc(state.filled);
  }
}

async function readBody(body: AsyncIterable<Buffer>, size: number, max: number, name: string): Promise<Buffer> {
  if (size > max) refuse(`${name} is ${size} bytes, more than the ${max} a context's ${name} may have`);
  const chunks: Buffer[] = [];
  for await (const c of body) chunks.push(c);
  const data = Buffer.concat(chunks);
  if (data.includes(0)) refuse(`${name} holds NUL bytes: it is not text`);
  return data;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** meta.json as a context named `name`: the shape Docker's CLI reads, and a docker endpoint berth can reach. */
export function parseContextMeta(data: Buffer, name: string): ContextMeta {
  let raw: unknown;
  try {
    raw = JSON.parse(data.toString('utf8'));
  } catch (e) {
    refuse(`meta.json is not JSON: ${(e as Error).message}`);
  }
  if (!isObject(raw)) refuse('meta.json is not a JSON object');
  const metadata = raw.Metadata ?? {};
  const endpoints = raw.Endpoints ?? {};
  if (!isObject(metadata)) refuse('meta.json: Metadata is not an object');
  if (!isObject(endpoints)) refuse('meta.json: Endpoints is not an object');
  if (metadata.Description !== undefined && typeof metadata.Description !== 'string') refuse('meta.json: Metadata.Description is not a string');
  const docker = endpoints.docker;
  if (!isObject(docker)) refuse('meta.json has no docker endpoint');
  if (typeof docker.Host !== 'string' || docker.Host === '') refuse('meta.json: the docker endpoint has no Host');
  if (docker.SkipTLSVerify !== undefined && typeof docker.SkipTLSVerify !== 'boolean') refuse('meta.json: the docker endpoint\'s SkipTLSVerify is not a boolean');
  try {
    parseHost(docker.Host);
  } catch (e) {
    refuse(`meta.json: the docker endpoint's Host: ${(e as Error).message}`);
  }
  return { Name: name, Metadata: metadata as ContextMeta['Metadata'], Endpoints: endpoints as ContextMeta['Endpoints'] };
}

/** A context archive read and checked whole; nothing is written. */
export async function readContextArchive(source: AsyncIterable<Buffer | string | Uint8Array>, name: string): Promise<{ meta: ContextMeta; tls: TlsMaterial }> {
  let meta: ContextMeta | undefined;
  const tls: TlsMaterial = {};
  const seen = new Set<string>();
  const input: InputState = { total: 0, filled: 0 };
  let last = { type: '', size: 0 };
  try {
    for await (const { header, body } of readTar(limited(source, MAX_ARCHIVE_SIZE, input))) {
      last = { type: header.type, size: header.size };
      const entry = classify(header.name, header.type);
      const key = header.name.replace(/\/$/, '');
      if (seen.has(key)) refuse(`${JSON.stringify(header.name)} appears twice`);
      seen.add(key);
      if (entry.kind === 'meta') {
        meta = parseContextMeta(await readBody(body, header.size, MAX_META_SIZE, META_FILE), name);
      } else if (entry.kind === 'tls') {
        const pem = await readBody(body, header.size, MAX_PEM_SIZE, header.name);
        if (!pem.includes('-----BEGIN ')) refuse(`${header.name} is not PEM`);
        tls[entry.file] = pem;
      }
    }
  } catch (e) {
    // Errors of the input itself (a directory, an I/O error) are the caller's to word.
    if (e instanceof StatusError || (e as NodeJS.ErrnoException).syscall) throw e;
    // tar-format's errors (a bad checksum, a truncated archive, an unknown entry type).
    refuse((e as Error).message);
  }
  // Added zeros are only the missing padding of a last file that ends where the input does; anywhere else the archive was cut short.
  if (input.filled && !(last.type === 'file' && last.size % BLOCK === input.total % BLOCK)) refuse('unexpected end of tar archive');
  if (!meta) refuse('no meta.json: not a context archive');
  if (Boolean(tls['cert.pem']) !== Boolean(tls['key.pem'])) refuse('tls/docker/cert.pem and key.pem must come together');
  return { meta, tls };
}
