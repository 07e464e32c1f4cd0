/**
 * Secrets for `RUN --mount=type=secret`, fetched from the client's session:
 * buildx serves `moby.buildkit.secrets.v1.Secrets/GetSecret` with what
 * `--secret id=x,src=…|env=…` named. One unary call per secret; the answer
 * is bounded (MAX_SECRET_BYTES, BuildKit's own limit) and never logged.
 */
import { InvalidParameterError } from '../errors.js';
import { GrpcCode } from './grpc-frames.js';
import { GrpcStatusError } from './grpc-server.js';
import { decode, encode } from './messages.js';
import type { ClientSession } from './sessions.js';

export const GET_SECRET_METHOD = '/moby.buildkit.secrets.v1.Secrets/GetSecret';
/** BuildKit refuses secrets larger than this (secrets/secrets.go: MaxSecretSize). */
export const MAX_SECRET_BYTES = 500 * 1024;

/** A secret's bytes, or undefined when the client has no secret of that id. */
export type SecretSource = (id: string, signal: AbortSignal) => Promise<Buffer | undefined>;

export function sessionSecrets(session: ClientSession): SecretSource {
  return async (id, signal) => {
    if (!session.methods.has(GET_SECRET_METHOD)) return undefined;
    const call = session.conn.call(GET_SECRET_METHOD);
    const onAbort = () => call.cancel();
    signal.addEventListener('abort', onAbort);
    try {
      call.send(encode('GetSecretRequest', { ID: id }));
      call.end();
      let data: Buffer | undefined;
      for await (const m of call.messages()) {
        if (data !== undefined) throw new InvalidParameterError(`secret ${id}: the client answered twice`);
        const r = decode<{ data: Buffer }>('GetSecretResponse', m);
        if (r.data.length > MAX_SECRET_BYTES) throw new InvalidParameterError(`secret ${id}: larger than ${MAX_SECRET_BYTES} bytes`);
        data = r.data;
      }
      try {
        await call.done;
      } catch (e) {
        if (e instanceof GrpcStatusError && e.code === GrpcCode.NOT_FOUND) return undefined;
        throw e;
      }
      return data ?? Buffer.alloc(0);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  };
}
