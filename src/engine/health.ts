/**
 * Health checks (HEALTHCHECK / --health-*): while a container runs, its test
 * command is exec'd every Interval; the result updates State.Health the way
 * dockerd does (starting → healthy/unhealthy after Retries consecutive
 * failures, failures during StartPeriod not counted, last 5 results kept).
 */
import type { ContainerService } from './containers.js';
import type { ExecService } from './exec.js';
import type { EventBus } from './events.js';
import { errorMessage } from '../errors.js';

const NS = 1_000_000;
const DEFAULT_INTERVAL = 30_000;
const DEFAULT_TIMEOUT = 30_000;
const DEFAULT_RETRIES = 3;
const MAX_LOG = 5;
const MAX_OUTPUT = 4096;

interface Probe { timer: NodeJS.Timeout | null; startedAt: number; stopped: boolean }

export class HealthMonitor {
  private readonly probes = new Map<string, Probe>();

  constructor(
    private readonly containers: ContainerService,
    private readonly exec: ExecService,
    private readonly events: EventBus,
  ) {
    events.subscribe((e) => {
      if (e.Type !== 'container') return;
      if (e.Action === 'start') this.begin(e.Actor.ID);
      else if (e.Action === 'die' || e.Action === 'destroy') this.end(e.Actor.ID);
    });
  }

  private testOf(id: string): string[] | null {
    const c = this.containers.store.get(id);
    const t: string[] | undefined = c?.Config.Healthcheck?.Test;
    if (!t || t.length === 0 || t[0] === 'NONE') return null;
    if (t[0] === 'CMD') return t.slice(1);
    if (t[0] === 'CMD-SHELL') return ['/bin/sh', '-c', t.slice(1).join(' ')];
    return null;
  }

  begin(id: string): void {
    this.end(id);
    if (!this.testOf(id)) return;
    const c = this.containers.store.get(id)!;
    c.State.Health = { Status: 'starting', FailingStreak: 0, Log: [] };
    this.containers.store.save(c);
    const probe: Probe = { timer: null, startedAt: Date.now(), stopped: false };
    this.probes.set(id, probe);
    this.schedule(id, probe);
  }

  end(id: string): void {
    const p = this.probes.get(id);
    if (!p) return;
    p.stopped = true;
    if (p.timer) clearTimeout(p.timer);
    this.probes.delete(id);
  }

  /** Stops every probe (daemon shutdown). */
  close(): void { for (const id of [...this.probes.keys()]) this.end(id); }

  private schedule(id: string, probe: Probe): void {
    const hc = this.containers.store.get(id)?.Config.Healthcheck ?? {};
    const interval = hc.Interval ? hc.Interval / NS : DEFAULT_INTERVAL;
    const startInterval = hc.StartInterval ? hc.StartInterval / NS : interval;
    const inStart = hc.StartPeriod && Date.now() - probe.startedAt < hc.StartPeriod / NS;
    probe.timer = setTimeout(() => { void this.runOnce(id, probe); }, inStart ? startInterval : interval);
    probe.timer.unref();
  }

  private async runOnce(id: string, probe: Probe): Promise<void> {
    const cmd = this.testOf(id);
    const c = this.containers.store.get(id);
    if (!cmd || !c || probe.stopped || !c.State.Running) return;
    const hc = c.Config.Healthcheck ?? {};
    const timeout = hc.Timeout ? hc.Timeout / NS : DEFAULT_TIMEOUT;
    const start = new Date();
    let exitCode = -1;
    let output = '';
    try {
      const { Id } = await this.exec.create(id, { Cmd: cmd, AttachStdout: true, AttachStderr: true });
      const h = await this.exec.start(Id, { Detach: false });
      h?.on('output', (_n: number, chunk: Buffer) => { if (output.length < MAX_OUTPUT) output += chunk.toString('utf8'); });
      const rec = this.exec.get(Id);
      // review4: the probe's session is internal: gone once it has ended (a killed one too).
      void rec.finished.then(() => this.exec.forget(Id), () => this.exec.forget(Id));
      const result = await Promise.race([rec.finished, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeout).unref())]);
      if (result === 'timeout') {
        if (rec.Pid) { try { process.kill(rec.Pid, 'SIGKILL'); } catch { /* already gone */ } }
        output = `Health check exceeded timeout (${timeout / 1000}s)`;
        exitCode = -1;
      } else {
        exitCode = result;
      }
    } catch (e) {
      output = errorMessage(e);
      exitCode = -1;
    }
    const cur = this.containers.store.get(id);
    if (!cur || probe.stopped || !cur.State.Running) return;
    const health = cur.State.Health ?? { Status: 'starting', FailingStreak: 0, Log: [] };
    const log = [...health.Log, { Start: start.toISOString(), End: new Date().toISOString(), ExitCode: exitCode, Output: output }].slice(-MAX_LOG);
    const prev = health.Status;
    let status = prev;
    let streak = health.FailingStreak;
    if (exitCode === 0) { status = 'healthy'; streak = 0; }
    else {
      const inStart = hc.StartPeriod && Date.now() - probe.startedAt < hc.StartPeriod / NS;
      if (!inStart || prev !== 'starting') {
        streak += 1;
        if (streak >= (hc.Retries || DEFAULT_RETRIES)) status = 'unhealthy';
      }
    }
    cur.State.Health = { Status: status, FailingStreak: streak, Log: log };
    this.containers.store.save(cur);
    if (status !== prev) this.events.emit('container', `health_status: ${status}`, id, { name: cur.Name, image: cur.ImageRef });
    if (!probe.stopped) this.schedule(id, probe);
  }
}
