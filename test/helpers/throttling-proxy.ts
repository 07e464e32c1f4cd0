/**
 * A slow registry: an HTTP proxy in front of a real one that passes every
 * request through but trickles large blob bodies out at a fixed rate, so a
 * test can kill a pull (its client, or berthd itself) while a layer is
 * reliably half downloaded. It records each throttled transfer — bytes sent,
 * whether it finished, whether the downloader hung up first — so the test
 * can wait for "half way" and can tell an aborted download from a finished
 * one. For races between downloads it can also corrupt a blob and hold a
 * blob's request until the test lets it through; for resumed downloads it
 * breaks a blob's connection off after some bytes and records the Range
 * each request asked for.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** Relays an upstream body, the first byte flipped when `corrupt` (a blob that no longer matches its digest). */
export function relayBody(from: http.IncomingMessage, to: http.ServerResponse, corrupt: boolean): void {
  let first = corrupt;
  from.on('data', (c: Buffer) => {
    if (first && c.length) {
      c = Buffer.from(c);
      c[0] ^= 0xff;
      first = false;
    }
    to.write(c);
  });
  from.on('end', () => to.end());
}

export interface Transfer {
  /** Request path (`/v2/<name>/blobs/<digest>`). */
  path: string;
  /** The blob's Content-Length. */
  total: number;
  sent: number;
  /** All bytes went out. */
  finished: boolean;
  /** The downloader closed the connection before the last byte. */
  abandoned: boolean;
}

export interface Hold {
  /** A request for the blob came in and is being held. */
  arrived: Promise<void>;
  /** A held request's downloader hung up before it got an answer. */
  abandoned: Promise<void>;
  release(): void;
}

export interface ThrottlingProxyOptions {
  /** Bytes per second for throttled bodies. */
  bytesPerSecond: number;
  /** Only blob bodies larger than this are throttled (default 1 MiB). */
  throttleAbove?: number;
}

export interface ThrottlingProxy {
  url: string;
  /** `127.0.0.1:<port>`, to use as a registry host in image names. */
  host: string;
  /** Throttled blob transfers, in the order they started. */
  transfers: Transfer[];
  /** Blob digests whose bodies go out with their first byte flipped. */
  corrupt: Set<string>;
  /** Holds requests for the blob `digest` until `release()`. */
  hold(digest: string): Hold;
  /** Changes the rate for transfers from now on; 0 lifts the throttle. */
  setRate(bytesPerSecond: number): void;
  /** The next `times` GETs of blob `digest` break off (the connection is destroyed) after `bytes` bytes of body. */
  cut(digest: string, bytes: number, times?: number): void;
  /** The Range header of every blob GET, by digest, in order ('' for none). */
  ranges: Map<string, string[]>;
  close(): Promise<void>;
}

const TICK_MS = 50;

