/**
 * The receiving end of BuildKit's filesync (`/moby.filesync.v1.FileSync/
 * DiffCopy`, fsutil's send.go/receive.go protocol), which is how a build's
 * context and Dockerfile reach the daemon: berthd calls DiffCopy on the
 * client's session with `dir-name` (and include/exclude patterns) as
 * metadata; the client walks the directory and sends one STAT packet per
 * entry in walk order (the entry's ID is its index in that walk), then an
 * empty STAT; berthd asks for each regular file's bytes with a REQ packet
 * naming its ID, the client answers with DATA packets and an empty DATA;
 * FIN from berthd, FIN back, and the call ends.
 *
 * The client is not trusted. Every STAT is checked before it names
 * anything: relative slash-separated paths without `.`/`..`/empty parts,
 * whose parent directory came earlier, each path once; a hard link names a
 * regular file sent before it; a file's bytes are exactly its stated size
 * (more is refused, less is refused); entries are counted and names are
 * bounded. What passes is handed to a sink as entries with Unix modes
 * (fsutil sends Go's os.FileMode bits); devices, FIFOs and sockets are
 * skipped, as BuildKit's own context transfer does for a Dockerfile build
 * (`COPY` never copies them either). Owners are not kept: a context's files
 * belong to root, as the docker CLI's context tar says.
 */
import { InvalidParameterError } from '../errors.js';
import type { GrpcClientConnection } from './grpc-client.js';
import { decode, encode } from './messages.js';
import { traceAt } from '../trace.js';

export const DIFFCOPY_METHOD = '/moby.filesync.v1.FileSync/DiffCopy';

const PACKET_STAT = 0;
const PACKET_REQ = 1;
const PACKET_DATA = 2;
const PACKET_FIN = 3;
const PACKET_ERR = 4;

/** Go os.FileMode bits (fsutil's Stat.mode). */
const GO_MODE_DIR = 1 << 31 >>> 0;
const GO_MODE_SYMLINK = 1 << 27;
const GO_MODE_SETUID = 1 << 23;
const GO_MODE_SETGID = 1 << 22;
const GO_MODE_STICKY = 1 << 20;
/** ModeDir | ModeSymlink | ModeNamedPipe | ModeSocket | ModeDevice | ModeCharDevice | ModeIrregular. */
const GO_MODE_TYPE = (GO_MODE_DIR | GO_MODE_SYMLINK | (1 << 25) | (1 << 24) | (1 << 26) | (1 << 21) | (1 << 19)) >>> 0;

export const MAX_SYNC_ENTRIES = 500_000;
/** Files up to this size are asked for ahead of their turn… */
const SMALL_FILE = 64 << 10;
/** …at most this many at once, and this many bytes. */
const AHEAD_FILES = 256;
const AHEAD_BYTES = 8 << 20;
const MAX_PATH_BYTES = 4096;
/**
 * The walk is held in memory until its end (the files' bytes are asked for
 * after it), so its names are bounded in all, not only one by one: 500,000
 * entries of 4 KiB paths and 4 KiB link targets would be 4 GiB, past
 * berthd's heap. 128 MiB is 250 bytes a name for the most entries a walk
 * may have.
 */
export const MAX_WALK_NAME_BYTES = 128 << 20;

export interface SyncEntry {
  /** Relative, slash-separated, no `.`/`..` parts. */
  path: string;
  kind: 'dir' | 'file' | 'symlink' | 'hardlink';
  /** Unix permission bits with setuid/setgid/sticky. */
  mode: number;
  size: number;
  mtimeMs: number;
  /** A symlink's target, or the earlier path a hard link names. */
  linkname: string;
}

export interface SyncSink {
  /** One entry, in walk order; for a `file` of non-zero size, `data` yields exactly `size` bytes and must be read to its end. */
  entry(e: SyncEntry, data?: AsyncIterable<Buffer>): Promise<void>;
  /**
   * Every entry has arrived and passed its checks. Called before the call's
   * closing handshake (FIN, FIN back, the status), so that what consumes
   * the entries need not wait a round trip for it; `diffCopy` still fails
   * if that handshake does.
   */
  received?(): Promise<void>;
}

export interface SyncRequest {
  /** The session's directory name (`context`, `dockerfile`). */
  dirName: string;
  includePatterns?: string[];
  excludePatterns?: string[];
  followPaths?: string[];
  signal?: AbortSignal;
}

interface StatMsg { path: string; mode: number; size: number; modTime: number; linkname: string }
interface PacketMsg { type: number; stat: StatMsg | null; ID: number; data: Buffer }

