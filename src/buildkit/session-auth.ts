/**
 * Registry credentials from the client's session: buildx serves
 * `moby.filesync.v1.Auth/Credentials` from its docker config (what `docker
 * login` stored), and BuildKit asks it for a registry's host before it
 * talks to that registry (session/auth). berth asks it for the build
 * cache's `type=registry` exports and imports, so a registry that needs a
 * login works as `docker push` does. An empty username with a secret is an
 * identity token, as in BuildKit.
 */
import { GrpcCode } from './grpc-frames.js';
import { GrpcStatusError } from './grpc-server.js';
import { decode, encode } from './messages.js';
import type { ClientSession } from './sessions.js';

export const CREDENTIALS_METHOD = '/moby.filesync.v1.Auth/Credentials';

export interface SessionCredentials { username?: string; password?: string; identitytoken?: string }

/** The host name BuildKit asks for: Docker Hub's registry host for docker.io. */
function authHost(domain: string): string {
  return domain === 'docker.io' ? 'registry-1.docker.io' : domain;
}

/** The client's credentials for `domain`, or undefined when it has none (or serves no Auth). */
export async function sessionCredentials(session: ClientSession, domain: string, signal: AbortSignal): Promise<SessionCredentials | undefined> {
  if (!session.methods.has(CREDENTIALS_METHOD)) return undefined;
  const call = session.conn.call(CREDENTIALS_METHOD);
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort);
  try {
    call.send(encode('CredentialsRequest', { Host: authHost(domain) }));
    call.end();
    let r: { Username: string; Secret: string } | undefined;
    for await (const m of call.messages()) r = decode<{ Username: string; Secret: string }>('CredentialsResponse', m);
    try {
      await call.done;
    } catch (e) {
      if (e instanceof GrpcStatusError && e.code === GrpcCode.NOT_FOUND) return undefined;
      throw e;
    }
    if (!r || (!r.Username && !r.Secret)) return undefined;
    return r.Username ? { username: r.Username, password: r.Secret } : { identitytoken: r.Secret };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
