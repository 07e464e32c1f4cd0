/**
 * The things requests name: a running and a stopped container, busybox
 * under a few tags, a network, a volume and an exec instance, kept alive
 * while the fuzzer deletes, prunes and renames them (`refresh` puts back
 * what is gone), plus the ids of whatever the fuzzer itself created, so
 * later requests operate on oddly configured objects too.
 */
import type { Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { SAFE_REGISTRY } from './safety.js';

export type Kind = 'container' | 'image' | 'network' | 'volume' | 'exec';

const MAX_LEARNED = 40;

export class Fixtures {
  /** Names and ids by kind: the fixtures' own first, then what responses revealed. */
  readonly pool: Record<Kind, string[]> = { container: [], image: [], network: [], volume: [], exec: [] };
  /** Ids and names of the host network (never to be joined). */
  hostNetwork: string[] = ['host'];
  readonly subnet: string;

  constructor(private readonly d: Daemon) {
    this.subnet = d.net.userSubnet(1);
  }

  /** Remembers an id a response revealed (bounded). */
  learn(kind: Kind, id: unknown): void {
    if (typeof id !== 'string' || !id || id.length > 200) return;
    const list = this.pool[kind];
    if (list.includes(id)) return;
    list.push(id);
    if (list.length > MAX_LEARNED) list.splice(6, 1);
  }

  private async ok(method: string, path: string, body?: Record<string, unknown>): Promise<any> {
    const r = await this.d.request(method, path, body, { timeoutMs: 60_000 });
    if (r.status >= 300) throw new Error(`fixture ${method} ${path}: ${r.status} ${r.text.trim()}`);
    return r.text ? JSON.parse(r.text.split('\n').filter(Boolean)[0] ?? 'null') : null;
  }

  private async exists(path: string): Promise<boolean> {
    return (await this.d.request('GET', path, undefined, { timeoutMs: 30_000 })).status === 200;
  }

  /** Creates what is missing. Best effort after the first call: a fixture the fuzzer broke is recreated next time. */
  async refresh(): Promise<void> {
    if (!(await this.exists('/images/busybox:latest/json'))) await importBusybox(this.d);
    const img = await this.ok('GET', '/images/busybox:latest/json');
    for (const [repo, tag] of [['fuzz/img', '1'], [`${SAFE_REGISTRY}/fuzz/busybox`, 'latest']]) {
      if (!(await this.exists(`/images/${encodeURIComponent(`${repo}:${tag}`)}/json`))) await this.ok('POST', `/images/busybox:latest/tag?repo=${encodeURIComponent(repo)}&tag=${tag}`);
    }
    if (!(await this.exists('/networks/fz-net'))) {
      await this.ok('POST', '/networks/create', { Name: 'fz-net', IPAM: { Config: [{ Subnet: this.subnet }] } });
    }
    if (!(await this.exists('/volumes/fz-vol'))) await this.ok('POST', '/volumes/create', { Name: 'fz-vol' });
    if (!(await this.exists('/containers/fz-stopped/json'))) {
      await this.ok('POST', '/containers/create?name=fz-stopped', { Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: ['fz-vol:/data'] } });
    }
    const run = await this.d.request('GET', '/containers/fz-run/json');
    if (run.status !== 200) {
      await this.ok('POST', '/containers/create?name=fz-run', { Image: 'busybox', Cmd: ['sleep', '100000'], NetworkingConfig: { EndpointsConfig: { 'fz-net': {} } } });
    }
    const state = run.status === 200 ? JSON.parse(run.text).State : undefined;
    if (state?.Paused) await this.d.request('POST', '/containers/fz-run/unpause');
    if (!state?.Running) await this.d.request('POST', '/containers/fz-run/start');
    const exec = await this.d.request('POST', '/containers/fz-run/exec', { Cmd: ['true'] });
    const nets = await this.d.request('GET', '/networks');
    if (nets.status === 200) {
      const host = (JSON.parse(nets.text) as Array<{ Id: string; Name: string; Driver: string }>).filter((n) => n.Name === 'host' || n.Driver === 'host');
      this.hostNetwork = [...new Set(['host', ...host.flatMap((n) => [n.Id, n.Name])])];
    }

    const fixed: Record<Kind, string[]> = {
      container: ['fz-run', 'fz-stopped'],
      image: ['busybox', 'busybox:latest', img.Id, 'fuzz/img:1', `${SAFE_REGISTRY}/fuzz/busybox`],
      network: ['fz-net', 'bridge', 'none'],
      volume: ['fz-vol'],
      exec: exec.status === 201 ? [JSON.parse(exec.text).Id] : [],
    };
    for (const n of ['fz-run', 'fz-stopped']) {
      const r = await this.d.request('GET', `/containers/${n}/json`);
      if (r.status === 200) fixed.container.push(JSON.parse(r.text).Id);
    }
    const net = await this.d.request('GET', '/networks/fz-net');
    if (net.status === 200) fixed.network.push(JSON.parse(net.text).Id);
    for (const kind of Object.keys(fixed) as Kind[]) {
      const learned = this.pool[kind].filter((x) => !fixed[kind].includes(x));
      this.pool[kind] = [...fixed[kind], ...learned];
    }
  }

  /**
   * Removes what the fuzzer created, so the test leaves a clean daemon (the
   * helper's stop() sweeps the rest). Resolves with the removals that got no
   * answer within 20 s (a hang, which the caller reports).
   */
  async cleanup(): Promise<string[]> {
    const hung: string[] = [];
    const req = (m: string, p: string) => this.d.request(m, p, undefined, { timeoutMs: 20_000 }).catch((e: Error) => { hung.push(`${m} ${p}: ${e.message}`); return undefined; });
    const cs = await req('GET', '/containers/json?all=1');
    if (cs?.status === 200) for (const c of JSON.parse(cs.text) as Array<{ Id: string }>) await req('DELETE', `/containers/${c.Id}?force=1&v=1`);
    const ns = await req('GET', '/networks');
    if (ns?.status === 200) {
      for (const n of JSON.parse(ns.text) as Array<{ Id: string; Name: string }>) {
        if (!['bridge', 'host', 'none'].includes(n.Name)) await req('DELETE', `/networks/${n.Id}`);
      }
    }
    const vs = await req('GET', '/volumes');
    if (vs?.status === 200) for (const v of (JSON.parse(vs.text).Volumes ?? []) as Array<{ Name: string }>) await req('DELETE', `/volumes/${encodeURIComponent(v.Name)}?force=1`);
    const is = await req('GET', '/images/json?all=1');
    if (is?.status === 200) for (const i of JSON.parse(is.text) as Array<{ Id: string }>) await req('DELETE', `/images/${i.Id}?force=1`);
    return hung;
  }
}
