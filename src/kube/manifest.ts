/**
 * Reading Kubernetes YAML for `berth kube play` and `kube down`: Pods,
 * Deployments (N pods) and Services (their ports published on the pods they
 * select), checked field by field into plain plans (play.ts carries them
 * out). The YAML is API input, so nothing in it is trusted.
 *
 * A field is either supported, and then it works, or refused with an error
 * that names it. The exceptions are fields that say nothing about what runs
 * here (output-only `status`, `creationTimestamp`, a namespace, a
 * Deployment's rollout `strategy`, …): they are ignored with a warning.
 */
import { parseAllDocuments } from 'yaml';
import { InvalidParameterError, NotImplementedError } from '../errors.js';

export type Protocol = 'TCP' | 'UDP';
export type RestartPolicy = 'Always' | 'OnFailure' | 'Never';
export type PullPolicy = 'Always' | 'IfNotPresent' | 'Never' | '';

export interface PortPlan { containerPort: number; protocol: Protocol; hostPort?: number; hostIP?: string; name?: string }
export interface MountPlan { volume: string; mountPath: string; readOnly: boolean }
export interface VolumePlan { name: string; hostPath?: { path: string; type: string }; emptyDir?: true }

export interface ContainerPlan {
  name: string;
  image: string;
  pullPolicy: PullPolicy;
  /** Kubernetes' command (the entrypoint) and args, `$(VAR)` already expanded. */
  command?: string[];
  args?: string[];
  env: [string, string][];
  workingDir?: string;
  ports: PortPlan[];
  mounts: MountPlan[];
  runAsUser?: number;
  runAsGroup?: number;
  stdin: boolean;
  tty: boolean;
}

/** A host port a Service (or a container's hostPort) publishes: host side → the pod's port. */
export interface PublishPlan { containerPort: number; protocol: Protocol; hostPort: number; hostIP: string }

export interface PodPlan {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  hostname?: string;
  restartPolicy: RestartPolicy;
  terminationGracePeriodSeconds?: number;
  containers: ContainerPlan[];
  volumes: VolumePlan[];
  publish: PublishPlan[];
}

export interface Manifests { pods: PodPlan[]; warnings: string[] }

type Obj = Record<string, unknown>;

/** Kubernetes' object names here: DNS-1123 labels, as container names also become berth container names. */
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const MAX_PODS = 100;

class Reader {
  readonly warnings: string[] = [];

  obj(v: unknown, path: string): Obj {
    if (!v || typeof v !== 'object' || Array.isArray(v)) throw new InvalidParameterError(`${path}: must be a mapping`);
    return v as Obj;
  }

  /**
   * Checks an object's keys: `known` are handled by the caller, `ignored`
   * are dropped with a warning (when set to more than an empty value),
   * anything else is refused.
   */
  keys(o: Obj, path: string, known: string[], ignored: string[] = []): void {
    for (const [k, v] of Object.entries(o)) {
      if (known.includes(k)) continue;
      if (ignored.includes(k)) {
        if (v !== null && v !== undefined && !(typeof v === 'object' && Object.keys(v as object).length === 0)) this.warnings.push(`${path}.${k} is ignored by berth`);
        continue;
      }
      throw new NotImplementedError(`${path}.${k}: not supported by berth kube play`);
    }
  }

  str(v: unknown, path: string): string {
    if (typeof v !== 'string') throw new InvalidParameterError(`${path}: must be a string`);
    return v;
  }

  optStr(v: unknown, path: string): string | undefined {
    return v === undefined || v === null ? undefined : this.str(v, path);
  }

  name(v: unknown, path: string, max = 63): string {
    const s = this.str(v, path);
    if (s.length > max || !DNS_LABEL.test(s)) throw new InvalidParameterError(`${path}: "${s.slice(0, 80)}" is not a valid name (lower-case letters, digits and '-', at most ${max} characters)`);
    return s;
  }

