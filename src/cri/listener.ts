/**
 * The CRI socket (`--cri-socket`). berthd listens on it from the start, but
 * the CRI server — gRPC, protobufjs and the CRI schema, ~6 MB of an idle
 * berthd's RSS — is loaded only when the first client connects: most
 * berthds never see a kubelet or crictl. Connections that arrive while it
 * loads wait in the socket (paused, their bytes buffered) and are handed
 * over in order once it is there.
 */
import { chmod, mkdir, rm } from 'node:fs/promises';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Engine } from '../engine/engine.js';
import type { CriServer } from './server.js';

function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

export class CriListener {
  private readonly listener = net.createServer({ pauseOnConnect: true });
  private server?: Promise<CriServer>;
  private path = '';
  private closed = false;
  private streamAddress = '127.0.0.1:0';

  constructor(private readonly engine: Engine, private readonly log: (msg: string) => void = (m) => console.error(`berthd: ${m}`)) {
    this.listener.on('connection', (socket) => {
      void this.load().then((cri) => {
        if (this.closed) socket.destroy();
        else {
          cri.serve(socket);
          // Paused since accept: no byte was read yet. From now on they go straight to gRPC's HTTP/2 session.
          socket.resume();
        }
      }, (e: unknown) => {
        // Not expected (the module is part of berthd); this client fails, the next one tries again.
        this.log(`CRI: cannot load the CRI server: ${(e as Error)?.message ?? e}`);
        this.server = undefined;
        socket.destroy();
      });
    });
    this.listener.on('error', (e) => this.log(`CRI socket: ${e.message}`));
  }

  private load(): Promise<CriServer> {
    this.server ??= import('./server.js').then(async ({ CriServer }) => {
      const cri = new CriServer(this.engine, this.log);
      try {
        await cri.listenStreaming(this.streamAddress);
      } catch (e) {
        await cri.close().catch(() => undefined);
        throw e;
      }
      return cri;
    });
    return this.server;
  }

  /**
   * Listens on the unix socket at `path` (refusing one another daemon answers
   * on); the streaming server will listen on `streamAddress` (host:port).
   */
  async listen(path: string, streamAddress: string): Promise<void> {
    this.streamAddress = streamAddress;
    await mkdir(dirname(path), { recursive: true });
    if (await socketInUse(path)) throw new Error(`another daemon is listening on ${path}`);
    await rm(path, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.listener.once('error', reject);
      this.listener.listen(path, () => { this.listener.off('error', reject); resolve(); });
    });
    await chmod(path, 0o600);
    this.path = path;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listener.close();
    const cri = await this.server?.catch(() => undefined);
    await cri?.close();
    if (this.path) await rm(this.path, { force: true }).catch(() => undefined);
  }
}
