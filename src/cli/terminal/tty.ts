/**
 * The local terminal during `run -it`, `exec -it`, `attach`: raw keyboard
 * input (so ctrl-c, arrows and the detach keys reach the container as bytes),
 * the window size for `ConsoleSize`, and resizes on SIGWINCH — the pieces of
 * Docker's `hijack.go` setupInput and `tty.go` MonitorTtySize.
 */
import type { InStream, OutStream } from '../context.js';

/** Puts stdin in raw mode when it is a terminal; returns the idempotent restore. */
export function makeRaw(stdin: InStream): () => void {
  if (!stdin.isTTY || typeof stdin.setRawMode !== 'function') return () => {};
  stdin.setRawMode(true);
  let restored = false;
  return () => {
    if (restored) return;
    restored = true;
    try {
      stdin.setRawMode?.(false);
    } catch { /* the terminal is gone */ }
  };
}

/** [rows, cols] of the terminal behind `out`, or [0, 0] off a terminal (Docker's GetTtySize). */
export function terminalSize(out: OutStream): [number, number] {
  if (!out.isTTY) return [0, 0];
  return [out.rows ?? 0, out.columns ?? 0];
}

/**
 * Sends the size now (retrying briefly, the container may just be starting)
 * and on every window change; returns a function that stops watching.
 */
export function monitorTtySize(out: OutStream, err: OutStream, resize: (h: number, w: number) => Promise<void>): () => void {
  const send = async () => {
    const [h, w] = terminalSize(out);
    if (h === 0 && w === 0) return;
    await resize(h, w);
  };
  void (async () => {
    for (let attempt = 1; attempt <= 10; attempt++) {
      try {
        await send();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 10 * attempt));
      }
    }
    err.write('failed to resize tty, using default size\n');
  })();
  const onResize = () => { void send().catch(() => {}); };
  out.on('resize', onResize);
  return () => { out.off('resize', onResize); };
}
