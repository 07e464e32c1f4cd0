/**
 * `/_ping`, `/version`, `/info`, `/events`, `/system/df`.
 */
import os from 'node:os';
import { readFileSync, existsSync } from 'node:fs';
import type { Engine } from '../engine/engine.js';
import { parseFilters } from '../engine/container-views.js';
import { listRows } from './container-list.js';
import type { EngineEvent } from '../engine/events.js';
import { API_VERSION, COMMON_HEADERS, MIN_API_VERSION, experimental, need, sendJson, versionAtLeast } from './context.js';
import type { Router } from './router.js';
import { InvalidParameterError } from '../errors.js';
import { cgroupVersion } from '../runtime/cgroup-version.js';
import { CGROUP_DRIVER } from '../runtime/cgroup-path.js';
import { registerBuildkitRoutes } from './grpc/routes.js';
import { unixTimestampNs } from './unix-time.js';
import { setLongTimeout, type LongTimer } from '../long-timer.js';

export const BERTH_VERSION = '0.1.0';

function osName(): string {
  try {
    const m = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'));
    return m ? m[1] : 'Linux';
  } catch { return 'Linux'; }
}

/** An events `since`/`until` (unix-time.ts) in nanoseconds; absent or empty: `dflt`. */
function eventTime(v: string | null, dflt: number): number {
  if (!v) return dflt;
  return Number(unixTimestampNs(v));
}

function eventMatches(e: EngineEvent, f: Record<string, string[]>): boolean {
  if (f.type && !f.type.includes(e.Type)) return false;
  if (f.event && !f.event.some((a) => e.Action === a || e.Action.startsWith(`${a}:`))) return false;
  if (f.container && (e.Type !== 'container' || !f.container.some((c) => e.Actor.ID.startsWith(c) || e.Actor.Attributes.name === c))) return false;
  if (f.image && !f.image.some((i) => e.Actor.Attributes.image === i || e.Actor.ID === i)) return false;
  if (f.volume && (e.Type !== 'volume' || !f.volume.includes(e.Actor.ID))) return false;
  if (f.label && !f.label.every((l) => { const [k, v] = l.split('='); return v === undefined ? k in e.Actor.Attributes : e.Actor.Attributes[k] === v; })) return false;
  return true;
}

