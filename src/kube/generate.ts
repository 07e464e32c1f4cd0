/**
 * `berth kube generate CONTAINER|POD`: a Pod manifest (apiVersion v1, kind
 * Pod) that `kubectl apply` accepts, made from what berth's records say the
 * containers are, not from the file a pod was played from:
 *
 * - a pod (engine/pods.ts, by pod name or any of its containers) is one Pod
 *   with its members as containers; a plain container is a Pod of its own,
 *   named `<container>-pod` as Podman names it;
 * - command, args, env, workingDir and the user are written where they
 *   differ from the image's defaults (what the image gives, Kubernetes gives
 *   too);
 * - bind mounts become hostPath volumes, kube play's emptyDir volumes
 *   emptyDir again, other named volumes persistentVolumeClaims of that name;
 * - published ports become containerPort/hostPort pairs on the container
 *   that declared them.
 *
 * Names are made DNS-1123 labels (Kubernetes refuses Docker's `_`, `.` and
 * capitals); berth's own io.berth.* labels are left out.
 */
import { stringify } from 'yaml';
import { InvalidParameterError, NotFoundError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import { infraOf, membersOf, podName, podsNamed, POD_CONTAINER_LABEL } from '../engine/pods.js';
import type { ContainerRecord } from '../store/container-store.js';
import { KUBE_ANNOTATIONS_LABEL, KUBE_LABELS_LABEL, KUBE_PORTS_LABEL, KUBE_VOLUME_LABEL } from './play.js';
import type { PortPlan } from './manifest.js';

type Obj = Record<string, unknown>;

/** A name Kubernetes takes: lower case, `[a-z0-9-]`, at most 63 characters, alphanumeric at both ends. */
export function kubeName(s: string, fallback = 'container'): string {
  const n = s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 63).replace(/-+$/, '');
  return n || fallback;
}

function sameList(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
}

function parseJson<T>(s: string | undefined, fallback: T): T {
  if (!s) return fallback;
  try { return JSON.parse(s) as T; } catch { return fallback; }
}

const RESTART: Record<string, string> = { always: 'Always', 'unless-stopped': 'Always', 'on-failure': 'OnFailure', no: 'Never', '': 'Never' };

export class KubeGenerator {
  constructor(private readonly engine: Engine) {}

  private records() {
    return { lookup: (ref: string) => this.engine.containers.lookup(ref), all: () => this.engine.containers.store.all() };
  }

  /** The YAML of one Pod per argument, as one stream (`---` between documents). */
  generate(refs: string[]): string {
    if (!refs.length) throw new InvalidParameterError('kube generate needs a container or pod');
    return refs.map((r) => stringify(this.pod(r), { lineWidth: 0 })).join('---\n');
  }