  int(v: unknown, path: string, min: number, max: number): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw new InvalidParameterError(`${path}: must be an integer from ${min} to ${max}`);
    return v;
  }

  bool(v: unknown, path: string): boolean {
    if (v === undefined || v === null) return false;
    if (typeof v !== 'boolean') throw new InvalidParameterError(`${path}: must be true or false`);
    return v;
  }

  list(v: unknown, path: string): unknown[] {
    if (v === undefined || v === null) return [];
    if (!Array.isArray(v)) throw new InvalidParameterError(`${path}: must be a list`);
    return v;
  }

  strings(v: unknown, path: string): string[] {
    return this.list(v, path).map((x, i) => this.str(x, `${path}[${i}]`));
  }

  stringMap(v: unknown, path: string): Record<string, string> {
    if (v === undefined || v === null) return {};
    const o = this.obj(v, path);
    for (const [k, x] of Object.entries(o)) this.str(x, `${path}.${k}`);
    return o as Record<string, string>;
  }

  absPath(v: unknown, path: string): string {
    const s = this.str(v, path);
    if (!s.startsWith('/') || s.includes('\0')) throw new InvalidParameterError(`${path}: "${s.slice(0, 80)}" must be an absolute path`);
    return s;
  }
}

/** Kubernetes' `$(VAR)` expansion of command and args from the container's env; `$$` is a literal `$`, unknown names stay as written. */
export function expandVars(s: string, env: Map<string, string>): string {
  return s.replace(/\$\$|\$\(([^)]*)\)/g, (m, name: string | undefined) => {
    if (m === '$$') return '$';
    return name !== undefined && env.has(name) ? env.get(name)! : m;
  });
}

const METADATA_KNOWN = ['name', 'labels', 'annotations', 'namespace'];
const METADATA_IGNORED = ['creationTimestamp', 'uid', 'resourceVersion', 'generation', 'managedFields', 'selfLink'];

function readMetadata(r: Reader, v: unknown, path: string, needName: boolean): { name?: string; labels: Record<string, string>; annotations: Record<string, string> } {
  const md = r.obj(v ?? {}, path);
  r.keys(md, path, METADATA_KNOWN, METADATA_IGNORED);
  if (md.namespace !== undefined && md.namespace !== 'default') r.warnings.push(`${path}.namespace "${String(md.namespace)}" is ignored: berth has one namespace for kube play`);
  return {
    ...(needName || md.name !== undefined ? { name: r.name(md.name, `${path}.name`, 58) } : {}),
    labels: r.stringMap(md.labels, `${path}.labels`),
    annotations: r.stringMap(md.annotations, `${path}.annotations`),
  };
}

function readPort(r: Reader, v: unknown, path: string): PortPlan {
  const p = r.obj(v, path);
  r.keys(p, path, ['containerPort', 'hostPort', 'protocol', 'name', 'hostIP']);
  const protocol = p.protocol === undefined ? 'TCP' : r.str(p.protocol, `${path}.protocol`);
  if (protocol !== 'TCP' && protocol !== 'UDP') throw new NotImplementedError(`${path}.protocol: ${protocol} is not supported by berth (TCP and UDP are)`);
  return {
    containerPort: r.int(p.containerPort, `${path}.containerPort`, 1, 65535), protocol,
    ...(p.hostPort !== undefined ? { hostPort: r.int(p.hostPort, `${path}.hostPort`, 1, 65535) } : {}),
    ...(p.hostIP !== undefined ? { hostIP: r.str(p.hostIP, `${path}.hostIP`) } : {}),
    ...(p.name !== undefined ? { name: r.str(p.name, `${path}.name`) } : {}),
  };
}

function readSecurity(r: Reader, v: unknown, path: string): { runAsUser?: number; runAsGroup?: number } {
  if (v === undefined || v === null) return {};
  const sc = r.obj(v, path);
  r.keys(sc, path, ['runAsUser', 'runAsGroup']);
  return {
    ...(sc.runAsUser !== undefined ? { runAsUser: r.int(sc.runAsUser, `${path}.runAsUser`, 0, 2 ** 31 - 1) } : {}),
    ...(sc.runAsGroup !== undefined ? { runAsGroup: r.int(sc.runAsGroup, `${path}.runAsGroup`, 0, 2 ** 31 - 1) } : {}),
  };
}

