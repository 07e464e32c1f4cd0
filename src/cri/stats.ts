/**
 * ContainerStats and ListContainerStats: berth's own cgroup sample (the one
 * `docker stats` shows, engine/stats.ts) in the CRI's units. A container
 * that is not running has a sample with its timestamps and no usage.
 */
import type { Engine } from '../engine/engine.js';
import { readSample } from '../engine/stats.js';
import { matchesSelector } from './records.js';
import type { CriContainer, Pods, Sandbox } from './pods.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { StatsResponse } from '../engine/stats.js';

type Req = Record<string, any>;

const u64 = (n: number | undefined) => ({ value: String(Math.max(0, Math.trunc(n ?? 0))) });
const now = () => String(BigInt(Date.now()) * 1_000_000n);

/** kubelet's working set: usage less the inactive page cache, which the kernel can drop at will. */
function workingSet(x: StatsResponse): number {
  const st = x.memory_stats.stats;
  return (x.memory_stats.usage ?? 0) - (st?.total_inactive_file ?? st?.inactive_file ?? 0);
}

function cpuUsage(x: StatsResponse | null, timestamp: string): Req {
  return { timestamp, usageCoreNanoSeconds: u64(x?.cpu_stats.cpu_usage.total_usage) };
}

function memoryUsage(x: StatsResponse | null, timestamp: string): Req {
  const st = x?.memory_stats.stats;
  return {
    timestamp, workingSetBytes: u64(x ? workingSet(x) : 0), usageBytes: u64(x?.memory_stats.usage),
    rssBytes: u64(st?.total_rss ?? st?.rss ?? st?.anon), pageFaults: u64(st?.total_pgfault ?? st?.pgfault),
    majorPageFaults: u64(st?.total_pgmajfault ?? st?.pgmajfault),
  };
}

export class StatsService {
  constructor(private readonly engine: Engine, private readonly pods: Pods) {}

  /** berth's sample of a running container; null for one that is not running (or stopped meanwhile). */
  private sample(rec: ContainerRecord): Promise<StatsResponse | null> {
    if (!rec.State.Running) return Promise.resolve(null);
    const containers = { get: (id: string) => this.engine.containers.store.get(id), lookup: (ref: string) => this.engine.containers.lookup(ref) };
    return readSample(containers, rec).catch(() => null);
  }

  private async statsOf(c: CriContainer): Promise<Req> {
    const timestamp = now();
    const attributes = { id: c.rec.Id, metadata: c.info.metadata, labels: c.info.labels, annotations: c.info.annotations };
    const sample = await this.sample(c.rec);
    return {
      attributes, cpu: cpuUsage(sample, timestamp), memory: memoryUsage(sample, timestamp),
      writableLayer: { timestamp, fsId: { mountpoint: this.engine.paths.containerDir(c.rec.Id) }, usedBytes: u64(0), inodesUsed: u64(0) },
    };
  }

  /** A pod's usage: its infra container's and its containers' added up, and its network namespace's counters. */
  private async podStatsOf(sb: Sandbox): Promise<Req> {
    const timestamp = now();
    const members = this.pods.containersOf(sb.rec.Id);
    const [infra, containers] = await Promise.all([this.sample(sb.rec), Promise.all(members.map((c) => this.statsOf(c)))]);
    const samples = [infra, ...(await Promise.all(members.map((c) => this.sample(c.rec))))].filter((x): x is StatsResponse => !!x);
    const sum = (f: (x: StatsResponse) => number | undefined) => samples.reduce((n, x) => n + (f(x) ?? 0), 0);
    const interfaces = Object.entries(infra?.networks ?? {}).map(([name, n]) => ({
      name, rxBytes: u64(n.rx_bytes), rxErrors: u64(n.rx_errors), txBytes: u64(n.tx_bytes), txErrors: u64(n.tx_errors),
    }));
    return {
      attributes: { id: sb.rec.Id, metadata: sb.info.metadata, labels: sb.info.labels, annotations: sb.info.annotations },
      linux: {
        cpu: { timestamp, usageCoreNanoSeconds: u64(sum((x) => x.cpu_stats.cpu_usage.total_usage)) },
        memory: { timestamp, workingSetBytes: u64(sum((x) => workingSet(x))), usageBytes: u64(sum((x) => x.memory_stats.usage)) },
        network: { timestamp, defaultInterface: interfaces.find((i) => i.name === 'eth0') ?? interfaces[0] ?? null, interfaces },
        process: { timestamp, processCount: u64(sum((x) => x.pids_stats.current)) },
        containers,
      },
    };
  }

  async pod(sb: Sandbox): Promise<Req> {
    return { stats: await this.podStatsOf(sb) };
  }

  async listPods(req: Req): Promise<Req> {
    const f = req.filter ?? {};
    const found = this.pods.sandboxes().filter((sb) => (!f.id || sb.rec.Id.startsWith(f.id)) && matchesSelector(sb.info.labels, f.labelSelector));
    return { stats: await Promise.all(found.map((sb) => this.podStatsOf(sb))) };
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
