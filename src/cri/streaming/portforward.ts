/**
 * PortForward over SPDY (`portforward.k8s.io`), as client-go's
 * portforward client (crictl port-forward, kubectl through kubelet) uses
 * it: for each connection it accepts locally, the client opens a pair of
 * streams carrying the same `port` and `requestID` headers — `error`
 * (which it half-closes at once) and `data`. Once both are there the
 * server connects to the port inside the pod's network namespace and
 * copies bytes between it and the data stream; a failure is written as
 * text on the error stream. Both streams end when the connection does.
 */
import type { ChildProcess } from 'node:child_process';
import type { Duplex, Writable } from 'node:stream';
import type { SpdyServerConnection, SpdyStream } from './spdy-connection.js';
import { dialInNetns } from './netns-dial.js';

export const PORT_FORWARD_PROTOCOL = 'portforward.k8s.io';

/** A pair whose second stream does not come in this long is dropped (kubelet's streamCreationTimeout). */
const PAIR_TIMEOUT_MS = 30_000;
/** At most this many bytes of a helper's error message reach the client. */
const MAX_ERROR_TEXT = 4096;

export interface PortForwardTarget {
  /** The pod's network namespace ('' for a host-network pod: berthd's own). */
  netnsPath(): string;
  /** The ports the request allowed (empty: any). */
  ports: number[];
  podId: string;
}

interface Pair { error?: SpdyStream; data?: SpdyStream; timer: NodeJS.Timeout }

function endStream(s: Writable | undefined): void {
  if (s && !s.destroyed && !s.writableEnded) s.end();
}

/** Ends a pair with `message` on its error stream. */
function failPair(error: Writable, data: Writable, message: string): void {
  if (!error.destroyed && !error.writableEnded) error.end(Buffer.from(message));
  endStream(data);
}

/**
 * Connects `data` to `port` on the loopback of the target's network
 * namespace through a helper (netns-dial.ts), kept in `helpers` while it
 * runs: the client's bytes go to the port, the port's come back on
 * `data`. A failure is written as text on `error`; both end when the
 * connection does. The client destroying `data` ends the connection.
 * Resolves when the helper is gone. Shared by SPDY (here) and WebSocket
 * (websocket-portforward.ts).
 */
export function forwardPort(
  target: PortForwardTarget, port: number, data: Duplex, error: Writable, helpers: Set<ChildProcess>, log: (msg: string) => void,
): Promise<void> {
  let helper: ChildProcess;
  try {
    helper = dialInNetns(target.netnsPath(), port);
  } catch (e) {
    failPair(error, data, `error forwarding port ${port} to pod ${target.podId}: ${(e as Error).message}`);
    return Promise.resolve();
  }
  helpers.add(helper);
  let stderr = '';
  helper.stderr!.on('data', (c: Buffer) => { if (stderr.length < MAX_ERROR_TEXT) stderr += c.toString('utf8'); });
  helper.stdin!.on('error', () => undefined);
  helper.stdout!.on('error', () => undefined);
  helper.once('error', (e) => log(`cri: port forward helper: ${e.message}`));
  data.pipe(helper.stdin!);
  helper.stdout!.pipe(data);
  // The client resetting its data stream ends the connection to the port.
  data.once('close', () => { if (helper.exitCode === null) helper.kill('SIGKILL'); });
  return new Promise((resolve) => {
    helper.once('close', (code) => {
      helpers.delete(helper);
      if (code !== 0) failPair(error, data, `error forwarding port ${port} to pod ${target.podId}: ${stderr.trim() || `helper ended with status ${code}`}`);
      else endStream(error);
      resolve();
    });
  });
}

export function servePortForward(conn: SpdyServerConnection, target: PortForwardTarget, log: (msg: string) => void): void {
  const pairs = new Map<string, Pair>();
  const helpers = new Set<ChildProcess>();
  conn.once('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
    // The client is gone: no helper outlives its connection.
    for (const h of helpers) h.kill('SIGKILL');
  });

  conn.on('stream', (s: SpdyStream) => {
    const type = s.header('streamType');
    if (type !== 'error' && type !== 'data') { s.destroy(); return; }
    // Clients older than requestID pair streams by id: the error stream is the data stream's id minus 2.
    const requestId = s.header('requestID') || String(type === 'data' ? s.id : s.id + 2);
    let pair = pairs.get(requestId);
    if (!pair) {
      const timer = setTimeout(() => {
        const p = pairs.get(requestId);
        pairs.delete(requestId);
        p?.error?.destroy();
        p?.data?.destroy();
      }, PAIR_TIMEOUT_MS);
      timer.unref();
      pair = { timer };
      pairs.set(requestId, pair);
    }
    if (pair[type]) { s.destroy(); return; }
    pair[type] = s;
    s.on('error', () => undefined);
    if (type === 'error') s.resume(); // the client sends nothing on it, but its FIN must be read
    if (!pair.error || !pair.data) return;
    clearTimeout(pair.timer);
    pairs.delete(requestId);
    forward(pair.error, pair.data);
  });

  function forward(error: SpdyStream, data: SpdyStream): void {
    const portText = data.header('port');
    const port = /^\d{1,5}$/.test(portText) ? Number(portText) : 0;
    if (port < 1 || port > 65535) { failPair(error, data, `invalid port "${portText.slice(0, 20)}"`); return; }
    if (target.ports.length && !target.ports.includes(port)) { failPair(error, data, `port ${port} was not asked for in the PortForward request of pod ${target.podId}`); return; }
    void forwardPort(target, port, data, error, helpers, log);
  }
}
