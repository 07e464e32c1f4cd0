/**
 * RunPodSandbox, StopPodSandbox, RemovePodSandbox, PodSandboxStatus and
 * ListPodSandbox on berth's engine. The sandbox's infra container carries the
 * pod's hostname, DNS, published ports and network sysctls; the CRI's
 * metadata, labels and annotations ride in its record (records.ts).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError, NotImplementedError, NotModifiedError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { CreateRequest } from '../engine/create-request.js';
import { criLabels, matchesSelector, nanos, type CriSandboxInfo } from './records.js';
import { CRI_NETWORK, Pods, sandboxState, type Sandbox } from './pods.js';
import { PauseImage } from './pause-image.js';
import { infraLabels } from '../engine/pods.js';
import { absolutePath, idArg, nameArg } from './validate.js';
import { alreadyExists } from './errors.js';
import type { PodShm } from './pod-shm.js';

type Req = Record<string, any>;

const NAMESPACE_MODES = new Set(['POD', 'CONTAINER', 'NODE', 'TARGET']);

/** A NamespaceOption's mode, checked (an unknown enum number decodes as a number). */
export function namespaceMode(v: unknown, what: string): string {
  const m = typeof v === 'string' ? v : 'POD';
  if (!NAMESPACE_MODES.has(m)) throw new InvalidParameterError(`invalid ${what} namespace mode ${String(v)}`);
  return m;
}

/** The engine's runtime for a CRI runtime handler: '' is berthd's default. */
export function runtimeFor(handler: unknown): string {
  const h = typeof handler === 'string' ? handler : '';
  if (h === '' || h === 'runc' || h === 'crun') return h;
  throw new NotFoundError(`no runtime for "${h.slice(0, 80)}" is configured (berth has runc and crun)`);
}

export class SandboxService {
  private readonly pause: PauseImage;
  private networkReady: Promise<void> | null = null;

  constructor(private readonly engine: Engine, private readonly pods: Pods, private readonly shm: PodShm) {
    this.pause = new PauseImage(engine.images);
  }

  /** The CRI's bridge network, made on first use (concurrent pods share one creation). */
  private ensureNetwork(): Promise<void> {
    if (this.engine.networks.store.byName(CRI_NETWORK)) return Promise.resolve();
    this.networkReady ??= Promise.resolve().then(() => {
      if (!this.engine.networks.store.byName(CRI_NETWORK)) this.engine.networks.create({ Name: CRI_NETWORK, Labels: { 'io.berth.namespace': 'k8s.io' } });
    }).finally(() => { this.networkReady = null; });
    return this.networkReady;
  }

