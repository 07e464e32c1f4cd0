/**
 * Stream formats of the Engine API: stdcopy frames (`[stream,0,0,0,len]`
 * + payload) for non-tty stdio and logs, and newline-delimited JSON messages
 * for progress streams (pull, import, build, events).
 */
import type { ServerResponse } from 'node:http';
import { COMMON_HEADERS } from './context.js';

export function frame(stream: 0 | 1 | 2 | 3, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

/** A 200 chunked JSON message stream (`application/json`), one object per line. */
export class JsonMessageStream {
  private started = false;
  constructor(private readonly res: ServerResponse) {}

  private start(): void {
    if (this.started) return;
    this.started = true;
    this.res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
  }

  write(msg: Record<string, unknown>): void {
    this.start();
    this.res.write(JSON.stringify(msg) + '\r\n');
  }

  /** Errors after the 200 travel in the stream, as Docker's do. */
  error(message: string): void {
    this.write({ errorDetail: { message }, error: message });
  }

  get headersSent(): boolean { return this.started; }

  end(): void {
    this.start();
    this.res.end();
  }
}
