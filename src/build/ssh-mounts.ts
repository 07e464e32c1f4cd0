/**
 * `RUN --mount=type=ssh`: a unix socket for the RUN container that reaches
 * the client's ssh-agent. berthd listens on a socket of its own (in the
 * build's scratch directory), bind-mounts that socket file at the mount's
 * target, and hands every connection the RUN makes to `SshAgents.forward`,
 * which carries its bytes over the client's session (buildkit's
 * session/sshforward: one ForwardAgent stream per connection).
 *
 * Nothing of it is in the image: the socket lives outside the container's
 * filesystem, its mount point is removed before the commit like every
 * mount stub, and the cache key holds the mount's options only. `release`
 * stops listening, cuts the connections still open (a RUN that left an
 * agent client running in the background) and removes the socket file.
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, rm } from 'node:fs/promises';
import net from 'node:net';
import { join } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import type { SshMountPlan } from './run-mounts.js';

/** The client's ssh agents, by id (`--ssh default|<id>=<path>` on buildx). */
export interface SshAgents {
  /** Undefined when the client forwards agent `id`; otherwise why not (for the error of a required mount). */
  check(id: string, signal: AbortSignal): Promise<string | undefined>;
  /** Joins one connection from the RUN to the client's agent `id`, until either side ends; never throws. */
  forward(id: string, conn: net.Socket): void;
}

export interface HeldAgentSocket {
  /** The socket file on the host: the bind mount's source. */
  path: string;
  release(): Promise<void>;
}

/** sun_path holds 108 bytes with its NUL. */
const MAX_SOCKET_PATH = 107;
/** Agent connections one RUN may hold open at once (ssh opens one per key operation). */
const MAX_CONNECTIONS = 64;

/** BuildKit's wording when the client does not forward the agent a required mount names. */
export function noAgentError(id: string): string {
  return `no SSH key ${JSON.stringify(id)} forwarded from the client`;
}

/**
 * Listens on a fresh socket in the first of `dirs` whose path fits in
 * sun_path, owned and moded as the mount says, forwarding to `agents`.
 */
export async function listenAgentSocket(plan: SshMountPlan, agents: SshAgents, dirs: readonly string[]): Promise<HeldAgentSocket> {
  const name = `ssh-agent-${randomBytes(8).toString('hex')}.sock`;
  const path = dirs.map((d) => join(d, name)).find((p) => Buffer.byteLength(p) <= MAX_SOCKET_PATH);
  if (!path) throw new InvalidParameterError(`RUN --mount=type=ssh: no directory for the agent socket has a path short enough for a unix socket (${dirs.join(', ')})`);
  const conns = new Set<net.Socket>();
  // allowHalfOpen: a client that shuts its writing side still reads the agent's answer (as buildkit's Copy does with CloseWrite).
  const server = net.createServer({ allowHalfOpen: true }, (conn) => {
    conns.add(conn);
    conn.once('close', () => conns.delete(conn));
    conn.on('error', () => conn.destroy());
    agents.forward(plan.id, conn);
  });
  server.maxConnections = MAX_CONNECTIONS;
  server.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => { server.off('error', reject); resolve(); });
  });
  let released = false;
  const release = async (): Promise<void> => {
    if (released) return;
    released = true;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const c of conns) c.destroy();
    await closed;
    await rm(path, { force: true });
  };
  try {
    await chown(path, plan.uid, plan.gid);
    await chmod(path, plan.mode & 0o777);
  } catch (e) {
    await release();
    throw e;
  }
  return { path, release };
}
