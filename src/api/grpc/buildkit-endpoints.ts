/**
 * What `/grpc` and `/session` (routes.ts) serve once their 101 is written:
 * BuildKit's control API and the sessions it calls back. Loaded by the
 * first such request: protobufjs and BuildKit's messages are ~1.5 MB of an
 * idle berthd's RSS that most daemons never need.
 */
import type { Duplex } from 'node:stream';
import type { Engine } from '../../engine/engine.js';
import { GrpcClientConnection } from '../../buildkit/grpc-client.js';
import { serveGrpc } from '../../buildkit/grpc-server.js';
import { SessionManager, type checkSessionHeaders } from '../../buildkit/sessions.js';
import { BuildkitControl } from './control.js';

export class BuildkitEndpoints {
  private readonly sessions = new SessionManager();
  private readonly control: BuildkitControl;

  /** `version` is berth's (the BuildKit version buildx shows). */
  constructor(engine: Engine, version: string, private readonly log: (msg: string) => void) {
    this.control = new BuildkitControl(engine, this.sessions, version);
  }

  /** `/grpc`: serves gRPC on the upgraded connection until it ends. */
  grpc(socket: Duplex, head: Buffer | undefined): Promise<void> {
    return serveGrpc(socket, head, { lookup: (p) => this.control.lookup(p), log: this.log });
  }

  /** `/session`, before its 101: throws when the session's ID is in use (sessions.ts). */
  checkSession(checked: ReturnType<typeof checkSessionHeaders>): void {
    this.sessions.checkFree(checked.id);
  }

  /** `/session`: the client's gRPC server on the upgraded connection, until it ends. */
  async session(socket: Duplex, head: Buffer | undefined, checked: ReturnType<typeof checkSessionHeaders>): Promise<void> {
    const conn = new GrpcClientConnection(socket, head);
    try {
      this.sessions.add({ ...checked, conn });
    } catch (e) {
      conn.close();
      throw e;
    }
    await conn.closed;
  }
}