/** Metadata values as filesync's decodeOpts expects them: percent-encoded, flagged with `<key>-encoded`. */
function metadata(r: SyncRequest): Record<string, string | string[]> {
  const md: Record<string, string | string[]> = { 'dir-name': encodeURIComponent(r.dirName), 'dir-name-encoded': '1' };
  const add = (key: string, values: string[] | undefined) => {
    if (!values?.length) return;
    md[key] = values.map((v) => encodeURIComponent(v));
    md[`${key}-encoded`] = '1';
  };
  add('include-patterns', r.includePatterns);
  add('exclude-patterns', r.excludePatterns);
  add('followpaths', r.followPaths);
  return md;
}

function checkPath(p: string, what: string): void {
  if (!p) throw new InvalidParameterError(`filesync: empty ${what}`);
  if (Buffer.byteLength(p) > MAX_PATH_BYTES) throw new InvalidParameterError(`filesync: ${what} longer than ${MAX_PATH_BYTES} bytes`);
  if (p.includes('\0')) throw new InvalidParameterError(`filesync: ${what} contains a NUL byte`);
}

function checkRelative(p: string): void {
  checkPath(p, 'path');
  for (const part of p.split('/')) {
    if (part === '' || part === '.' || part === '..') throw new InvalidParameterError(`filesync: invalid path ${JSON.stringify(p)}`);
  }
}

function unixMode(goMode: number): number {
  let m = goMode & 0o777;
  if (goMode & GO_MODE_SETUID) m |= 0o4000;
  if (goMode & GO_MODE_SETGID) m |= 0o2000;
  if (goMode & GO_MODE_STICKY) m |= 0o1000;
  return m;
}

