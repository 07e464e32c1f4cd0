/**
 * `POST /containers/{id}/attach` and `GET /containers/{id}/attach/ws`, as
 * dockerd's ContainerAttach has them: `logs=1` sends what the log holds,
 * then `stream=1` the live output until the container's output ends (an
 * attach made before start waits for the start); with neither the answer is
 * an empty stream. The live output is subscribed to before the log replay
 * (dockerd's AttachStreams comes first too): what the container writes
 * meanwhile is held and follows the replay, and the replay stops where the
 * live output began: every line once.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import { checkLogsReadable } from '../engine/log-config.js';
import type { Engine } from '../engine/engine.js';
import type { AttachHandle } from '../engine/attach-handle.js';
import { boolParam, COMMON_HEADERS, versionAtLeast, type RequestContext } from './context.js';
import { frame } from './stream.js';
import { forwardOutput } from './attach-output.js';
import { attachDetachKeys, markUpgraded, pipeHijack, readHijackBody, sendUpgrade } from './hijack.js';
import { websocketAccept, websocketUpgradeResponse, WebSocketDuplex } from './websocket.js';
import { readLogs } from '../runtime/logs.js';
import { logWriterSettled } from '../runtime/log-settle.js';

/**
 * docker-py reads the 101 through a buffered reader and then the raw
 * socket: bytes that arrive with the headers are lost to it. The log is
 * ready at once (a live stream never is), so it waits a moment to come after
 * the headers.
 */
const HIJACKED_LOGS_DELAY_MS = 100;

/** A container as the engine's lookup gives it (api/ never imports store/). */
type Container = ReturnType<Engine['containers']['lookup']>;

interface Streams { stdin: boolean; stdout: boolean; stderr: boolean }

/** An attach whose checks passed: its live handle (with stream=1), the log replay, and what came meanwhile. */
interface Prepared {
  c: Container;
  tty: boolean;
  detachKeys?: number[];
  h?: AttachHandle;
  /** Writes what the log holds (logs=1), each entry framed by `encode`. */
  replay(write: (stream: 1 | 2, line: Buffer) => void): Promise<void>;
  /** Stops holding the live output; returns what was held. The caller listens before its next await. */
  release(): Array<[1 | 2, Buffer]>;
}