export function registerSystemRoutes(r: Router, engine: Engine): void {
  // BuildKit's API (`/grpc`, `/session`): `Builder-Version: 2` below tells clients it is here.
  registerBuildkitRoutes(r, engine, BERTH_VERSION);
  const ping = async (ctx: Parameters<Parameters<Router['get']>[1]>[0]) => {
    const res = need(ctx);
    res.writeHead(200, {
      ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache, no-store, must-revalidate',
      Pragma: 'no-cache', 'Builder-Version': '2', Swarm: 'inactive', 'Content-Length': '2',
    });
    res.end(ctx.req.method === 'HEAD' ? undefined : 'OK');
  };
  r.get('/_ping', ping);
  r.head('/_ping', ping);

  r.get('/version', async (ctx) => {
    sendJson(need(ctx), 200, {
      Platform: { Name: 'berth' },
      Components: [{ Name: 'Engine', Version: BERTH_VERSION, Details: { ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, Os: 'linux', Arch: os.arch() === 'x64' ? 'amd64' : os.arch() } }],
      Version: BERTH_VERSION, ApiVersion: API_VERSION, MinAPIVersion: MIN_API_VERSION, GitCommit: '', GoVersion: `node${process.versions.node}`,
      Os: 'linux', Arch: os.arch() === 'x64' ? 'amd64' : os.arch(), KernelVersion: os.release(), BuildTime: '', Experimental: experimental(),
    });
  });

  r.get('/info', async (ctx) => {
    const all = engine.containers.store.all();
    const running = all.filter((c) => c.State.Running && !c.State.Paused).length;
    const paused = all.filter((c) => c.State.Paused).length;
    sendJson(need(ctx), 200, {
      ID: 'berth', Containers: all.length, ContainersRunning: running, ContainersPaused: paused, ContainersStopped: all.length - running - paused,
      Images: engine.images.store.list().length, Driver: 'overlay2', DriverStatus: [['Backing Filesystem', 'extfs'], ['Supports d_type', 'true']],
      Plugins: { Volume: ['local'], Network: ['bridge', 'host', 'null'], Authorization: null, Log: ['json-file', 'local', 'none'] },
      MemoryLimit: true, SwapLimit: true, CpuCfsPeriod: true, CpuCfsQuota: true, CPUShares: true, CPUSet: true, PidsLimit: true,
      IPv4Forwarding: true, Debug: false, NFd: 0, OomKillDisable: true, NGoroutines: 0, SystemTime: new Date().toISOString(),
      LoggingDriver: 'json-file', CgroupDriver: CGROUP_DRIVER, CgroupVersion: String(cgroupVersion()), NEventsListener: 0,
      KernelVersion: os.release(), OperatingSystem: osName(), OSVersion: '', OSType: 'linux',
      Architecture: os.machine(), IndexServerAddress: 'https://index.docker.io/v1/', RegistryConfig: registryConfig(engine.distribution.registryMirrors, engine.distribution.insecureRegistryList, engine.distribution.otherRegistryMirrors),
      NCPU: os.cpus().length, MemTotal: os.totalmem(), GenericResources: null, DockerRootDir: engine.paths.dataRoot,
      HttpProxy: '', HttpsProxy: '', NoProxy: '', Name: os.hostname(), Labels: [], ExperimentalBuild: experimental(),
      ServerVersion: BERTH_VERSION,
      Runtimes: Object.fromEntries(['runc', 'crun'].filter((n) => existsSync(`/usr/sbin/${n}`) || existsSync(`/usr/bin/${n}`)).map((n) => [n, { path: n }])),
      DefaultRuntime: engine.runtimes.defaultName, Swarm: { NodeID: '', NodeAddr: '', LocalNodeState: 'inactive', ControlAvailable: false, Error: '', RemoteManagers: null },
      // A rootless berthd's containers end with it (rootless/launcher.ts).
      LiveRestoreEnabled: !engine.options.rootless, Isolation: '', InitBinary: 'tini', ContainerdCommit: { ID: '' }, RuncCommit: { ID: '' }, InitCommit: { ID: '' },
      // dockerd lists `name=userns` when --userns-remap is on, and `name=rootless` when it runs rootless
      // (a rootless berthd's containers have user namespaces of their own too: both).
      SecurityOptions: ['name=seccomp,profile=builtin', ...(engine.remap ? ['name=userns'] : []), ...(engine.options.rootless ? ['name=rootless'] : [])], Warnings: null,
    });
  });

  r.get('/events', async (ctx) => {
    const res = need(ctx);
    const f = parseFilters(ctx.query.get('filters'));
    const now = Date.now() * 1e6;
    const since = eventTime(ctx.query.get('since'), now);
    const until = eventTime(ctx.query.get('until'), Infinity);
    // dockerd refuses an empty window before it answers (an absent since never is after until).
    if (ctx.query.get('since') && until < since) {
      throw new InvalidParameterError(`\`since\` time (${ctx.query.get('since')}) cannot be after \`until\` time (${ctx.query.get('until')})`);
    }
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/json' });
    res.flushHeaders();
    // The history replayed for `since` is bounded by the history's own bound.
    const send = (e: EngineEvent) => { if (eventMatches(e, f)) res.write(JSON.stringify(e) + '\n'); };
    if (ctx.query.get('since')) for (const e of engine.events.past(since, Math.min(until, now))) send(e);
    if (until <= now) { res.end(); return; }
    // review4: a subscriber that stops reading is dropped once MAX_EVENTS_BACKLOG behind (its stream
    // ends), instead of berthd queueing every later event for it (dockerd drops the events instead).
    let behind = false;
    let stop: () => void = () => undefined;
    const sendLive = (e: EngineEvent) => {
      if (behind) return;
      if (res.writableLength > MAX_EVENTS_BACKLOG) { behind = true; stop(); return; }
      send(e);
    };
    await new Promise<void>((resolve) => {
      const unsubscribe = engine.events.subscribe(sendLive);
      let timer: LongTimer | undefined;
      const done = () => { timer?.clear(); unsubscribe(); resolve(); };
      if (until !== Infinity) timer = setLongTimeout(done, (until - Date.now() * 1e6) / 1e6);
      res.on('close', done);
      stop = done;
    });
    res.end();
  });

  r.get('/system/df', async (ctx) => {
    // `type=` (API 1.42+) asks for some kinds only; the others are left out, as dockerd does.
    const types = versionAtLeast(ctx.version, '1.42') ? ctx.query.getAll('type') : [];
    for (const t of types) if (!DF_TYPES.includes(t)) throw new InvalidParameterError(`unknown object type: ${t}`);
    const want = (t: string) => types.length === 0 || types.includes(t);
    const body: Record<string, unknown> = {};
    if (want('image')) {
      // Sizes are bytes on disk (layer directories and the blobs kept for
      // push), each layer counted once however many images share it, so
      // LayersSize moves with `du -sb` of the data root.
      const usage = await engine.layers.usage();
      const chains = new Map<string, string[]>();
      const users = new Map<string, number>();
      for (const img of engine.images.store.list()) {
        const chain = engine.layers.chain(img.topLayer).map((l) => l.chainId);
        chains.set(img.id, chain);
        for (const c of chain) users.set(c, (users.get(c) ?? 0) + 1);
      }
      const cost = (cs: string[]) => cs.reduce((n, c) => n + (usage.layers.get(c) ?? 0), 0);
      body.LayersSize = [...usage.layers.values()].reduce((n, x) => n + x, 0) + usage.manifests;
      body.Images = engine.images.summaries().map((i) => {
        const chain = chains.get(i.Id as string) ?? [];
        return { ...i, Size: cost(chain), SharedSize: cost(chain.filter((c) => (users.get(c) ?? 0) > 1)) };
      });
    }
    // dockerd's df lists its containers as ps -a --size does.
    if (want('container')) body.Containers = await listRows(engine, { all: true, limit: -1, filters: {}, brief: false, size: true });
    if (want('volume')) {
      body.Volumes = engine.volumes.list().map((v) => ({
        Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint, CreatedAt: v.CreatedAt, Labels: v.Labels, Scope: v.Scope, Options: v.Options,
        UsageData: { Size: -1, RefCount: engine.volumes.users(v.Name).length },
      }));
    }
    // The same records `buildx du` lists and `builder prune` deletes (engine/build-cache-usage.ts).
    if (want('build-cache')) {
      body.BuildCache = (await engine.builds.usage()).map((u) => ({
        ID: u.id, Parent: u.parents[0] ?? '', Parents: u.parents, Type: u.type, Description: u.description, InUse: u.inUse, Shared: u.shared,
        Size: u.size, CreatedAt: new Date(u.createdAt).toISOString(), LastUsedAt: u.lastUsedAt ? new Date(u.lastUsedAt).toISOString() : null,
        UsageCount: u.usageCount,
      }));
    }
    sendJson(need(ctx), 200, body);
  });
}

