/**
 * A small CRI client for tests: unary calls to a berthd's CRI socket with
 * berth's own schema (src/cri/schema.ts), server-streaming calls
 * (GetContainerEvents), and raw calls that send bytes as they are
 * (malformed requests). Real clients (crictl, critest) are driven
 * as processes by the tests themselves.
 */
import grpc from '@grpc/grpc-js';
import { messageType, IMAGE_METHODS, RUNTIME_METHODS, RUNTIME_STREAM_METHODS } from '../../../src/cri/schema.js';

export interface CallError { code: grpc.status; details: string }

export class CriClient {
  private readonly client: grpc.Client;

  constructor(socket: string) {
    this.client = new grpc.Client(`unix://${socket}`, grpc.credentials.createInsecure());
  }

  private types(method: string): { service: string; req: string; res: string } {
    const r = (RUNTIME_METHODS as Record<string, readonly [string, string]>)[method];
    if (r) return { service: 'RuntimeService', req: r[0], res: r[1] };
    const i = (IMAGE_METHODS as Record<string, readonly [string, string]>)[method];
    if (i) return { service: 'ImageService', req: i[0], res: i[1] };
    throw new Error(`unknown CRI method ${method}`);
  }

  /** Calls `method` with a plain object; resolves with the decoded reply (int64 as strings, enums by name). */
  call(method: string, req: Record<string, unknown> = {}, service?: string): Promise<any> {
    const t = this.types(method);
    const reqT = messageType(t.req);
    const resT = messageType(t.res);
    return this.raw(`/runtime.v1.${service ?? t.service}/${method}`, Buffer.from(reqT.encode(reqT.fromObject(req)).finish()))
      .then((b) => resT.toObject(resT.decode(b), { longs: String, enums: String, defaults: true, arrays: true, objects: true, bytes: Buffer }));
  }

  /** Sends `bytes` as the request of RPC `path`; resolves with the reply's bytes. */
  raw(path: string, bytes: Buffer): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      this.client.makeUnaryRequest(path, (b: Buffer) => b, (b: Buffer) => b, bytes, { deadline: Date.now() + 120_000 }, (e, r) => (e ? reject(e) : resolve(r!)));
    });
  }

  /**
   * Opens server-streaming RPC `method` of RuntimeService (or sends `raw`
   * bytes as its request); each decoded message goes to `onMessage`, the
   * call's end (its status) to `onEnd`. `cancel()` ends it from this side.
   */
  stream(method: string, req: Record<string, unknown> | { raw: Buffer }, onMessage: (m: any) => void, onEnd: (status: grpc.StatusObject) => void): { cancel(): void } {
    const types = (RUNTIME_STREAM_METHODS as Record<string, readonly [string, string]>)[method];
    if (!types) throw new Error(`unknown CRI streaming method ${method}`);
    const reqT = messageType(types[0]);
    const resT = messageType(types[1]);
    const bytes = 'raw' in req && Buffer.isBuffer(req.raw) ? req.raw : Buffer.from(reqT.encode(reqT.fromObject(req)).finish());
    const call = this.client.makeServerStreamRequest(`/runtime.v1.RuntimeService/${method}`, (b: Buffer) => b, (b: Buffer) => b, bytes);
    call.on('data', (b: Buffer) => onMessage(resT.toObject(resT.decode(b), { longs: String, enums: String, defaults: true, arrays: true, objects: true })));
    call.on('error', () => undefined); // the status says it
    call.on('status', onEnd);
    return { cancel: () => call.cancel() };
  }

  /** The gRPC status of a call that must fail. */
  async fails(method: string, req: Record<string, unknown> = {}): Promise<CallError> {
    try {
      await this.call(method, req);
    } catch (e) {
      const err = e as grpc.ServiceError;
      return { code: err.code, details: err.details };
    }
    throw new Error(`${method} succeeded where it should fail`);
  }

  close(): void {
    this.client.close();
  }
}