export async function startThrottlingProxy(upstream: string, o: ThrottlingProxyOptions): Promise<ThrottlingProxy> {
  const up = new URL(upstream);
  const threshold = o.throttleAbove ?? 1 << 20;
  let rate = o.bytesPerSecond;
  const transfers: Transfer[] = [];
  const corrupt = new Set<string>();
  const held = new Map<string, { gate: Promise<void>; arrive(): void; hangUp(): void }>();
  const cuts = new Map<string, { bytes: number; times: number }>();
  const ranges = new Map<string, string[]>();

  /** Relays `bytes` bytes of the body, then breaks the connection as a network failure would. */
  function relayThenCut(pres: http.IncomingMessage, res: http.ServerResponse, bytes: number): void {
    let left = bytes;
    pres.on('data', (c: Buffer) => {
      if (left <= 0) return;
      const part = c.subarray(0, left);
      left -= part.length;
      res.write(part, () => { if (left <= 0) { res.socket?.destroy(); pres.destroy(); } });
    });
    pres.on('end', () => res.end());
  }

  /** Sends `body` in slices of rate/20 every 50 ms, stopping when the downloader hangs up. */
  async function trickle(pres: http.IncomingMessage, res: http.ServerResponse, t: Transfer): Promise<void> {
    for await (const chunk of pres as AsyncIterable<Buffer>) {
      for (let i = 0; i < chunk.length;) {
        if (res.destroyed) {
          pres.destroy();
          return;
        }
        const slice = rate > 0 ? Math.max(1, Math.floor((rate * TICK_MS) / 1000)) : chunk.length;
        const part = chunk.subarray(i, i + slice);
        i += part.length;
        t.sent += part.length;
        if (!res.write(part)) await new Promise((resolve) => { res.once('drain', resolve); res.once('close', resolve); });
        if (rate > 0) await sleep(TICK_MS);
      }
    }
    t.finished = true;
    res.end();
  }

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, digest: string | undefined) => {
    if (res.destroyed) return; // the downloader gave up while the request was held
    const headers = { ...req.headers, host: up.host };
    const preq = http.request({ host: up.hostname, port: up.port, method: req.method, path: req.url, headers }, (pres) => {
      const out = { ...pres.headers };
      // Absolute Locations from the upstream point back through the proxy.
      if (typeof out.location === 'string' && out.location.startsWith(up.origin)) out.location = out.location.slice(up.origin.length);
      res.writeHead(pres.statusCode ?? 502, out);
      const total = Number(pres.headers['content-length'] ?? 0);
      const blob = req.method === 'GET' && pres.statusCode === 200 && digest !== undefined;
      const cut = req.method === 'GET' && digest !== undefined && (pres.statusCode === 200 || pres.statusCode === 206) ? cuts.get(digest) : undefined;
      if (cut && cut.times > 0) {
        if (--cut.times === 0) cuts.delete(digest!);
        relayThenCut(pres, res, cut.bytes);
        return;
      }
      if (blob && corrupt.has(digest)) {
        relayBody(pres, res, true);
        return;
      }
      if (!blob || total <= threshold) {
        pres.pipe(res);
        return;
      }
      const t: Transfer = { path: req.url!, total, sent: 0, finished: false, abandoned: false };
      transfers.push(t);
      res.once('close', () => { if (!t.finished) t.abandoned = true; });
      trickle(pres, res, t).catch(() => res.destroy());
    });
    preq.on('error', () => res.destroy());
    // A downloader that hangs up must not leave the upstream request open.
    res.on('close', () => { if (!res.writableFinished) preq.destroy(); });
    req.pipe(preq);
  };

  const server = http.createServer((req, res) => {
    const digest = /\/blobs\/(sha256:[0-9a-f]{64})$/.exec((req.url ?? '').split('?')[0])?.[1];
    if (digest && req.method === 'GET') ranges.set(digest, [...(ranges.get(digest) ?? []), String(req.headers.range ?? '')]);
    const h = digest ? held.get(digest) : undefined;
    if (!h) return forward(req, res, digest);
    h.arrive();
    res.once('close', () => { if (!res.headersSent) h.hangUp(); });
    h.gate.then(() => forward(req, res, digest), () => res.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`, host: `127.0.0.1:${port}`, transfers, corrupt, ranges,
    setRate(bytesPerSecond) { rate = bytesPerSecond; },
    cut(digest, bytes, times = 1) { cuts.set(digest, { bytes, times }); },
    hold(digest) {
      let release!: () => void;
      let arrive!: () => void;
      let hangUp!: () => void;
      const gate = new Promise<void>((resolve) => { release = resolve; });
      const arrived = new Promise<void>((resolve) => { arrive = resolve; });
      const abandoned = new Promise<void>((resolve) => { hangUp = resolve; });
      held.set(digest, { gate, arrive, hangUp });
      return {
        arrived, abandoned,
        release() {
          held.delete(digest);
          release();
        },
      };
    },
    async close() {
      if (!server.listening) return;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