async function prepare(engine: Engine, ctx: RequestContext, streams: Streams): Promise<Prepared> {
  const q = ctx.query;
  const c = engine.containers.lookup(ctx.params.id);
  const stream = boolParam(q, 'stream');
  const logs = boolParam(q, 'logs');
  if (logs) checkLogsReadable(c.HostConfig.LogConfig);
  const detachKeys = attachDetachKeys(q.get('detachKeys'));
  const logPath = join(engine.paths.containerDir(c.Id), 'ctr.log');
  const settle = async () => {
    if (engine.containers.store.get(c.Id)?.State.Running) await logWriterSettled(join(engine.paths.bundleDir(c.Id), 'conmon.pid'));
  };
  /** Where the replay stops: the log's end when the live output began (undefined: all of it). */
  let endOffset: number | undefined;
  const replay = async (write: (stream: 1 | 2, line: Buffer) => void) => {
    if (!logs || (!streams.stdout && !streams.stderr)) return;
    if (endOffset === undefined) await settle();
    try {
      for await (const e of readLogs(logPath, { follow: false, stdout: streams.stdout, stderr: streams.stderr, endOffset })) {
        write(e.stream === 'stdout' ? 1 : 2, e.line);
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    }
  };
  const base = { c, tty: !!c.Config.Tty, detachKeys, replay };
  if (!stream) {
    engine.containers.attachWithoutStream(ctx.params.id);
    return { ...base, release: () => [] };
  }
  const h = await engine.containers.attach(ctx.params.id, streams);
  if (!logs) return { ...base, h, release: () => [] };
  const held: Array<[1 | 2, Buffer]> = [];
  const hold = (n: 1 | 2, chunk: Buffer) => { held.push([n, chunk]); };
  h.on('output', hold);
  // The cut between replay and live: conmon sends a client what it reads after it accepted the
  // client, and logs what it read before; once it has caught up (accepted us among the rest), the
  // log's size is that cut, so no line is shown twice or lost. A container not yet started
  // writes nothing before its start connects the handle: its log's size now is the cut.
  try {
    await settle();
    endOffset = await stat(logPath).then((st) => st.size, () => 0);
  } catch (e) {
    h.detach();
    throw e;
  }
  return { ...base, h, release: () => { h.off('output', hold); return held; } };
}

/** Runs the log replay; a failure lets go of the live handle. */
async function replayOrDetach(p: Prepared, write: (stream: 1 | 2, line: Buffer) => void): Promise<void> {
  try {
    await p.replay(write);
  } catch (e) {
    p.h?.detach();
    throw e;
  }
}

/**
 * `POST /containers/{id}/attach`. Hijacked (the Docker CLI, docker-py) it
 * carries stdin too; as a plain request it streams output only. A body sent
 * with the request (dockerode sends its options as JSON) is read as the body
 * it is, never as stdin.
 */
export async function attach(engine: Engine, ctx: RequestContext): Promise<void> {
  const q = ctx.query;
  const streams = { stdin: boolParam(q, 'stdin'), stdout: boolParam(q, 'stdout'), stderr: boolParam(q, 'stderr') };
  const logs = boolParam(q, 'logs');
  if (ctx.socket) {
    const socket = ctx.socket;
    const { rest: early } = await readHijackBody(ctx);
    const p = await prepare(engine, ctx, streams);
    const encode = (n: 1 | 2, b: Buffer) => (p.tty ? b : frame(n, b));
    sendUpgrade(ctx, p.tty);
    if (logs) await new Promise((r) => setTimeout(r, HIJACKED_LOGS_DELAY_MS));
    await replayOrDetach(p, (n, b) => socket.write(encode(n, b)));
    if (!p.h) { socket.end(); return; }
    for (const [n, chunk] of p.release()) socket.write(encode(n, chunk));
    pipeHijack(socket, p.h, { raw: p.tty, pty: p.tty, closeStdin: !!p.c.Config.StdinOnce, early, detachKeys: p.detachKeys });
    return;
  }
  const p = await prepare(engine, ctx, streams);
  const encode = (n: 1 | 2, b: Buffer) => (p.tty ? b : frame(n, b));
  const res = ctx.res!;
  res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': p.tty ? 'application/vnd.docker.raw-stream' : 'application/vnd.docker.multiplexed-stream' });
  res.flushHeaders();
  await replayOrDetach(p, (n, b) => res.write(encode(n, b)));
  const h = p.h;
  if (!h) { res.end(); return; }
  for (const [n, chunk] of p.release()) res.write(encode(n, chunk));
  forwardOutput(h, res, p.tty);
  if (!h.isEnded) await new Promise<void>((resolve) => { h.once('end', resolve); res.once('close', () => { h.detach(); resolve(); }); });
  res.end();
}

/**
 * `GET /containers/{id}/attach/ws`: the same attach over a WebSocket, as
 * dockerd's wsContainersAttach: output is never multiplexed (each chunk is
 * a binary message, a text one before API 1.28), client messages are stdin,
 * and before API 1.42 all three streams are attached whatever the query says.
 */
export async function attachWebSocket(engine: Engine, ctx: RequestContext): Promise<void> {
  if (!ctx.socket) throw new InvalidParameterError('not a websocket handshake: need Upgrade: websocket and a Sec-WebSocket-Key');
  const accept = websocketAccept(ctx.req);
  const q = ctx.query;
  const all = !versionAtLeast(ctx.version, '1.42');
  const streams = { stdin: all || boolParam(q, 'stdin'), stdout: all || boolParam(q, 'stdout'), stderr: all || boolParam(q, 'stderr') };
  const p = await prepare(engine, ctx, streams);
  markUpgraded(ctx.req);
  ctx.socket.write(websocketUpgradeResponse(accept));
  const ws = new WebSocketDuplex(ctx.socket, versionAtLeast(ctx.version, '1.28'), ctx.head);
  ws.on('error', () => p.h?.detach());
  await replayOrDetach(p, (_n, b) => ws.write(b));
  if (!p.h) { ws.end(); return; }
  for (const [, chunk] of p.release()) ws.write(chunk);
  pipeHijack(ws, p.h, { raw: true, pty: p.tty, closeStdin: !!p.c.Config.StdinOnce, detachKeys: p.detachKeys });
}