function readContainer(r: Reader, v: unknown, path: string, volumes: Set<string>, podSecurity: { runAsUser?: number; runAsGroup?: number }): ContainerPlan {
  const c = r.obj(v, path);
  r.keys(c, path, [
    'name', 'image', 'imagePullPolicy', 'command', 'args', 'env', 'workingDir', 'ports', 'volumeMounts', 'securityContext', 'stdin', 'tty', 'resources',
  ], ['terminationMessagePath', 'terminationMessagePolicy']);
  if (c.resources !== undefined && c.resources !== null && Object.keys(r.obj(c.resources, `${path}.resources`)).length) {
    throw new NotImplementedError(`${path}.resources: not supported by berth kube play`);
  }
  const name = r.name(c.name, `${path}.name`);
  const image = r.str(c.image, `${path}.image`);
  if (!image) throw new InvalidParameterError(`${path}.image: must be set`);
  const pullPolicy = (c.imagePullPolicy === undefined ? '' : r.str(c.imagePullPolicy, `${path}.imagePullPolicy`)) as PullPolicy;
  if (!['', 'Always', 'IfNotPresent', 'Never'].includes(pullPolicy)) throw new InvalidParameterError(`${path}.imagePullPolicy: "${pullPolicy}" is not Always, IfNotPresent or Never`);
  const env: [string, string][] = r.list(c.env, `${path}.env`).map((e, i) => {
    const ep = `${path}.env[${i}]`;
    const o = r.obj(e, ep);
    if (o.valueFrom !== undefined) throw new NotImplementedError(`${ep}.valueFrom: not supported by berth kube play (give a value)`);
    r.keys(o, ep, ['name', 'value']);
    const n = r.str(o.name, `${ep}.name`);
    if (!n || n.includes('=') || n.includes('\0')) throw new InvalidParameterError(`${ep}.name: "${n.slice(0, 80)}" is not a valid variable name`);
    return [n, o.value === undefined || o.value === null ? '' : r.str(o.value, `${ep}.value`)];
  });
  const envMap = new Map(env);
  const expand = (list: string[]) => list.map((s) => expandVars(s, envMap));
  const mounts = r.list(c.volumeMounts, `${path}.volumeMounts`).map((m, i): MountPlan => {
    const mp = `${path}.volumeMounts[${i}]`;
    const o = r.obj(m, mp);
    r.keys(o, mp, ['name', 'mountPath', 'readOnly']);
    const vol = r.str(o.name, `${mp}.name`);
    if (!volumes.has(vol)) throw new InvalidParameterError(`${mp}.name: no volume "${vol.slice(0, 80)}" in the pod's volumes`);
    return { volume: vol, mountPath: r.absPath(o.mountPath, `${mp}.mountPath`), readOnly: r.bool(o.readOnly, `${mp}.readOnly`) };
  });
  const own = readSecurity(r, c.securityContext, `${path}.securityContext`);
  const runAsUser = own.runAsUser ?? podSecurity.runAsUser;
  const runAsGroup = own.runAsGroup ?? podSecurity.runAsGroup;
  // berth's user is `uid[:gid]`: a group alone would keep the image's user, which Kubernetes does not promise either.
  if (runAsGroup !== undefined && runAsUser === undefined) throw new NotImplementedError(`${path}.securityContext.runAsGroup: not supported by berth kube play without runAsUser`);
  return {
    name, image, pullPolicy,
    ...(c.command !== undefined && c.command !== null ? { command: expand(r.strings(c.command, `${path}.command`)) } : {}),
    ...(c.args !== undefined && c.args !== null ? { args: expand(r.strings(c.args, `${path}.args`)) } : {}),
    env,
    ...(c.workingDir ? { workingDir: r.absPath(c.workingDir, `${path}.workingDir`) } : {}),
    ports: r.list(c.ports, `${path}.ports`).map((p, i) => readPort(r, p, `${path}.ports[${i}]`)),
    mounts,
    ...(runAsUser !== undefined ? { runAsUser } : {}),
    ...(runAsGroup !== undefined ? { runAsGroup } : {}),
    stdin: r.bool(c.stdin, `${path}.stdin`), tty: r.bool(c.tty, `${path}.tty`),
  };
}

