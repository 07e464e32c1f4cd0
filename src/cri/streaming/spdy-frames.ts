/**
 * SPDY/3.1 frames, the subset kubelet's and crictl's streaming clients
 * (k8s.io/apimachinery's httpstream/spdy over moby/spdystream) speak, and
 * their header blocks.
 *
 * Why berth frames SPDY itself: npm's one SPDY implementation
 * (spdy-transport, last released 2018, unmaintained) is an HTTP-over-SPDY
 * transport: it expects `:method`/`:path` pseudo-headers on every stream
 * and drives its own flow-control windows, while Kubernetes' streams carry
 * arbitrary headers (`streamtype`, `port`, `requestid`) and spdystream
 * ignores WINDOW_UPDATE altogether. What is needed is ~200 lines: seven
 * frame types and the zlib header compression with SPDY's dictionary.
 *
 * Wire format (draft-mbelshe-httpbis-spdy-00, §2.2): a control frame is
 * `1 | version(15) | type(16) | flags(8) | length(24) | data`; a data
 * frame is `0 | stream id(31) | flags(8) | length(24) | data`. A header
 * block is `count(32)`, then `name length(32) name value length(32)
 * value` per header, names lower-case, several values of one name joined
 * by NUL; it travels zlib-compressed, one compression context per
 * direction for the whole connection, primed with SPDY's dictionary.
 */
import { createHash } from 'node:crypto';
import zlib from 'node:zlib';

export const SPDY_VERSION = 3;

export const FrameType = {
  SYN_STREAM: 1, SYN_REPLY: 2, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, HEADERS: 8, WINDOW_UPDATE: 9,
} as const;

export const FLAG_FIN = 0x01;
export const FLAG_UNIDIRECTIONAL = 0x02;

/** RST_STREAM status codes (§2.6.3). */
export const RstStatus = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5, INTERNAL_ERROR: 6, STREAM_IN_USE: 8 } as const;
/** GOAWAY status codes (§2.6.6). */
export const GoAwayStatus = { OK: 0, PROTOCOL_ERROR: 1, INTERNAL_ERROR: 2 } as const;

export const FRAME_HEADER_BYTES = 8;
/** The largest payload a frame's 24-bit length can name. */
export const MAX_FRAME_PAYLOAD = 0xffffff;

export type Frame =
  | { kind: 'data'; streamId: number; flags: number; data: Buffer }
  | { kind: 'control'; type: number; flags: number; data: Buffer };

