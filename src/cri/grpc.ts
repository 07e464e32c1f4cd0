/**
 * The gRPC side of the CRI: service definitions built from schema.ts, the
 * codec (protobuf ⇄ plain objects), and one wrapper that turns every
 * handler's outcome into a gRPC status. A request that does not decode, or
 * that holds more fields than a message may (protobuf-wire.ts), is
 * INVALID_ARGUMENT (grpc-js alone would say INTERNAL); an error in a handler
 * fails that call only, never berthd.
 */
import grpc from '@grpc/grpc-js';
import { errorKind, errorMessage, type ErrorKind } from '../errors.js';
import { messageType, PACKAGE } from './schema.js';
import { CriError } from './errors.js';
import { checkWire } from '../protobuf-wire.js';

/** What a request decodes to when its bytes are not the message. */
const UNDECODABLE = Symbol('undecodable');

export type Handler = (req: any) => Promise<Record<string, unknown>>;

/** The reply side of a server-streaming RPC, as its handler sees it. */
export interface ReplyStream {
  /** Sends one message; false when the client has not read what was sent before (grpc-js buffers it). */
  send(reply: Record<string, unknown>): boolean;
  /** Messages sent but not yet taken by the client's transport. */
  readonly pending: number;
  /** Ends the call with the error's status. */
  fail(e: unknown): void;
  /** Runs `cb` once when the call ends, whichever side ends it (the client cancelling or going away included). */
  onClose(cb: () => void): void;
}

/** A server-streaming RPC: starts sending on `out`; errors before the first message fail the call. */
export type StreamHandler = (req: any, out: ReplyStream) => void;

function codec(typeName: string) {
  const t = messageType(typeName);
  return {
    // Handlers' replies arrive encoded already (an encoding error is then the call's, not grpc-js's).
    serialize: (obj: Record<string, unknown> | Buffer): Buffer => (Buffer.isBuffer(obj) ? obj : Buffer.from(t.encode(t.fromObject(obj)).finish())),
    deserialize: (buf: Buffer): Record<string, unknown> => {
      try {
        checkWire(t, buf);
        // Every field present (defaults), 64-bit integers as decimal strings, enums by name.
        return t.toObject(t.decode(buf), { longs: String, enums: String, bytes: Buffer, defaults: true, arrays: true, objects: true });
      } catch (e) {
        return { [UNDECODABLE]: errorMessage(e) };
      }
    },
  };
}

const STATUS_OF_KIND: Record<ErrorKind, grpc.status> = {
  NotFound: grpc.status.NOT_FOUND,
  InvalidParameter: grpc.status.INVALID_ARGUMENT,
  Conflict: grpc.status.FAILED_PRECONDITION,
  Unauthorized: grpc.status.UNAUTHENTICATED,
  Forbidden: grpc.status.PERMISSION_DENIED,
  NotImplemented: grpc.status.UNIMPLEMENTED,
  NotModified: grpc.status.FAILED_PRECONDITION,
  PayloadTooLarge: grpc.status.RESOURCE_EXHAUSTED,
  Unavailable: grpc.status.UNAVAILABLE,
  System: grpc.status.INTERNAL,
};

/** The gRPC status for an error: the CRI's own codes first, then berth's error kinds (one mapping). */
export function statusOf(e: unknown): grpc.status {
  if (e instanceof CriError) return e.code;
  const kind = errorKind(e);
  return STATUS_OF_KIND[kind] ?? grpc.status.UNKNOWN;
}

/**
 * A grpc-js service definition and implementation for `service` in
 * runtime.v1, from a table of RPC name → [request type, response type] and
 * the handlers. RPCs without a handler are left out, so grpc-js answers
 * them UNIMPLEMENTED.
 */
export function makeService(
  service: string, methods: Record<string, readonly [string, string]>, handlers: Record<string, Handler>, log: (msg: string) => void,
): { definition: grpc.ServiceDefinition; implementation: grpc.UntypedServiceImplementation } {
  const definition: Record<string, grpc.MethodDefinition<any, any>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [rpc, [reqType, resType]] of Object.entries(methods)) {
    const handler = handlers[rpc];
    if (!handler) continue;
    const req = codec(reqType);
    const res = codec(resType);
    definition[rpc] = {
      path: `/${PACKAGE}.${service}/${rpc}`, requestStream: false, responseStream: false,
      requestSerialize: req.serialize, requestDeserialize: req.deserialize,
      responseSerialize: res.serialize, responseDeserialize: res.deserialize,
      originalName: rpc,
    };
    implementation[rpc] = (call: grpc.ServerUnaryCall<any, any>, callback: grpc.sendUnaryData<any>) => {
      const request = call.request as Record<string | symbol, unknown>;
      if (request[UNDECODABLE] !== undefined) {
        callback({ code: grpc.status.INVALID_ARGUMENT, details: `malformed ${reqType}: ${String(request[UNDECODABLE])}` });
        return;
      }
      let done = false;
      Promise.resolve().then(() => handler(request)).then(
        (reply) => { const bytes = res.serialize(reply); done = true; callback(null, bytes); },
        (e) => {
          if (done) return;
          const code = statusOf(e);
          if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN) log(`cri: ${rpc}: ${errorMessage(e)}`);
          callback({ code, details: errorMessage(e) });
        },
      ).catch((e) => log(`cri: ${rpc}: answering failed: ${errorMessage(e)}`));
    };
  }
  return { definition, implementation };
}

/**
 * Adds server-streaming RPCs to a service made by makeService: `methods` is
 * RPC name → [request type, message type], `handlers` their handlers.
 */
export function addStreams(
  service: string, into: ReturnType<typeof makeService>, methods: Record<string, readonly [string, string]>,
  handlers: Record<string, StreamHandler>, log: (msg: string) => void,
): void {
  for (const [rpc, [reqType, resType]] of Object.entries(methods)) {
    const handler = handlers[rpc];
    if (!handler) continue;
    const req = codec(reqType);
    const res = codec(resType);
    (into.definition as Record<string, grpc.MethodDefinition<any, any>>)[rpc] = {
      path: `/${PACKAGE}.${service}/${rpc}`, requestStream: false, responseStream: true,
      requestSerialize: req.serialize, requestDeserialize: req.deserialize,
      responseSerialize: res.serialize, responseDeserialize: res.deserialize,
      originalName: rpc,
    };
    into.implementation[rpc] = (call: grpc.ServerWritableStream<any, any>) => {
      const request = call.request as Record<string | symbol, unknown>;
      let ended = false;
      const fail = (e: unknown) => {
        if (ended) return;
        ended = true;
        const code = statusOf(e);
        if (code === grpc.status.INTERNAL || code === grpc.status.UNKNOWN) log(`cri: ${rpc}: ${errorMessage(e)}`);
        call.emit('error', { code, details: errorMessage(e) });
      };
      if (request[UNDECODABLE] !== undefined) {
        fail(new CriError(grpc.status.INVALID_ARGUMENT, `malformed ${reqType}: ${String(request[UNDECODABLE])}`));
        return;
      }
      call.once('close', () => { ended = true; });
      const out: ReplyStream = {
        send(reply) {
          if (ended || call.destroyed) return false;
          // Encoded here so that a message that does not encode is this call's error, not grpc-js's.
          return call.write(res.serialize(reply));
        },
        get pending() { return call.writableLength; },
        fail,
        onClose(cb) { if (call.closed || call.destroyed) cb(); else call.once('close', cb); },
      };
      try {
        handler(request, out);
      } catch (e) {
        fail(e);
      }
    };
  }
}