const HOST_PATH_TYPES = ['', 'DirectoryOrCreate', 'Directory', 'FileOrCreate', 'File'];

function readVolume(r: Reader, v: unknown, path: string): VolumePlan {
  const o = r.obj(v, path);
  const name = r.name(o.name, `${path}.name`);
  if (o.hostPath !== undefined) {
    r.keys(o, path, ['name', 'hostPath']);
    const hp = r.obj(o.hostPath, `${path}.hostPath`);
    r.keys(hp, `${path}.hostPath`, ['path', 'type']);
    const type = hp.type === undefined ? '' : r.str(hp.type, `${path}.hostPath.type`);
    if (!HOST_PATH_TYPES.includes(type)) throw new NotImplementedError(`${path}.hostPath.type: ${type} is not supported by berth kube play (${HOST_PATH_TYPES.slice(1).join(', ')} are)`);
    return { name, hostPath: { path: r.absPath(hp.path, `${path}.hostPath.path`), type } };
  }
  if (o.emptyDir !== undefined) {
    r.keys(o, path, ['name', 'emptyDir']);
    const ed = r.obj(o.emptyDir ?? {}, `${path}.emptyDir`);
    r.keys(ed, `${path}.emptyDir`, ['medium']);
    if (ed.medium !== undefined && ed.medium !== '') throw new NotImplementedError(`${path}.emptyDir.medium: ${String(ed.medium)} is not supported by berth kube play (the default, disk, is)`);
    return { name, emptyDir: true };
  }
  const kind = Object.keys(o).find((k) => k !== 'name') ?? '(none)';
  throw new NotImplementedError(`${path}: volume type ${kind} is not supported by berth kube play (hostPath and emptyDir are)`);
}