/** Receives directory `dirName` of the client's session into `sink`. */
export async function diffCopy(conn: GrpcClientConnection, req: SyncRequest, sink: SyncSink): Promise<void> {
  traceAt(`diffcopy ${req.dirName} begin`);
  const call = conn.call(DIFFCOPY_METHOD, metadata(req));
  const onAbort = () => call.cancel();
  req.signal?.addEventListener('abort', onAbort);
  const msgs = call.messages();
  const next = async (): Promise<PacketMsg | undefined> => {
    const r = await msgs.next();
    if (r.done) return undefined;
    const p = decode<PacketMsg>('Packet', r.value);
    if (p.type === PACKET_ERR) throw new InvalidParameterError(`filesync: the client failed to send ${req.dirName}: ${p.data.toString('utf8').slice(0, 4096)}`);
    return p;
  };
  try {
    // The walk: every STAT, checked, until the empty one.
    const entries: { e: SyncEntry; id: number }[] = [];
    const dirs = new Set<string>(['']);
    const files = new Set<string>();
    const seen = new Set<string>();
    let nameBytes = 0;
    for (let id = 0; ; id++) {
      const p = await next();
      if (!p) throw new InvalidParameterError(`filesync: ${req.dirName}: the stream ended before the walk did`);
      if (p.type !== PACKET_STAT) throw new InvalidParameterError(`filesync: unexpected packet type ${p.type} during the walk`);
      if (!p.stat) break;
      if (id >= MAX_SYNC_ENTRIES) throw new InvalidParameterError(`filesync: ${req.dirName} has more than ${MAX_SYNC_ENTRIES} entries`);
      const s = p.stat;
      nameBytes += Buffer.byteLength(s.path) + Buffer.byteLength(s.linkname);
      if (nameBytes > MAX_WALK_NAME_BYTES) throw new InvalidParameterError(`filesync: the names in ${req.dirName} are more than ${MAX_WALK_NAME_BYTES} bytes in all`);
      checkRelative(s.path);
      if (seen.has(s.path)) throw new InvalidParameterError(`filesync: ${JSON.stringify(s.path)} sent twice`);
      const slash = s.path.lastIndexOf('/');
      const parent = slash < 0 ? '' : s.path.slice(0, slash);
      if (!dirs.has(parent)) throw new InvalidParameterError(`filesync: ${JSON.stringify(s.path)} came before its directory`);
      seen.add(s.path);
      const mode = s.mode >>> 0;
      const base = { path: s.path, mode: unixMode(mode), mtimeMs: Math.floor(s.modTime / 1e6), size: 0, linkname: '' };
      if (mode & GO_MODE_DIR) {
        dirs.add(s.path);
        entries.push({ e: { ...base, kind: 'dir' }, id });
      } else if (mode & GO_MODE_SYMLINK) {
        checkPath(s.linkname, 'symlink target');
        entries.push({ e: { ...base, kind: 'symlink', linkname: s.linkname }, id });
      } else if (mode & GO_MODE_TYPE) {
        continue; // a device, FIFO or socket: not part of a build context
      } else if (s.linkname) {
        if (!files.has(s.linkname)) throw new InvalidParameterError(`filesync: hard link ${JSON.stringify(s.path)} names ${JSON.stringify(s.linkname)}, which is no file sent before it`);
        entries.push({ e: { ...base, kind: 'hardlink', linkname: s.linkname }, id });
      } else {
        if (!Number.isSafeInteger(s.size) || s.size < 0) throw new InvalidParameterError(`filesync: invalid size ${s.size} of ${JSON.stringify(s.path)}`);
        files.add(s.path);
        entries.push({ e: { ...base, kind: 'file', size: s.size }, id });
      }
    }
    traceAt(`diffcopy ${req.dirName} walked ${entries.length}`);
    // The bytes. Small files are asked for ahead (a round trip per file would dominate a context of many
    // small files) and held until their turn, within AHEAD_FILES and AHEAD_BYTES; any other file is asked
    // for alone when its turn comes, so its bytes stream straight into the sink. Entries reach the sink in
    // walk order either way.
    const needsData = (e: SyncEntry) => e.kind === 'file' && e.size > 0;
    const tooLong = (e: SyncEntry) => new InvalidParameterError(`filesync: ${JSON.stringify(e.path)} is longer than the ${e.size} bytes its stat said (did it change during the build?)`);
    const tooShort = (e: SyncEntry, got: number) => new InvalidParameterError(`filesync: ${JSON.stringify(e.path)} is ${got} bytes, not the ${e.size} its stat said (did it change during the build?)`);
    const ahead = new Map<number, { e: SyncEntry; chunks: Buffer[]; got: number; complete: boolean }>();
    let aheadBytes = 0;
    let reqPtr = 0;
    const requestAhead = () => {
      while (reqPtr < entries.length && ahead.size < AHEAD_FILES) {
        const { e, id } = entries[reqPtr];
        if (!needsData(e)) { reqPtr++; continue; }
        if (e.size > SMALL_FILE || aheadBytes + e.size > AHEAD_BYTES) break;
        ahead.set(id, { e, chunks: [], got: 0, complete: false });
        aheadBytes += e.size;
        call.send(encode('Packet', { type: PACKET_REQ, ID: id }));
        reqPtr++;
      }
    };
    const receiveAhead = async () => {
      const p = await next();
      if (!p) throw new InvalidParameterError(`filesync: ${req.dirName}: the stream ended before every file came`);
      const b = p.type === PACKET_DATA ? ahead.get(p.ID) : undefined;
      if (!b || b.complete) throw new InvalidParameterError(`filesync: unexpected packet (type ${p.type}, id ${p.ID})`);
      if (p.data.length === 0) {
        if (b.got !== b.e.size) throw tooShort(b.e, b.got);
        b.complete = true;
        return;
      }
      b.got += p.data.length;
      if (b.got > b.e.size) throw tooLong(b.e);
      b.chunks.push(p.data);
    };
    for (let k = 0; k < entries.length; k++) {
      const { e, id } = entries[k];
      if (!needsData(e)) { await sink.entry(e); continue; }
      requestAhead();
      const b = ahead.get(id);
      if (b) {
        while (!b.complete) await receiveAhead();
        ahead.delete(id);
        aheadBytes -= e.size;
        await sink.entry(e, (async function* () { yield* b.chunks; })());
        continue;
      }
      // Its turn came and it was not asked for ahead: nothing else is outstanding (ahead holds entries after k only).
      reqPtr = k + 1;
      call.send(encode('Packet', { type: PACKET_REQ, ID: id }));
      let got = 0;
      let ended = false;
      const data = async function* (): AsyncGenerator<Buffer> {
        for (;;) {
          const p = await next();
          if (!p) throw new InvalidParameterError(`filesync: the stream ended inside ${JSON.stringify(e.path)}`);
          if (p.type !== PACKET_DATA || p.ID !== id) throw new InvalidParameterError(`filesync: unexpected packet (type ${p.type}, id ${p.ID}) while receiving ${JSON.stringify(e.path)}`);
          if (p.data.length === 0) {
            if (got !== e.size) throw tooShort(e, got);
            ended = true;
            return;
          }
          got += p.data.length;
          if (got > e.size) throw tooLong(e);
          yield p.data;
        }
      };
      await sink.entry(e, data());
      if (!ended) throw new InvalidParameterError(`filesync: ${JSON.stringify(e.path)} was not read to its end`);
    }
    traceAt(`diffcopy ${req.dirName} received`);
    call.send(encode('Packet', { type: PACKET_FIN }));
    call.end();
    await sink.received?.();
    // The client answers FIN with FIN and ends the call; reading to the end lets the stream close.
    // Nothing else may come now: every file asked for is complete.
    for (let p = await next(); p; p = await next()) {
      if (p.type !== PACKET_FIN) throw new InvalidParameterError(`filesync: unexpected packet (type ${p.type}, id ${p.ID}) after the last file`);
    }
    await call.done;
    traceAt(`diffcopy ${req.dirName} end`);
  } catch (e) {
    call.cancel();
    throw e;
  } finally {
    req.signal?.removeEventListener('abort', onAbort);
  }
}
