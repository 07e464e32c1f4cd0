/**
 * A container's (or an exec's) output on its way to one attached client.
 *
 * conmon's attach socket cannot be paused from Node (node-unix-socket reads
 * every packet as it comes), so what a client does not read piles up in
 * berthd: a container writing as fast as it can (`cat /dev/zero`) to a
 * client that stopped reading (a suspended `docker attach`, a stuck
 * program) grew berthd by the container's whole output, until it ran out of
 * memory. Each client may be at most MAX_ATTACH_BACKLOG bytes behind; one
 * that falls further is told so (on stderr, or in the raw stream for a
 * tty) and its attachment ends, loudly, while the container runs on and
 * its log keeps everything. dockerd blocks the container's output instead;
 * the bound here is far above what a client that reads ever has queued.
 */
import type { AttachHandle } from '../engine/attach-handle.js';
import { frame } from './stream.js';

/** Bytes one attached client may have queued and unread before its attachment ends. */
export const MAX_ATTACH_BACKLOG = 32 << 20;

/** Where one client's output goes: a hijacked socket, a WebSocket or an HTTP response. */
export interface OutputSink {
  readonly writable: boolean;
  readonly writableLength: number;
  write(chunk: Buffer): unknown;
}

/** The notice a client that fell behind gets as its last output. */
export function backlogNotice(): string {
  return `berthd: attach ended: this client fell more than ${MAX_ATTACH_BACKLOG >> 20} MiB behind the output; the container keeps running\n`;
}

/**
 * Sends `h`'s output to `sink`, stdcopy-framed unless `raw`. A client over
 * the backlog bound gets the notice and is detached (`h` ends; the caller
 * ends the sink on 'end' as for any attachment).
 */
export function forwardOutput(h: AttachHandle, sink: OutputSink, raw: boolean): void {
  const encode = (n: 1 | 2, chunk: Buffer) => (raw ? chunk : frame(n, chunk));
  const onOutput = (n: 1 | 2, chunk: Buffer) => {
    if (!sink.writable) return;
    if (sink.writableLength > MAX_ATTACH_BACKLOG) {
      h.off('output', onOutput);
      sink.write(encode(2, Buffer.from(backlogNotice())));
      h.detach();
      return;
    }
    sink.write(encode(n, chunk));
  };
  h.on('output', onOutput);
}