function readPodSpec(r: Reader, v: unknown, path: string, name: string, md: { labels: Record<string, string>; annotations: Record<string, string> }): PodPlan {
  const s = r.obj(v, path);
  r.keys(s, path, ['containers', 'volumes', 'restartPolicy', 'hostname', 'securityContext', 'terminationGracePeriodSeconds', 'hostNetwork'],
    ['dnsPolicy', 'schedulerName', 'enableServiceLinks', 'nodeName', 'nodeSelector', 'tolerations', 'serviceAccountName', 'priority']);
  if (s.hostNetwork === true) throw new NotImplementedError(`${path}.hostNetwork: not supported by berth kube play`);
  r.bool(s.hostNetwork, `${path}.hostNetwork`);
  const volumes = r.list(s.volumes, `${path}.volumes`).map((x, i) => readVolume(r, x, `${path}.volumes[${i}]`));
  const volNames = new Set<string>();
  for (const vol of volumes) {
    if (volNames.has(vol.name)) throw new InvalidParameterError(`${path}.volumes: "${vol.name}" is named twice`);
    volNames.add(vol.name);
  }
  const podSecurity = readSecurity(r, s.securityContext, `${path}.securityContext`);
  const containers = r.list(s.containers, `${path}.containers`).map((x, i) => readContainer(r, x, `${path}.containers[${i}]`, volNames, podSecurity));
  if (!containers.length) throw new InvalidParameterError(`${path}.containers: a pod needs at least one container`);
  const seen = new Set<string>();
  for (const c of containers) {
    if (seen.has(c.name) || c.name === 'infra') throw new InvalidParameterError(`${path}.containers: "${c.name}" is ${c.name === 'infra' ? 'the infra container\'s name' : 'named twice'}`);
    seen.add(c.name);
  }
  const restartPolicy = (s.restartPolicy === undefined ? 'Always' : r.str(s.restartPolicy, `${path}.restartPolicy`)) as RestartPolicy;
  if (!['Always', 'OnFailure', 'Never'].includes(restartPolicy)) throw new InvalidParameterError(`${path}.restartPolicy: "${restartPolicy}" is not Always, OnFailure or Never`);
  const publish: PublishPlan[] = [];
  for (const c of containers) {
    for (const p of c.ports) if (p.hostPort) publish.push({ containerPort: p.containerPort, protocol: p.protocol, hostPort: p.hostPort, hostIP: p.hostIP ?? '' });
  }
  return {
    name, labels: md.labels, annotations: md.annotations,
    ...(s.hostname ? { hostname: r.name(s.hostname, `${path}.hostname`) } : {}),
    restartPolicy,
    ...(s.terminationGracePeriodSeconds !== undefined ? { terminationGracePeriodSeconds: r.int(s.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`, 0, 2 ** 31 - 1) } : {}),
    containers, volumes, publish,
  };
}

interface ServicePlan { name: string; selector: Record<string, string>; ports: { port: number; targetPort: number | string; nodePort?: number; protocol: Protocol }[] }

function readService(r: Reader, doc: Obj, path: string): ServicePlan {
  const md = readMetadata(r, doc.metadata, `${path}.metadata`, true);
  const s = r.obj(doc.spec, `${path}.spec`);
  r.keys(s, `${path}.spec`, ['selector', 'ports', 'type'], ['clusterIP', 'clusterIPs', 'sessionAffinity', 'ipFamilies', 'ipFamilyPolicy', 'internalTrafficPolicy', 'externalTrafficPolicy']);
  if (s.type !== undefined && !['ClusterIP', 'NodePort', 'LoadBalancer'].includes(String(s.type))) {
    throw new NotImplementedError(`${path}.spec.type: ${String(s.type)} is not supported by berth kube play`);
  }
  const ports = r.list(s.ports, `${path}.spec.ports`).map((x, i) => {
    const pp = `${path}.spec.ports[${i}]`;
    const p = r.obj(x, pp);
    r.keys(p, pp, ['port', 'targetPort', 'nodePort', 'protocol', 'name']);
    const protocol = p.protocol === undefined ? 'TCP' : r.str(p.protocol, `${pp}.protocol`);
    if (protocol !== 'TCP' && protocol !== 'UDP') throw new NotImplementedError(`${pp}.protocol: ${protocol} is not supported by berth (TCP and UDP are)`);
    const port = r.int(p.port, `${pp}.port`, 1, 65535);
    const targetPort = p.targetPort === undefined ? port : typeof p.targetPort === 'string' ? p.targetPort : r.int(p.targetPort, `${pp}.targetPort`, 1, 65535);
    return { port, targetPort, protocol: protocol as Protocol, ...(p.nodePort !== undefined ? { nodePort: r.int(p.nodePort, `${pp}.nodePort`, 1, 65535) } : {}) };
  });
  return { name: md.name!, selector: r.stringMap(s.selector, `${path}.spec.selector`), ports };
}

/** A Service's ports on the pods it selects: host port = nodePort, else port; the pod's side = targetPort (a number or a container port's name). */
function applyService(svc: ServicePlan, pods: PodPlan[], warnings: string[]): void {
  const selected = Object.keys(svc.selector).length ? pods.filter((p) => Object.entries(svc.selector).every(([k, v]) => p.labels[k] === v)) : [];
  if (!selected.length) { warnings.push(`service ${svc.name} selects no pod in this file: its ports are not published`); return; }
  if (selected.length > 1 && svc.ports.length) {
    throw new InvalidParameterError(`service ${svc.name} selects ${selected.length} pods (${selected.map((p) => p.name).join(', ')}): a host port can be published for one pod only`);
  }
  const pod = selected[0];
  for (const sp of svc.ports) {
    let containerPort: number;
    if (typeof sp.targetPort === 'number') containerPort = sp.targetPort;
    else {
      const named = pod.containers.flatMap((c) => c.ports).find((p) => p.name === sp.targetPort);
      if (!named) throw new InvalidParameterError(`service ${svc.name}: no container port named "${sp.targetPort.slice(0, 80)}" in pod ${pod.name}`);
      containerPort = named.containerPort;
    }
    pod.publish.push({ containerPort, protocol: sp.protocol, hostPort: sp.nodePort ?? sp.port, hostIP: '' });
  }
}

/** Every object of a YAML stream (a `kind: List` counts as its items). */
function objects(text: string, r: Reader): Obj[] {
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) throw new InvalidParameterError('the file is empty');
  const out: Obj[] = [];
  docs.forEach((d, i) => {
    if (d.errors.length) throw new InvalidParameterError(`YAML document ${i + 1}: ${d.errors[0].message}`);
    const v = d.toJS({ maxAliasCount: 100 }) as unknown;
    if (v === null || v === undefined) return;
    const o = r.obj(v, `document ${i + 1}`);
    if (o.kind === 'List') { for (const [j, item] of r.list(o.items, `document ${i + 1}.items`).entries()) out.push(r.obj(item, `document ${i + 1}.items[${j}]`)); return; }
    out.push(o);
  });
  return out;
}

const API_VERSIONS: Record<string, string> = { Pod: 'v1', Service: 'v1', Deployment: 'apps/v1' };

/** The pods a YAML file describes, its Services applied. */
export function readManifests(text: string): Manifests {
  const r = new Reader();
  const pods: PodPlan[] = [];
  const services: ServicePlan[] = [];
  for (const [i, o] of objects(text, r).entries()) {
    const kind = r.str(o.kind, `document ${i + 1}.kind`);
    const path = `${kind}[${i + 1}]`;
    if (!API_VERSIONS[kind]) throw new NotImplementedError(`kind ${kind} is not supported by berth kube play (Pod, Deployment and Service are)`);
    if (o.apiVersion !== API_VERSIONS[kind]) throw new InvalidParameterError(`${path}.apiVersion: ${kind} needs apiVersion ${API_VERSIONS[kind]}, not ${String(o.apiVersion)}`);
    r.keys(o, path, ['apiVersion', 'kind', 'metadata', 'spec'], ['status']);
    if (kind === 'Pod') {
      const md = readMetadata(r, o.metadata, `${path}.metadata`, true);
      pods.push(readPodSpec(r, o.spec, `${path}.spec`, md.name!, md));
    } else if (kind === 'Deployment') {
      const md = readMetadata(r, o.metadata, `${path}.metadata`, true);
      const s = r.obj(o.spec, `${path}.spec`);
      r.keys(s, `${path}.spec`, ['replicas', 'selector', 'template'], ['strategy', 'revisionHistoryLimit', 'progressDeadlineSeconds', 'minReadySeconds']);
      const replicas = s.replicas === undefined ? 1 : r.int(s.replicas, `${path}.spec.replicas`, 0, MAX_PODS);
      const t = r.obj(s.template, `${path}.spec.template`);
      r.keys(t, `${path}.spec.template`, ['metadata', 'spec']);
      const tmd = readMetadata(r, t.metadata, `${path}.spec.template.metadata`, false);
      const sel = r.obj(s.selector ?? {}, `${path}.spec.selector`);
      r.keys(sel, `${path}.spec.selector`, ['matchLabels']);
      const match = r.stringMap(sel.matchLabels, `${path}.spec.selector.matchLabels`);
      if (!Object.keys(match).length) throw new InvalidParameterError(`${path}.spec.selector.matchLabels: must be set`);
      for (const [k, v] of Object.entries(match)) {
        if (tmd.labels[k] !== v) throw new InvalidParameterError(`${path}.spec.selector: does not match the template's labels (${k}=${v})`);
      }
      // Podman's names for a Deployment's pods: <deployment>-pod-<i>.
      for (let n = 0; n < replicas; n++) pods.push(readPodSpec(r, t.spec, `${path}.spec.template.spec`, `${md.name}-pod-${n}`, tmd));
    } else {
      services.push(readService(r, o, path));
    }
    if (pods.length > MAX_PODS) throw new InvalidParameterError(`the file describes more than ${MAX_PODS} pods`);
  }
  const names = new Set<string>();
  for (const p of pods) {
    if (names.has(p.name)) throw new InvalidParameterError(`pod ${p.name} is described twice`);
    names.add(p.name);
  }
  for (const s of services) applyService(s, pods, r.warnings);
  return { pods, warnings: r.warnings };
}
