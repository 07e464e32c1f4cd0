/**
 * Registry credentials from the client's session: buildx serves
 * `moby.filesync.v1.Auth/Credentials` from the user's docker config (what
 * `docker login` stored), and BuildKit asks it per registry host when it
 * pulls or pushes. berth asks it when an `--output type=image,push=true`
 * (or `--push`) pushes the result.
 *
 * The host is the registry's (`127.0.0.1:5000`); Docker Hub is asked as
 * `registry-1.docker.io`, as BuildKit does (buildx maps it to the config's
 * index URL). An empty username with a secret is an identity token.
 */
import { InvalidParameterError } from '../errors.js';
import { decode, encode } from './messages.js';
import type { ClientSession } from './sessions.js';

export const CREDENTIALS_METHOD = '/moby.filesync.v1.Auth/Credentials';

export interface SessionCredentials { username?: string; password?: string; identitytoken?: string; serveraddress: string }

/** The session's credentials for `domain` (a reference's domain), or undefined when it has none. */
export async function sessionCredentials(session: ClientSession, domain: string, signal: AbortSignal): Promise<SessionCredentials | undefined> {
  if (!session.methods.has(CREDENTIALS_METHOD)) return undefined;
  const host = domain === 'docker.io' ? 'registry-1.docker.io' : domain;
  const call = session.conn.call(CREDENTIALS_METHOD);
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort);
  try {
    call.send(encode('CredentialsRequest', { Host: host }));
    call.end();
    let r: { Username: string; Secret: string } | undefined;
    for await (const m of call.messages()) {
      if (r) throw new InvalidParameterError('registry credentials: the client answered twice');
      r = decode<{ Username: string; Secret: string }>('CredentialsResponse', m);
    }
    await call.done;
    if (!r || (r.Username === '' && r.Secret === '')) return undefined;
    if (r.Username === '') return { identitytoken: r.Secret, serveraddress: domain };
    return { username: r.Username, password: r.Secret, serveraddress: domain };
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