  async run(req: Req): Promise<Req> {
    const cfg = req.config;
    if (!cfg) throw new InvalidParameterError('config must be set');
    const md = cfg.metadata;
    if (!md) throw new InvalidParameterError('sandbox config must include metadata');
    const metadata = {
      name: nameArg(md.name, 'metadata.name'), uid: nameArg(md.uid, 'metadata.uid'),
      namespace: nameArg(md.namespace, 'metadata.namespace'), attempt: Number(md.attempt ?? 0),
    };
    const runtime = runtimeFor(req.runtimeHandler);
    const logDirectory = cfg.logDirectory ? absolutePath(cfg.logDirectory, 'log_directory') : '';
    const linux = cfg.linux ?? {};
    const sc = linux.securityContext ?? {};
    const ns = sc.namespaceOptions ?? {};
    const namespaces = { network: namespaceMode(ns.network, 'network'), pid: namespaceMode(ns.pid, 'pid'), ipc: namespaceMode(ns.ipc, 'ipc') };
    for (const [k, m] of Object.entries(namespaces)) {
      if (m === 'TARGET' || (k === 'network' && m === 'CONTAINER')) throw new InvalidParameterError(`${k} namespace mode ${m} is not valid for a pod sandbox`);
    }
    if (ns.usernsOptions && ns.usernsOptions.mode && ns.usernsOptions.mode !== 'NODE') throw new NotImplementedError('user namespaces are not supported by berth');
    const hostNetwork = namespaces.network === 'NODE';

    const hc: Record<string, any> = {
      NetworkMode: hostNetwork ? 'host' : CRI_NETWORK,
      LogConfig: { Type: 'none', Config: {} },
      Privileged: !!sc.privileged,
      ...(runtime ? { Runtime: runtime } : {}),
      ...(namespaces.pid === 'NODE' ? { PidMode: 'host' } : {}),
      ...(namespaces.ipc === 'NODE' ? { IpcMode: 'host' } : {}),
      ...(hostNetwork ? { UTSMode: 'host' } : {}),
      // kubelet's pod cgroup (`/kubepods/<qos>/pod<uid>` with cgroupfs): the parent of the sandbox's cgroup and,
      // through the record, of its containers' (`<parent>/<id>`, as containerd's CRI composes it). The engine's
      // create checks it like a `docker run --cgroup-parent` (runtime/cgroup-path.ts).
      ...(linux.cgroupParent ? { CgroupParent: String(linux.cgroupParent) } : {}),
    };
    const dns = cfg.dnsConfig;
    if (dns) {
      for (const v of [...(dns.servers ?? []), ...(dns.searches ?? []), ...(dns.options ?? [])]) {
        if (typeof v !== 'string' || /[\s\0]/.test(v) || v === '') throw new InvalidParameterError(`invalid dns_config entry "${String(v).slice(0, 80)}"`);
      }
      if (dns.servers?.length) hc.Dns = dns.servers;
      if (dns.searches?.length) hc.DnsSearch = dns.searches;
      if (dns.options?.length) hc.DnsOptions = dns.options;
    }
    const exposed: Record<string, object> = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of cfg.portMappings ?? []) {
      const proto = p.protocol === 'UDP' ? 'udp' : p.protocol === 'TCP' ? 'tcp' : '';
      if (!proto) throw new NotImplementedError(`port mapping protocol ${String(p.protocol)} is not supported by berth (TCP and UDP are)`);
      if (!(p.containerPort > 0 && p.containerPort < 65536)) throw new InvalidParameterError(`invalid container port ${p.containerPort}`);
      if (!(p.hostPort >= 0 && p.hostPort < 65536)) throw new InvalidParameterError(`invalid host port ${p.hostPort}`);
      const key = `${p.containerPort}/${proto}`;
      exposed[key] = {};
      // A mapping without a host port only documents the port, as kubelet sends it for every containerPort.
      if (p.hostPort > 0 && !hostNetwork) (bindings[key] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: String(p.hostPort) });
    }
    if (Object.keys(bindings).length) hc.PortBindings = bindings;
    const sysctls = linux.sysctls ?? {};
    if (Object.keys(sysctls).length) hc.Sysctls = sysctls;

    const info: CriSandboxInfo = {
      kind: 'sandbox', metadata, labels: cfg.labels ?? {}, annotations: cfg.annotations ?? {}, runtimeHandler: runtime, logDirectory, namespaces,
    };
    const [image] = await Promise.all([this.pause.ensure(), hostNetwork ? Promise.resolve() : this.ensureNetwork()]);
    const create: CreateRequest = {
      Image: image,
      ...(hostNetwork ? {} : { Hostname: typeof cfg.hostname === 'string' && cfg.hostname ? cfg.hostname : undefined }),
      Labels: { ...criLabels(info), ...infraLabels(metadata.name) },
      ...(Object.keys(exposed).length && !hostNetwork ? { ExposedPorts: exposed } : {}),
      HostConfig: hc,
    };
    const name = `k8s_POD_${metadata.name}_${metadata.namespace}_${metadata.uid}_${metadata.attempt}`;
    let id: string;
    try {
      id = (await this.engine.containers.create(create, name)).Id;
    } catch (e) {
      if (e instanceof ConflictError) throw alreadyExists(`pod sandbox name "${name}" is reserved: ${e.message}`);
      throw e;
    }
    try {
      if (namespaces.ipc !== 'NODE') await this.shm.mount(id);
      await this.engine.containers.start(id);
      if (dns && (dns.servers?.length || dns.searches?.length || dns.options?.length) && !hostNetwork) await this.writeResolvConf(id, dns);
    } catch (e) {
      await this.engine.containers.remove(id, { force: true }).catch(() => undefined);
      await this.shm.remove(id).catch(() => undefined);
      throw e;
    }
    return { podSandboxId: id };
  }

  /**
   * The pod's resolv.conf is exactly its DNS config, as kubelet expects
   * (cluster DNS), where a berth network would name its own resolver; the
   * pod's containers take the infra container's file at their start.
   */
  private async writeResolvConf(id: string, dns: Req): Promise<void> {
    const lines = [
      ...(dns.searches?.length ? [`search ${dns.searches.join(' ')}`] : []),
      ...(dns.servers ?? []).map((s: string) => `nameserver ${s}`),
      ...(dns.options?.length ? [`options ${dns.options.join(' ')}`] : []),
    ];
    await writeFile(join(this.engine.paths.containerDir(id), 'resolv.conf'), `${lines.join('\n')}\n`);
  }

  /** Stops the pod's containers, then its infra container (its network goes with it). Idempotent. */
  async stop(req: Req): Promise<Req> {
    const sb = this.pods.sandbox(idArg(req.podSandboxId, 'pod sandbox'));
    for (const c of this.pods.containersOf(sb.rec.Id)) await ignoreStopped(this.engine.containers.stop(c.rec.Id, 0));
    await ignoreStopped(this.engine.containers.stop(sb.rec.Id, 0));
    return {};
  }

  /** Removes the pod's containers and the sandbox; one already gone is no error. */
  async remove(req: Req): Promise<Req> {
    const sb = this.pods.trySandbox(idArg(req.podSandboxId, 'pod sandbox'));
    if (!sb) return {};
    for (const c of this.pods.containersOf(sb.rec.Id)) await ignoreGone(this.engine.containers.remove(c.rec.Id, { force: true }));
    await ignoreGone(this.engine.containers.remove(sb.rec.Id, { force: true }));
    await this.shm.remove(sb.rec.Id);
    return {};
  }

  status(req: Req): Req {
    const sb = this.pods.sandbox(idArg(req.podSandboxId, 'pod sandbox'));
    const status = {
      ...this.item(sb),
      network: { ip: sandboxState(sb.rec) === 'SANDBOX_READY' ? this.ipOf(sb) : '', additionalIps: [] },
      linux: { namespaces: { options: { network: sb.info.namespaces.network, pid: sb.info.namespaces.pid, ipc: sb.info.namespaces.ipc } } },
    };
    const info: Record<string, string> = {};
    if (req.verbose) {
      info.info = JSON.stringify({
        pid: sb.rec.State.Pid, image: sb.rec.Image, runtimeHandler: sb.info.runtimeHandler, berthContainer: sb.rec.Name,
        network: sb.rec.HostConfig.NetworkMode, logDirectory: sb.info.logDirectory,
      });
    }
    return { status, info, containersStatuses: [], timestamp: String(BigInt(Date.now()) * 1_000_000n) };
  }

  list(req: Req): Req {
    const f = req.filter ?? {};
    const items = this.pods.sandboxes().filter((sb) => {
      if (f.id && !sb.rec.Id.startsWith(f.id)) return false;
      if (f.state && sandboxState(sb.rec) !== f.state.state) return false;
      return matchesSelector(sb.info.labels, f.labelSelector);
    });
    return { items: items.map((sb) => this.item(sb)) };
  }

  private item(sb: Sandbox): Req {
    return {
      id: sb.rec.Id, metadata: sb.info.metadata, state: sandboxState(sb.rec), createdAt: nanos(sb.rec.Created),
      labels: sb.info.labels, annotations: sb.info.annotations, runtimeHandler: sb.info.runtimeHandler,
    };
  }

  /** The pod's address on the CRI network (host network pods have none of their own). */
  private ipOf(sb: Sandbox): string {
    const nets = this.engine.endpoints.summaryView(sb.rec).Networks as Record<string, { IPAddress?: string }>;
    return nets[CRI_NETWORK]?.IPAddress ?? '';
  }
}

async function ignoreStopped(p: Promise<void>): Promise<void> {
  try { await p; } catch (e) { if (!(e instanceof NotModifiedError) && !(e instanceof NotFoundError)) throw e; }
}

async function ignoreGone(p: Promise<void>): Promise<void> {
  try { await p; } catch (e) { if (!(e instanceof NotFoundError)) throw e; }
}