/** What `GET /system/df?type=` may ask for. */
const DF_TYPES = ['container', 'image', 'volume', 'build-cache'];

/**
 * Bytes of events one `GET /events` client may leave unread before its
 * stream ends: above what a whole history replay queues (its 16 MiB, twice
 * over as container events repeat Action as status).
 */
export const MAX_EVENTS_BACKLOG = 64 << 20;

/**
 * `RegistryConfig` of `GET /info` (moby registry.ServiceConfig): the
 * mirrors (`--registry-mirror`) with a trailing slash; Docker Hub's index
 * entry listing them; `--insecure-registry` CIDRs after the loopback one
 * dockerd always adds, and insecure hosts as index entries with
 * `Secure: false` (which `docker info` lists under "Insecure Registries").
 */
function registryConfig(mirrors: string[], insecure: string[], otherMirrors: Record<string, string[]> = {}): Record<string, unknown> {
  const cidrs = ['127.0.0.0/8'];
  const indexConfigs: Record<string, unknown> = { 'docker.io': { Name: 'docker.io', Mirrors: mirrors, Secure: true, Official: true } };
  for (const raw of insecure) {
    const entry = raw.trim().replace(/^[a-z]+:\/\//i, '').replace(/\/+$/, '');
    if (!entry) continue;
    if (/\/[0-9]+$/.test(entry)) { if (!cidrs.includes(entry)) cidrs.push(entry); continue; }
    indexConfigs[entry] = { Name: entry, Mirrors: [], Secure: false, Official: false };
  }
  // berth's mirrors of other registries (`--registry-mirror REGISTRY=URL`) under their registry's index entry.
  for (const [registry, urls] of Object.entries(otherMirrors)) {
    const entry = (indexConfigs[registry] ??= { Name: registry, Mirrors: [], Secure: true, Official: false }) as { Mirrors: string[] };
    entry.Mirrors = urls;
  }
  return {
    AllowNondistributableArtifactsCIDRs: null, AllowNondistributableArtifactsHostnames: null,
    InsecureRegistryCIDRs: cidrs, IndexConfigs: indexConfigs, Mirrors: mirrors,
  };
}