/** The next whole frame at the start of `buf` and its size, or null when more bytes are needed. */
export function readFrame(buf: Buffer): { frame: Frame; size: number } | null {
  if (buf.length < FRAME_HEADER_BYTES) return null;
  const length = buf.readUIntBE(5, 3);
  const size = FRAME_HEADER_BYTES + length;
  if (buf.length < size) return null;
  const flags = buf[4];
  const data = buf.subarray(FRAME_HEADER_BYTES, size);
  if (buf[0] & 0x80) {
    const version = buf.readUInt16BE(0) & 0x7fff;
    if (version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${version}`);
    return { frame: { kind: 'control', type: buf.readUInt16BE(2), flags, data }, size };
  }
  return { frame: { kind: 'data', streamId: buf.readUInt32BE(0) & 0x7fffffff, flags, data }, size };
}

/** The declared payload length of the frame starting at `buf` (which holds at least a frame header). */
export function declaredLength(buf: Buffer): number {
  return buf.readUIntBE(5, 3);
}

export function encodeControl(type: number, flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head[4] = flags;
  head.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([head, data]);
}

export function encodeData(streamId: number, flags: number, data: Buffer): Buffer {
  const head = Buffer.alloc(FRAME_HEADER_BYTES);
  head.writeUInt32BE(streamId & 0x7fffffff, 0);
  head[4] = flags;
  head.writeUIntBE(data.length, 5, 3);
  return Buffer.concat([head, data]);
}

/** A 31-bit stream id at `offset` of a control frame's data. */
export function streamIdAt(data: Buffer, offset = 0): number {
  if (data.length < offset + 4) throw new SpdyProtocolError('control frame too short');
  return data.readUInt32BE(offset) & 0x7fffffff;
}

export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

export class SpdyProtocolError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SpdyProtocolError';
  }
}

// ------------------------------------------------------------------ header blocks

/**
 * SPDY/3's zlib dictionary (§2.6.10.1): these 65 words (`_` standing for
 * a space), each behind its 32-bit length, then the status lines, dates and types of TAIL, as bytes.
 */
const DICTIONARY_WORDS = (
  'options head post put delete trace accept accept-charset accept-encoding accept-language accept-ranges age allow ' +
  'authorization cache-control connection content-base content-encoding content-language content-length content-location ' +
  'content-md5 content-range content-type date etag expect expires from host if-match if-modified-since if-none-match ' +
  'if-range if-unmodified-since last-modified location max-forwards pragma proxy-authenticate proxy-authorization range ' +
  'referer retry-after server te trailer transfer-encoding upgrade user-agent vary via warning www-authenticate method get ' +
  'status 200_OK version HTTP/1.1 url public set-cookie keep-alive origin'
).split(' ').map((w) => w.replace('_', ' '));
const DICTIONARY_TAIL =
  '100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505' +
  '203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized' +
  '403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable' +
  'Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT' +
  'chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml,text/plain,' +
  'text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8charset=iso-8859-1,utf-,*,enq=0.';

export const HEADER_DICTIONARY: Buffer = Buffer.concat([
  ...DICTIONARY_WORDS.flatMap((w) => [u32(w.length), Buffer.from(w, 'latin1')]),
  Buffer.from(DICTIONARY_TAIL, 'latin1'),
]);

/** For the unit test: the dictionary is exactly the specification's 1423 bytes. */
export function dictionaryDigest(): string {
  return createHash('sha256').update(HEADER_DICTIONARY).digest('hex');
}

/** Headers as SPDY carries them: lower-case names; a name's values joined by NUL. */
export type SpdyHeaders = Map<string, string>;

/** Limits on one decoded header block: a peer's compressed bytes can expand a lot. */
export const MAX_HEADER_BLOCK_BYTES = 64 * 1024;
const MAX_HEADERS = 64;

export function encodeHeaderBlock(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [u32(headers.size)];
  for (const [name, value] of headers) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(value, 'utf8');
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): SpdyHeaders {
  const out: SpdyHeaders = new Map();
  let at = 0;
  const need = (n: number) => {
    if (at + n > block.length) throw new SpdyProtocolError('truncated header block');
  };
  need(4);
  const count = block.readUInt32BE(at);
  at += 4;
  if (count > MAX_HEADERS) throw new SpdyProtocolError(`too many headers (${count})`);
  for (let i = 0; i < count; i++) {
    need(4);
    const nl = block.readUInt32BE(at);
    at += 4;
    need(nl);
    const name = block.subarray(at, at + nl).toString('utf8').toLowerCase();
    at += nl;
    need(4);
    const vl = block.readUInt32BE(at);
    at += 4;
    need(vl);
    const value = block.subarray(at, at + vl).toString('utf8');
    at += vl;
    if (!name) throw new SpdyProtocolError('empty header name');
    out.set(name, value);
  }
  return out;
}

/**
 * The sending side's compression context. Each block goes out as a stored
 * (uncompressed) deflate block: still one valid zlib stream across the
 * connection, which is all a receiver's shared inflater needs, and
 * synchronous, so frames keep their order without a queue. Each ends with
 * an empty stored block, the sync-flush marker a real compressor writes:
 * Go's inflater hands out a stored block's bytes only at the next block
 * boundary, and would otherwise read past the frame (and fail) to find it.
 * The stream header announces no dictionary (a reader then uses none;
 * stored blocks refer to nothing). Server replies carry no headers, so no
 * compression is lost.
 */
export class HeaderDeflater {
  private started = false;

  compress(block: Buffer): Buffer {
    const parts: Buffer[] = [];
    if (!this.started) {
      parts.push(Buffer.from([0x78, 0x01])); // CMF: deflate, 32 KiB window; FLG: no dictionary, check bits
      this.started = true;
    }
    for (let off = 0; off < block.length; off += 0xffff) parts.push(storedBlock(block.subarray(off, off + 0xffff)));
    parts.push(storedBlock(Buffer.alloc(0)));
    return Buffer.concat(parts);
  }
}

/** A non-final stored deflate block, byte-aligned: BFINAL 0 and BTYPE 00 in a zero byte, LEN, NLEN, the bytes. */
function storedBlock(piece: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt16LE(piece.length, 1);
  head.writeUInt16LE(~piece.length & 0xffff, 3);
  return Buffer.concat([head, piece]);
}

/**
 * The receiving side's context: one inflater over every header block of
 * the connection, each block ending in the peer's sync flush. Blocks must
 * be fed in frame order (the caller awaits each).
 */
export class HeaderInflater {
  private readonly z = zlib.createInflate({ dictionary: HEADER_DICTIONARY });
  private failed: Error | null = null;

  constructor() {
    this.z.on('error', (e) => { this.failed = e; });
  }

  inflate(compressed: Buffer): Promise<Buffer> {
    if (this.failed) return Promise.reject(new SpdyProtocolError(`header compression: ${this.failed.message}`));
    return new Promise((resolve, reject) => {
      const out: Buffer[] = [];
      let size = 0;
      const onData = (d: Buffer) => {
        size += d.length;
        if (size <= MAX_HEADER_BLOCK_BYTES) {
          out.push(d);
          return;
        }
        // A bomb (64 KiB inflating to ~66 MB): stop inflating now rather than after the whole block. The connection fails anyway.
        const e = new SpdyProtocolError(`header block over ${MAX_HEADER_BLOCK_BYTES} bytes`);
        this.failed = e;
        this.z.off('data', onData);
        this.z.destroy();
        reject(e);
      };
      const onError = (e: Error) => { this.z.off('data', onData); reject(new SpdyProtocolError(`header compression: ${e.message}`)); };
      this.z.on('data', onData);
      this.z.once('error', onError);
      this.z.write(compressed);
      this.z.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        this.z.off('data', onData);
        this.z.off('error', onError);
        if (this.failed) return;
        if (size > MAX_HEADER_BLOCK_BYTES) reject(new SpdyProtocolError(`header block over ${MAX_HEADER_BLOCK_BYTES} bytes`));
        else resolve(Buffer.concat(out));
      });
    });
  }

  close(): void {
    this.z.destroy();
  }
}
