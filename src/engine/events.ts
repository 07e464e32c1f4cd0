/**
 * The event bus behind `GET /events`: Docker's event shape, a bounded history
 * for `since`, and live subscribers.
 */
import { EventEmitter } from 'node:events';

export interface EngineEvent {
  Type: 'container' | 'image' | 'volume' | 'network' | 'daemon' | 'builder';
  Action: string;
  Actor: { ID: string; Attributes: Record<string, string> };
  scope: 'local';
  time: number;
  timeNano: number;
  // Deprecated fields the Docker CLI still reads for containers.
  status?: string;
  id?: string;
  from?: string;
}

const HISTORY = 1000;
/**
 * The history's bound in bytes too: an event carries a container's labels
 * and an exec's whole command line (`exec_create: …`), each up to the 2 MiB
 * of a request body or an image config's, and a health probe makes two such
 * events per run. Counted alone, 1000 of them held gigabytes.
 */
const HISTORY_BYTES = 16 << 20;

/** About what an event holds, in bytes (its strings; the fixed fields are rounded up). */
function eventBytes(e: EngineEvent): number {
  let n = 256 + e.Action.length + e.Actor.ID.length;
  for (const [k, v] of Object.entries(e.Actor.Attributes)) n += k.length + v.length;
  return n;
}

export class EventBus {
  private readonly history: EngineEvent[] = [];
  private historyBytes = 0;
  private readonly emitter = new EventEmitter();

  constructor() { this.emitter.setMaxListeners(0); }

  emit(type: EngineEvent['Type'], action: string, id: string, attributes: Record<string, string> = {}): void {
    const nowNs = BigInt(Date.now()) * 1_000_000n + BigInt(process.hrtime.bigint() % 1_000_000n);
    const ev: EngineEvent = {
      Type: type, Action: action, Actor: { ID: id, Attributes: attributes }, scope: 'local',
      time: Number(nowNs / 1_000_000_000n), timeNano: Number(nowNs),
    };
    if (type === 'container' || type === 'image') {
      ev.status = action;
      ev.id = id;
      if (attributes.image) ev.from = attributes.image;
    }
    this.history.push(ev);
    this.historyBytes += eventBytes(ev);
    while (this.history.length > HISTORY || (this.historyBytes > HISTORY_BYTES && this.history.length > 0)) {
      this.historyBytes -= eventBytes(this.history.shift()!);
    }
    this.emitter.emit('event', ev);
  }

  /** Past events with timeNano in [sinceNs, untilNs]. */
  past(sinceNs: number, untilNs: number): EngineEvent[] {
    return this.history.filter((e) => e.timeNano >= sinceNs && e.timeNano <= untilNs);
  }

  subscribe(fn: (e: EngineEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }
}
