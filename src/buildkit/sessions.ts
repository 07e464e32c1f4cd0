/**
 * The clients' sessions (`POST /session`): each is a connection on which the
 * client serves gRPC (filesync, auth, secrets…) and berthd calls it. A
 * Solve names its session by ID; the session may connect a little after
 * the Solve arrives (buildx dials both at once), so `get` waits for it, as
 * buildkit's session manager does.
 *
 * The session's headers (moby's session.go: `X-Docker-Expose-Session-Uuid`,
 * `-Name`, `-Sharedkey`, `-Grpc-Method`) are checked: an ID of letters,
 * digits, `-` and `_`; method names as gRPC paths. A second connection
 * with the ID of a session still connected is refused before its upgrade,
 * as moby's session manager refuses it (`session <id> already exists`,
 * 400): the first keeps serving its builds. Before, the second replaced
 * the first, so anyone who learnt a session's ID could take its builds'
 * context, secrets and ssh-agents over.
 */
import { InvalidParameterError, NotFoundError } from '../errors.js';
import type { GrpcClientConnection } from './grpc-client.js';

export interface ClientSession {
  id: string;
  name: string;
  /** gRPC methods the client serves (`/moby.filesync.v1.FileSync/DiffCopy`). */
  methods: Set<string>;
  conn: GrpcClientConnection;
}

const SESSION_ID = /^[A-Za-z0-9_-]{1,128}$/;
const METHOD = /^\/[A-Za-z0-9_.]+\/[A-Za-z0-9_]+$/;
const MAX_METHODS = 256;

export function checkSessionHeaders(id: string | undefined, name: string | undefined, methods: string[]): { id: string; name: string; methods: Set<string> } {
  if (!id || !SESSION_ID.test(id)) throw new InvalidParameterError('invalid or missing X-Docker-Expose-Session-Uuid header');
  if (methods.length > MAX_METHODS) throw new InvalidParameterError('too many X-Docker-Expose-Session-Grpc-Method headers');
  for (const m of methods) if (!METHOD.test(m)) throw new InvalidParameterError(`invalid X-Docker-Expose-Session-Grpc-Method ${JSON.stringify(m.slice(0, 200))}`);
  return { id, name: (name ?? '').slice(0, 256), methods: new Set(methods) };
}

export class SessionManager {
  private readonly sessions = new Map<string, ClientSession>();
  private readonly waiters = new Map<string, Set<(s: ClientSession) => void>>();

  /** Throws unless `id` is free: no connected session has it. */
  checkFree(id: string): void {
    const s = this.sessions.get(id);
    if (s && !s.conn.isClosed) throw new InvalidParameterError(`session ${id} already exists`);
  }

  /** Registers a connected session until its connection closes; throws if its ID is taken (checkFree). */
  add(s: ClientSession): void {
    this.checkFree(s.id);
    this.sessions.set(s.id, s);
    void s.conn.closed.then(() => { if (this.sessions.get(s.id) === s) this.sessions.delete(s.id); });
    const w = this.waiters.get(s.id);
    if (w) { this.waiters.delete(s.id); for (const f of w) f(s); }
  }

  /** The session `id`, waiting up to `timeoutMs` for it to connect. */
  get(id: string, timeoutMs: number, signal?: AbortSignal): Promise<ClientSession> {
    const s = this.sessions.get(id);
    if (s && !s.conn.isClosed) return Promise.resolve(s);
    return new Promise((resolve, reject) => {
      let set = this.waiters.get(id);
      if (!set) { set = new Set(); this.waiters.set(id, set); }
      const stop = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        set!.delete(got);
        if (set!.size === 0 && this.waiters.get(id) === set) this.waiters.delete(id);
      };
      const got = (x: ClientSession) => { stop(); resolve(x); };
      const onAbort = () => { stop(); reject(new InvalidParameterError('the build was cancelled')); };
      const timer = setTimeout(() => { stop(); reject(new NotFoundError(`no active session for ${id}: context deadline exceeded`)); }, timeoutMs);
      timer.unref();
      signal?.addEventListener('abort', onAbort);
      set.add(got);
    });
  }
}
