/**
 * A content store the client serves on its session: containerd's content
 * service (`/containerd.services.content.v1.Content/*`, buildkit's
 * session/content attachable), one store per ID in the
 * `buildkit-attachable-store-id` header. buildkit's client opens one for
 * `--cache-to type=local,dest=DIR` and `--cache-from type=local,src=DIR`
 * (ID `local:DIR`): an OCI layout whose blobs berthd writes and reads here,
 * and whose index.json the client itself updates after the Solve.
 *
 * Everything the client answers is checked: a read must deliver exactly
 * the descriptor's bytes, in order, with the descriptor's digest.
 */
import { createHash, randomBytes } from 'node:crypto';
import { InvalidParameterError } from '../errors.js';
import { GrpcCode } from './grpc-frames.js';
import type { GrpcClientConnection } from './grpc-client.js';
import { GrpcStatusError } from './grpc-server.js';
import { decode, encode } from './messages.js';

const SERVICE = '/containerd.services.content.v1.Content';
export const CONTENT_METHODS = { info: `${SERVICE}/Info`, read: `${SERVICE}/Read`, write: `${SERVICE}/Write` };
const CHUNK = 1 << 20;

/** containerd's WriteAction. */
const enum WriteAction { STAT = 0, WRITE = 1, COMMIT = 2 }

export interface BlobDescriptor { digest: string; size: number }

export class SessionContentStore {
  constructor(private readonly conn: GrpcClientConnection, readonly storeId: string) {}

  private headers(): Record<string, string> {
    return { 'buildkit-attachable-store-id': this.storeId };
  }

  /** The blob's size, or undefined when the store does not have it. */
  async info(digest: string, signal?: AbortSignal): Promise<number | undefined> {
    const call = this.conn.call(CONTENT_METHODS.info, this.headers());
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort);
    try {
      call.send(encode('ContentInfoRequest', { digest }));
      call.end();
      let size: number | undefined;
      for await (const m of call.messages()) size = decode<{ info: { size: number } | null }>('ContentInfoResponse', m).info?.size;
      await call.done;
      return size;
    } catch (e) {
      if (e instanceof GrpcStatusError && e.code === GrpcCode.NOT_FOUND) return undefined;
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * The blob's bytes as they arrive, checked against the descriptor: no byte
   * past its size, none missing, and its digest at the end (a mismatch is
   * thrown before the last chunk is yielded).
   */
  async *read(desc: BlobDescriptor, signal?: AbortSignal): AsyncGenerator<Buffer> {
    const call = this.conn.call(CONTENT_METHODS.read, this.headers());
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort);
    const hash = createHash('sha256');
    let got = 0;
    let held: Buffer | undefined;
    try {
      call.send(encode('ReadContentRequest', { digest: desc.digest, offset: 0, size: 0 }));
      call.end();
      for await (const m of call.messages()) {
        const r = decode<{ offset: number; data: Buffer }>('ReadContentResponse', m);
        if (r.offset !== got) throw new InvalidParameterError(`reading ${desc.digest} from the client: data at offset ${r.offset}, expected ${got}`);
        got += r.data.length;
        if (got > desc.size) throw new InvalidParameterError(`reading ${desc.digest} from the client: more than its ${desc.size} bytes`);
        hash.update(r.data);
        if (held) yield held;
        held = r.data;
      }
      await call.done;
      if (got !== desc.size) throw new InvalidParameterError(`reading ${desc.digest} from the client: ${got} of its ${desc.size} bytes`);
      const digest = `sha256:${hash.digest('hex')}`;
      if (digest !== desc.digest) throw new InvalidParameterError(`reading ${desc.digest} from the client: its content has digest ${digest}`);
      if (held) yield held;
    } catch (e) {
      call.cancel();
      if (e instanceof GrpcStatusError && e.code === GrpcCode.NOT_FOUND) throw new InvalidParameterError(`${desc.digest}: not found in ${this.storeId}`);
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /** A whole small blob (a manifest, a config), at most `max` bytes. */
  async readAll(desc: BlobDescriptor, max: number, signal?: AbortSignal): Promise<Buffer> {
    if (desc.size > max) throw new InvalidParameterError(`blob ${desc.digest} is too large (${desc.size} > ${max})`);
    const parts: Buffer[] = [];
    for await (const c of this.read(desc, signal)) parts.push(c);
    return Buffer.concat(parts);
  }

  /**
   * Writes a blob (skipped when the store has it): WRITE messages with the
   * data at increasing offsets, then COMMIT with the expected size and
   * digest, which the store checks. Each message gets a response; they are
   * read as they come so that neither side's window fills.
   */
  async write(desc: BlobDescriptor, data: AsyncIterable<Buffer>, signal?: AbortSignal): Promise<void> {
    if ((await this.info(desc.digest, signal)) === desc.size) return;
    const call = this.conn.call(CONTENT_METHODS.write, this.headers());
    const onAbort = () => call.cancel();
    signal?.addEventListener('abort', onAbort);
    const responses = (async () => { for await (const m of call.messages()) decode('WriteContentResponse', m); })();
    responses.catch(() => undefined);
    try {
      const ref = `berth-${desc.digest.slice(7, 19)}-${randomBytes(6).toString('hex')}`;
      let offset = 0;
      for await (const chunk of data) {
        for (let i = 0; i < chunk.length; i += CHUNK) {
          const part = chunk.subarray(i, i + CHUNK);
          await call.write(encode('WriteContentRequest', { action: WriteAction.WRITE, ref, offset, data: part, ...(offset === 0 ? { total: desc.size } : {}) }));
          offset += part.length;
        }
      }
      if (offset === 0) await call.write(encode('WriteContentRequest', { action: WriteAction.STAT, ref, total: desc.size }));
      await call.write(encode('WriteContentRequest', { action: WriteAction.COMMIT, ref, offset, total: desc.size, expected: desc.digest }));
      call.end();
      await responses;
      await call.done;
    } catch (e) {
      call.cancel();
      // Someone wrote the same blob meanwhile: the store has it.
      if (e instanceof GrpcStatusError && e.code === GrpcCode.ALREADY_EXISTS) return;
      throw e;
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }
}
