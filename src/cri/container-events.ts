/**
 * GetContainerEvents: the CRI's container life-cycle events, which kubelet's
 * Evented PLEG reads instead of relisting. They come from the engine's own
 * event bus (the one behind `GET /events`): a CRI container's or pod
 * sandbox's `create`, `start`, `die` and `destroy` are
 * CONTAINER_CREATED/STARTED/STOPPED/DELETED_EVENT. As containerd's CRI does,
 * a sandbox's events carry the sandbox's ID as container_id, and every
 * event carries the pod's status and its containers' statuses as they are
 * when it happens (no pod status once the sandbox is gone).
 *
 * Every client gets every event (containerd 1.7 hands each to one reader
 * only). The engine bus is listened to only while a client is: the last
 * one to go, however it goes (cancel, a dropped connection, berthd
 * closing), takes the listener with it. A client that leaves MAX_UNREAD
 * events unread is cut off with RESOURCE_EXHAUSTED rather than let grow
 * berthd's memory.
 */
import grpc from '@grpc/grpc-js';
import { errorMessage } from '../errors.js';
import type { EngineEvent, EventBus } from '../engine/events.js';
import type { ReplyStream } from './grpc.js';
import { CriError } from './errors.js';
import { criInfoOfLabels } from './records.js';

type Req = Record<string, any>;

const EVENT_OF_ACTION: Record<string, string> = {
  create: 'CONTAINER_CREATED_EVENT',
  start: 'CONTAINER_STARTED_EVENT',
  die: 'CONTAINER_STOPPED_EVENT',
  destroy: 'CONTAINER_DELETED_EVENT',
};

/** Events a client may leave unread before it is cut off. */
export const MAX_UNREAD = 1000;

/** A pod's status and its containers' (null: the sandbox is gone). */
export type PodStatuses = (sandboxId: string) => { pod: Req | null; containers: Req[] };

export class ContainerEvents {
  private readonly clients = new Set<(ev: Req) => void>();
  private stopListening: (() => void) | null = null;

  constructor(private readonly bus: EventBus, private readonly statuses: PodStatuses, private readonly log: (msg: string) => void) {}

  /** Clients streaming events now. */
  get clientCount(): number {
    return this.clients.size;
  }

  /** Serves one GetContainerEvents call until its client goes. */
  serve(out: ReplyStream): void {
    const deliver = (ev: Req) => {
      if (out.pending >= MAX_UNREAD) {
        out.fail(new CriError(grpc.status.RESOURCE_EXHAUSTED, `the client left ${MAX_UNREAD} container events unread`));
        return;
      }
      out.send(ev);
    };
    this.clients.add(deliver);
    this.stopListening ??= this.bus.subscribe((e) => this.onEngineEvent(e));
    out.onClose(() => {
      this.clients.delete(deliver);
      if (this.clients.size === 0 && this.stopListening) {
        this.stopListening();
        this.stopListening = null;
      }
    });
  }

  private onEngineEvent(e: EngineEvent): void {
    if (e.Type !== 'container') return;
    const type = EVENT_OF_ACTION[e.Action];
    if (!type) return;
    const info = criInfoOfLabels(e.Actor.Attributes);
    if (!info) return;
    const sandboxId = info.kind === 'sandbox' ? e.Actor.ID : info.sandboxId;
    let now: ReturnType<PodStatuses>;
    try {
      now = this.statuses(sandboxId);
    } catch (err) {
      // The event still goes out: kubelet then relists that pod.
      this.log(`cri: container event ${type} of ${e.Actor.ID}: statuses: ${errorMessage(err)}`);
      now = { pod: null, containers: [] };
    }
    const ev: Req = {
      containerId: e.Actor.ID, containerEventType: type, createdAt: String(e.timeNano),
      ...(now.pod ? { podSandboxStatus: now.pod } : {}), containersStatuses: now.containers,
    };
    for (const deliver of [...this.clients]) deliver(ev);
  }
}