  pod(ref: string): Obj {
    const records = this.records();
    let rec: ContainerRecord | undefined;
    try { rec = records.lookup(ref); } catch (e) { if (!(e instanceof NotFoundError)) throw e; }
    if (!rec) {
      const pods = podsNamed(ref, records);
      if (pods.length > 1) throw new InvalidParameterError(`pod "${ref}" is ambiguous: it names ${pods.length} pods; use a container name or ID`);
      if (!pods.length) throw new NotFoundError(`No such container or pod: ${ref}`);
      rec = pods[0];
    }
    const infra = infraOf(rec, records);
    if (!infra) return this.single(rec);
    const members = membersOf(infra, records).sort((a, b) => a.Created.localeCompare(b.Created));
    const name = kubeName(podName(infra) ?? infra.Name, 'pod');
    const labels = parseJson<Record<string, string>>(infra.Config.Labels?.[KUBE_LABELS_LABEL], {});
    const annotations = parseJson<Record<string, string>>(infra.Config.Labels?.[KUBE_ANNOTATIONS_LABEL], {});
    const volumes = new Map<string, Obj>();
    const containers = members.map((m) => this.container(m, infra, volumes));
    // A port published on the pod that no container declared (a Service's target, say) is the first container's.
    const declared = new Set(containers.flatMap((c) => ((c.ports ?? []) as Obj[]).map((p) => `${p.containerPort}/${String(p.protocol).toLowerCase()}`)));
    const extra = this.ports(infra, infra).filter((p) => !declared.has(`${p.containerPort}/${String(p.protocol).toLowerCase()}`) && p.hostPort !== undefined);
    if (extra.length && containers.length) containers[0].ports = [...((containers[0].ports ?? []) as Obj[]), ...extra];
    const hostname = infra.Config.Hostname;
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, ...(Object.keys(labels).length ? { labels } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) },
      spec: {
        ...(hostname && hostname !== name && !infra.Id.startsWith(hostname) ? { hostname } : {}),
        restartPolicy: RESTART[members[0]?.HostConfig.RestartPolicy?.Name ?? 'no'] ?? 'Never',
        ...this.grace(members),
        containers,
        ...(volumes.size ? { volumes: [...volumes.values()] } : {}),
      },
    };
  }

  private grace(members: ContainerRecord[]): Obj {
    const t = members.map((m) => m.Config.StopTimeout).filter((x) => typeof x === 'number');
    return t.length && t.every((x) => x === t[0]) ? { terminationGracePeriodSeconds: t[0] } : {};
  }

  /** A plain container as a one-container Pod. */
  private single(c: ContainerRecord): Obj {
    const volumes = new Map<string, Obj>();
    const container = this.container(c, c, volumes);
    return {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name: `${kubeName(c.Name.replace(/^\//, '')).slice(0, 59).replace(/-+$/, '')}-pod` },
      spec: {
        restartPolicy: RESTART[c.HostConfig.RestartPolicy?.Name ?? 'no'] ?? 'Never',
        ...this.grace([c]),
        containers: [container],
        ...(volumes.size ? { volumes: [...volumes.values()] } : {}),
      },
    };
  }

  /** `c` as a Pod's container; `netOwner` holds its published ports; its volumes are added to `volumes`. */
  private container(c: ContainerRecord, netOwner: ContainerRecord, volumes: Map<string, Obj>): Obj {
    const image = this.engine.images.tryResolve(c.Image)?.config.config ?? {};
    const cfg = c.Config;
    const out: Obj = { name: kubeName(cfg.Labels?.[POD_CONTAINER_LABEL] ?? c.Name.replace(/^\//, '')), image: c.ImageRef || cfg.Image };
    if (!sameList(cfg.Entrypoint, image.Entrypoint)) {
      out.command = cfg.Entrypoint ?? [];
      if ((cfg.Cmd ?? []).length) out.args = cfg.Cmd;
    } else if (!sameList(cfg.Cmd, image.Cmd)) {
      out.args = cfg.Cmd ?? [];
    }
    const imageEnv = new Set(image.Env ?? []);
    const env = (cfg.Env ?? []).filter((e: string) => !imageEnv.has(e)).map((e: string) => {
      const i = e.indexOf('=');
      return i < 0 ? { name: e, value: '' } : { name: e.slice(0, i), value: e.slice(i + 1) };
    });
    if (env.length) out.env = env;
    if (cfg.WorkingDir && cfg.WorkingDir !== (image.WorkingDir ?? '')) out.workingDir = cfg.WorkingDir;
    const ports = this.ports(c, netOwner);
    if (ports.length) out.ports = ports;
    const mounts = c.Mounts.map((m) => this.mount(m, volumes)).filter((m): m is Obj => !!m);
    if (mounts.length) out.volumeMounts = mounts;
    if (cfg.User && cfg.User !== (image.User ?? '')) {
      const m = /^(\d+)(?::(\d+))?$/.exec(cfg.User);
      // A user by name has no place in a Pod (runAsUser is a number): it stays the image's business.
      if (m) out.securityContext = { runAsUser: Number(m[1]), ...(m[2] !== undefined ? { runAsGroup: Number(m[2]) } : {}) };
    }
    if (cfg.OpenStdin) out.stdin = true;
    if (cfg.Tty) out.tty = true;
    return out;
  }

  private ports(c: ContainerRecord, netOwner: ContainerRecord): Obj[] {
    const bindings = (netOwner.HostConfig.PortBindings ?? {}) as Record<string, { HostIp?: string; HostPort?: string }[] | null>;
    const hostPortOf = (containerPort: number, protocol: string) => {
      const b = bindings[`${containerPort}/${protocol.toLowerCase()}`]?.[0];
      const hp = Number(b?.HostPort);
      return hp > 0 ? { hostPort: hp, ...(b?.HostIp ? { hostIP: b.HostIp } : {}) } : {};
    };
    const declared = c.Config.Labels?.[KUBE_PORTS_LABEL];
    if (declared !== undefined || c.Id !== netOwner.Id) {
      return parseJson<PortPlan[]>(declared, []).map((p) => ({
        ...(p.name ? { name: p.name } : {}), containerPort: p.containerPort, ...hostPortOf(p.containerPort, p.protocol), protocol: p.protocol,
      }));
    }
    const keys = new Set([...Object.keys(c.Config.ExposedPorts ?? {}), ...Object.keys(bindings)]);
    return [...keys].sort().flatMap((k) => {
      const [port, proto = 'tcp'] = k.split('/');
      if (!/^\d+$/.test(port) || (proto !== 'tcp' && proto !== 'udp')) return [];
      return [{ containerPort: Number(port), ...hostPortOf(Number(port), proto), protocol: proto.toUpperCase() }];
    });
  }

  private mount(m: ContainerRecord['Mounts'][number], volumes: Map<string, Obj>): Obj | undefined {
    let base: string;
    let source: Obj;
    if (m.Type === 'bind') {
      base = kubeName(`${m.Source}-host`, 'host');
      source = { hostPath: { path: m.Source } };
    } else if (m.Type === 'volume' && m.Name) {
      const v = this.engine.volumes.list().find((x) => x.Name === m.Name);
      const emptyDir = v?.Labels?.[KUBE_VOLUME_LABEL];
      base = kubeName(emptyDir ?? m.Name, 'volume');
      source = emptyDir !== undefined ? { emptyDir: {} } : { persistentVolumeClaim: { claimName: m.Name } };
    } else {
      return undefined;
    }
    // Two sources whose names sanitise alike (/a_b, /a-b) get -2, -3…; the same source shares its volume.
    let name = base;
    for (let n = 2; volumes.has(name) && JSON.stringify(volumes.get(name)) !== JSON.stringify({ name, ...source }); n++) name = `${base.slice(0, 60)}-${n}`;
    volumes.set(name, { name, ...source });
    return { name, mountPath: m.Destination, ...(m.RW ? {} : { readOnly: true }) };
  }
}
