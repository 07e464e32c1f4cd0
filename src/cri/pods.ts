/**
 * Finding the CRI's pods and containers among berth's containers, and the
 * state names the CRI gives them. A pod sandbox is a berth container
 * running the pause image (pause-image.ts) on the CRI's berth network; it
 * owns the pod's network namespace, which the pod's containers join
 * (`NetworkMode: container:<sandbox id>`).
 */
import { InvalidParameterError, NotFoundError } from '../errors.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { ContainerService } from '../engine/containers.js';
import { criInfo, type CriContainerInfo, type CriSandboxInfo } from './records.js';

export interface Sandbox { rec: ContainerRecord; info: CriSandboxInfo }
export interface CriContainer { rec: ContainerRecord; info: CriContainerInfo }

/** The name of the berth network pods get their addresses on (created on first use). */
export const CRI_NETWORK = 'berth-cri';

export class Pods {
  constructor(private readonly containers: ContainerService) {}

  sandboxes(): Sandbox[] {
    const out: Sandbox[] = [];
    for (const rec of this.containers.store.all()) {
      const info = criInfo(rec);
      if (info?.kind === 'sandbox') out.push({ rec, info });
    }
    return out;
  }

  criContainers(): CriContainer[] {
    const out: CriContainer[] = [];
    for (const rec of this.containers.store.all()) {
      const info = criInfo(rec);
      if (info?.kind === 'container') out.push({ rec, info });
    }
    return out;
  }

  /** The pod sandbox with this ID or unique ID prefix; NOT_FOUND otherwise. */
  sandbox(id: string): Sandbox {
    return unique(this.sandboxes().filter((s) => s.rec.Id.startsWith(id)), `pod sandbox "${id}"`);
  }

  trySandbox(id: string): Sandbox | undefined {
    try { return this.sandbox(id); } catch (e) { if (e instanceof NotFoundError) return undefined; throw e; }
  }

  container(id: string): CriContainer {
    return unique(this.criContainers().filter((c) => c.rec.Id.startsWith(id)), `container "${id}"`);
  }

  tryContainer(id: string): CriContainer | undefined {
    try { return this.container(id); } catch (e) { if (e instanceof NotFoundError) return undefined; throw e; }
  }

  containersOf(sandboxId: string): CriContainer[] {
    return this.criContainers().filter((c) => c.info.sandboxId === sandboxId);
  }
}

function unique<T>(found: T[], what: string): T {
  if (found.length === 0) throw new NotFoundError(`${what} not found`);
  if (found.length > 1) throw new InvalidParameterError(`${what} is ambiguous: ${found.length} match`);
  return found[0];
}

/** A pod is ready while its infra container runs. */
export function sandboxState(rec: ContainerRecord): 'SANDBOX_READY' | 'SANDBOX_NOTREADY' {
  return rec.State.Running ? 'SANDBOX_READY' : 'SANDBOX_NOTREADY';
}

export type CriContainerState = 'CONTAINER_CREATED' | 'CONTAINER_RUNNING' | 'CONTAINER_EXITED' | 'CONTAINER_UNKNOWN';

export function containerState(rec: ContainerRecord): CriContainerState {
  switch (rec.State.Status) {
    case 'created': return 'CONTAINER_CREATED';
    case 'running': case 'paused': case 'restarting': return 'CONTAINER_RUNNING';
    case 'exited': case 'dead': return 'CONTAINER_EXITED';
    default: return 'CONTAINER_UNKNOWN';
  }
}
