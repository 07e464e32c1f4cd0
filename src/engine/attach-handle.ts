/**
 * One client's attachment to a container's stdio. It can be made before the
 * container runs (`docker run` attaches, then starts): stdin bytes are held
 * until the engine connects the handle to conmon's attach socket at start.
 */
import { EventEmitter } from 'node:events';
import type { AttachStream } from '../runtime/attach.js';

export interface AttachOptions { stdin: boolean; stdout: boolean; stderr: boolean }

export class AttachHandle extends EventEmitter {
  private pending: Buffer[] = [];
  private stdinClosed = false;
  private stream: AttachStream | null = null;
  private ended = false;

  constructor(readonly options: AttachOptions) { super(); }

  writeStdin(chunk: Buffer): void {
    if (!this.options.stdin || this.stdinClosed) return;
    if (this.stream) this.stream.writeStdin(chunk); else this.pending.push(chunk);
  }

  closeStdin(): void {
    if (!this.options.stdin || this.stdinClosed) return;
    this.stdinClosed = true;
    this.stream?.closeStdin();
  }

  /** Wires the handle to conmon's attach socket; flushes stdin that came early. */
  connect(stream: AttachStream): void {
    this.stream = stream;
    stream.on('output', (n: 1 | 2, chunk: Buffer) => {
      if ((n === 1 && this.options.stdout) || (n === 2 && this.options.stderr)) this.emit('output', n, chunk);
    });
    stream.on('close', () => this.end());
    for (const c of this.pending) stream.writeStdin(c);
    this.pending = [];
    if (this.stdinClosed) stream.closeStdin();
  }

  /** Whether 'end' was emitted: the output is over. */
  get isEnded(): boolean { return this.ended; }

  /** The container's output is over (or the container never ran): 'end' once. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.emit('end');
  }

  /** The client went away: drop our connection to conmon, leave the container alone. */
  detach(): void {
    this.stream?.close();
    this.end();
  }
}
