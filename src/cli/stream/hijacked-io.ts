/**
 * Copying between the local streams and a hijacked attach/exec connection,
 * as Docker's `hijackedIOStreamer` does:
 *
 * - output: raw bytes with a tty, stdcopy frames otherwise; the session ends
 *   when the daemon closes its side;
 * - input: stdin is copied while it lasts, then the write side is half-closed
 *   (FIN) while reading continues — immediately when there is no stdin, which
 *   is how the daemon learns that nobody will type;
 * - with a tty, the keyboard is raw and the detach keys end the session
 *   without stopping the container.
 */
import type { Socket } from 'node:net';
import type { InStream, OutStream } from '../context.js';
import { DetachScanner } from '../terminal/detach-keys.js';
import { makeRaw } from '../terminal/tty.js';
import { StdcopyDemuxer, writeFrame } from './stdcopy.js';

export interface HijackedIoOptions {
  socket: Socket;
  /** Bytes the daemon sent right after the 101 response. */
  head: Buffer;
  tty: boolean;
  /** Present when stdin is attached. */
  stdin?: InStream;
  stdout?: OutStream;
  stderr?: OutStream;
  /** Detach sequence, recognised only with a tty (Docker does the same). */
  detachKeys?: readonly number[];
}

export interface HijackedIoResult {
  /** The user typed the detach keys. */
  detached: boolean;
}

export function streamHijacked(opts: HijackedIoOptions): Promise<HijackedIoResult> {
  const { socket, tty, stdin, stdout, stderr } = opts;
  const restore = tty && stdin ? makeRaw(stdin) : () => {};
  const wantOutput = Boolean(stdout || stderr);

  return new Promise<HijackedIoResult>((resolve, reject) => {
    let finished = false;
    let inputDone = false;
    let outputDone = !wantOutput;
    const stopInput = () => {
      if (!stdin) return;
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      stdin.off('error', onEnd);
      stdin.pause();
    };
    const finish = (err: Error | undefined, detached = false) => {
      if (finished) return;
      finished = true;
      restore();
      stopInput();
      if (detached || err) socket.destroy();
      if (err) reject(err);
      else resolve({ detached });
    };

    // Output.
    const demux = new StdcopyDemuxer();
    const sink = (chunk: Buffer) => {
      if (tty) {
        if (stdout && !stdout.write(chunk)) {
          socket.pause();
          stdout.once('drain', () => socket.resume());
        }
        return;
      }
      for (const f of demux.push(chunk)) {
        const target = f.stream === 2 ? stderr : stdout;
        if (!target) continue;
        const sysErr = writeFrame(f, stdout ?? target, stderr ?? target);
        if (sysErr) return finish(sysErr);
      }
    };
    if (opts.head.length) sink(opts.head);
    socket.on('data', (chunk: Buffer) => { if (!finished) sink(chunk); });
    socket.on('end', () => {
      outputDone = true;
      if (tty) restore();
      if (wantOutput || inputDone) finish(undefined);
    });
    socket.on('error', (e) => finish(e));
    socket.on('close', () => { if (!finished) finish(undefined); });

    // Input.
    const scanner = tty && opts.detachKeys ? new DetachScanner(opts.detachKeys) : undefined;
    const closeInput = () => {
      if (inputDone) return;
      inputDone = true;
      stopInput();
      if (!socket.destroyed) socket.end();
      if (outputDone) finish(undefined);
    };
    function onData(chunk: Buffer | string) {
      const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      if (scanner) {
        const r = scanner.push(buf);
        if (r.forward.length) socket.write(r.forward);
        if (r.detached) return finish(undefined, true);
        return;
      }
      if (!socket.write(buf)) {
        stdin?.pause();
        socket.once('drain', () => stdin?.resume());
      }
    }
    function onEnd() {
      restore();
      closeInput();
    }
    if (stdin) {
      stdin.on('data', onData);
      stdin.on('end', onEnd);
      stdin.on('error', onEnd);
      stdin.resume();
    } else {
      closeInput();
    }
  });
}
