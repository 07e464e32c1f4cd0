/**
 * Which containers' logs are rotated into several files (`--log-opt
 * max-size=… --log-opt max-file=N`, N ≥ 2), and for how long: from each
 * start until the container's process ends, and again for the running
 * ones when berthd starts. The rotation itself is runtime/log-rotation.ts.
 */
import { join } from 'node:path';
import { errorMessage } from '../errors.js';
import { LogRotator } from '../runtime/log-rotation.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { DataPaths } from '../store/paths.js';
import type { EventBus } from './events.js';
import { logRotation } from './log-config.js';

export class LogRotations {
  private readonly rotators = new Map<string, LogRotator>();

  constructor(
    private readonly lookup: (id: string) => ContainerRecord | undefined,
    private readonly paths: DataPaths,
  ) {}

  /** Follows the container events from now on: start arms, die and destroy disarm. */
  follow(events: EventBus): () => void {
    return events.subscribe((e) => {
      if (e.Type !== 'container') return;
      if (e.Action === 'start') void this.arm(e.Actor.ID);
      else if (e.Action === 'die' || e.Action === 'destroy') void this.disarm(e.Actor.ID);
    });
  }

  /** Starts rotating a running container's log if its config asks for it (berthd start-up, each start). */
  async arm(id: string): Promise<void> {
    await this.disarm(id);
    const c = this.lookup(id);
    if (!c || !c.State.Running) return;
    let rotation;
    try {
      rotation = logRotation(c.HostConfig.LogConfig);
    } catch {
      return; // a config from before create checked it: conmon's size limit alone applies
    }
    if (!rotation) return;
    const logPath = join(this.paths.containerDir(id), 'ctr.log');
    const r = new LogRotator(logPath, rotation.maxFiles, (e) => console.error(`berthd: rotating the log of ${id}: ${errorMessage(e)}`));
    this.rotators.set(id, r);
    await r.start().catch((e) => console.error(`berthd: rotating the log of ${id}: ${errorMessage(e)}`));
  }

  async disarm(id: string): Promise<void> {
    const r = this.rotators.get(id);
    if (!r) return;
    this.rotators.delete(id);
    await r.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.rotators.keys()].map((id) => this.disarm(id)));
  }
}
