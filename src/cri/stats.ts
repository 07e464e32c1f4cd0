/**
 * ContainerStats and ListContainerStats: berth's own cgroup sample (the one
 * `docker stats` shows, engine/stats.ts) in the CRI's units. A container
 * that is not running has a sample with its timestamps and no usage.
 */
import type { Engine } from '../engine/engine.js';
import { readSample } from '../engine/stats.js';
import { matchesSelector } from './records.js';
import type { CriContainer, Pods } from './pods.js';

type Req = Record<string, any>;

const u64 = (n: number | undefined) => ({ value: String(Math.max(0, Math.trunc(n ?? 0))) });

export class StatsService {
  constructor(private readonly engine: Engine, private readonly pods: Pods) {}

  private async statsOf(c: CriContainer): Promise<Req> {
    const timestamp = String(BigInt(Date.now()) * 1_000_000n);
    const attributes = { id: c.rec.Id, metadata: c.info.metadata, labels: c.info.labels, annotations: c.info.annotations };
    const containers = { get: (id: string) => this.engine.containers.store.get(id), lookup: (ref: string) => this.engine.containers.lookup(ref) };
    const sample = c.rec.State.Running ? await readSample(containers, c.rec).catch(() => null) : null;
    const mem = sample?.memory_stats;
    // kubelet's working set: usage less the inactive page cache, which the kernel can drop at will.
    const inactiveFile = mem?.stats?.total_inactive_file ?? mem?.stats?.inactive_file ?? 0;
    return {
      attributes,
      cpu: { timestamp, usageCoreNanoSeconds: u64(sample?.cpu_stats.cpu_usage.total_usage) },
      memory: {
        timestamp, workingSetBytes: u64((mem?.usage ?? 0) - inactiveFile), usageBytes: u64(mem?.usage),
        rssBytes: u64(mem?.stats?.total_rss ?? mem?.stats?.rss ?? mem?.stats?.anon),
        pageFaults: u64(mem?.stats?.total_pgfault ?? mem?.stats?.pgfault), majorPageFaults: u64(mem?.stats?.total_pgmajfault ?? mem?.stats?.pgmajfault),
      },
      writableLayer: { timestamp, fsId: { mountpoint: this.engine.paths.containerDir(c.rec.Id) }, usedBytes: u64(0), inodesUsed: u64(0) },
    };
  }

  async one(c: CriContainer): Promise<Req> {
    return { stats: await this.statsOf(c) };
  }

  async list(req: Req): Promise<Req> {
    const f = req.filter ?? {};
    const found = this.pods.criContainers().filter((c) => {
      if (f.id && !c.rec.Id.startsWith(f.id)) return false;
      if (f.podSandboxId && !c.info.sandboxId.startsWith(f.podSandboxId)) return false;
      return matchesSelector(c.info.labels, f.labelSelector);
    });
    return { stats: await Promise.all(found.map((c) => this.statsOf(c))) };
  }
}
