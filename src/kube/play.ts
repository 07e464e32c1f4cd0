/**
 * `berth kube play` and `kube down`: the pods of a Kubernetes YAML file
 * (manifest.ts) as berth containers, made through the engine's own create
 * and start (the checks, spec and runtime of `docker run`).
 *
 * The pod model is berth's one pod concept (engine/pods.ts), the one the
 * CRI's sandboxes use: an infra container from the CRI's pause image
 * (cri/pause-image.ts) holds the pod's network and IPC namespaces, its
 * hostname and its published ports; each container joins it with
 * `container:<infra id>`, so a pod's containers share localhost. Unlike the
 * CRI's, these pods live in Docker's namespace (no `io.berth.namespace`
 * label): `berth ps` and `docker ps` list them, and a kubelet on the same
 * berthd never sees, adopts or garbage-collects them.
 *
 * Names follow Podman: containers are `<pod>-<container>`, the infra
 * container `<pod>-infra`, a Deployment's pods `<deployment>-pod-<i>`; an
 * emptyDir is the volume `<pod>-<volume>`. Everything play makes carries
 * `io.berth.pod=<pod>`, which is how `kube down` finds it again. A play that
 * fails half-way removes what it made.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js';
import type { Engine } from '../engine/engine.js';
import type { CreateRequest } from '../engine/create-request.js';
import { infraLabels, isInfra, membersOf, memberLabels, podName, podsNamed, POD_LABEL } from '../engine/pods.js';
import { NAMESPACE_LABEL } from '../engine/container-views.js';
import { PauseImage } from '../cri/pause-image.js';
import { readManifests, type ContainerPlan, type PodPlan } from './manifest.js';

/** On the infra container: the pod's metadata labels and annotations (JSON), for `kube generate`. */
export const KUBE_LABELS_LABEL = 'io.berth.kube.labels';
export const KUBE_ANNOTATIONS_LABEL = 'io.berth.kube.annotations';
/** On a member: the container ports it declared (JSON of PortPlan[]); they are published on the infra container. */
export const KUBE_PORTS_LABEL = 'io.berth.kube.ports';
/** On an emptyDir's volume: its name in the pod. */
export const KUBE_VOLUME_LABEL = 'io.berth.kube.volume';

const RESTART: Record<PodPlan['restartPolicy'], string> = { Always: 'always', OnFailure: 'on-failure', Never: 'no' };

export interface PlayedPod { Name: string; Id: string; Containers: string[] }
export interface PlayResult { Pods: PlayedPod[]; Warnings: string[] }
export interface DownResult { Pods: string[]; Warnings: string[] }

export class KubeService {
  private readonly pause: PauseImage;

  constructor(private readonly engine: Engine) {
    this.pause = new PauseImage(engine.images);
  }

  private records() {
    return { lookup: (ref: string) => this.engine.containers.lookup(ref), all: () => this.engine.containers.store.all() };
  }

  /** The kube-play pods named `name` (a CRI pod of the same name is the CRI's, not ours). */
  private ownPods(name: string) {
    return podsNamed(name, this.records()).filter((c) => c.Config.Labels?.[NAMESPACE_LABEL] === undefined);
  }

  async play(text: string, o: { network?: string } = {}): Promise<PlayResult> {
    const { pods, warnings } = readManifests(text);
    const network = o.network || 'bridge';
    if (network === 'host' || network === 'none' || network.startsWith('container:')) {
      throw new InvalidParameterError(`kube play needs a bridge network for its pods, not "${network}"`);
    }
    for (const p of pods) {
      if (this.ownPods(p.name).length) throw new ConflictError(`pod ${p.name} already exists (berth kube down removes it)`);
    }
    const made: PlayedPod[] = [];
    try {
      for (const p of pods) made.push(await this.playPod(p, network));
    } catch (e) {
      for (const p of [...pods].reverse()) await this.removePod(p.name).catch(() => undefined);
      throw e;
    }
    return { Pods: made, Warnings: warnings };
  }

  private async image(c: ContainerPlan): Promise<string> {
    const have = this.engine.images.tryResolve(c.image);
    // Without a policy: pull only what is missing, as Podman's kube play does (Kubernetes would pull :latest every time).
    if (c.pullPolicy === 'Always' || (!have && c.pullPolicy !== 'Never')) {
      await this.engine.distribution.pull(c.image, { progress: () => undefined });
    } else if (!have) {
      throw new NotFoundError(`container ${c.name}: image ${c.image} is not present and its imagePullPolicy is Never`);
    }
    return c.image;
  }

  /** The host side of a hostPath volume, checked or made as its type says (Kubernetes' semantics). */
  private async hostPath(path: string, type: string): Promise<void> {
    const st = existsSync(path) ? statSync(path) : undefined;
    if (type === 'DirectoryOrCreate' && !st) await mkdir(path, { recursive: true, mode: 0o755 });
    else if (type === 'FileOrCreate' && !st) {
      await mkdir(dirname(path), { recursive: true, mode: 0o755 });
      await (await open(path, 'a', 0o644)).close();
    } else if (type === 'Directory' && !st?.isDirectory()) throw new InvalidParameterError(`hostPath ${path} is not a directory`);
    else if (type === 'File' && !st?.isFile()) throw new InvalidParameterError(`hostPath ${path} is not a file`);
  }

  private async playPod(p: PodPlan, network: string): Promise<PlayedPod> {
    const images = new Map<string, string>();
    for (const c of p.containers) images.set(c.name, await this.image(c));
    const sources = new Map<string, { Type: 'bind' | 'volume'; Source: string }>();
    for (const v of p.volumes) {
      if (v.hostPath) {
        await this.hostPath(v.hostPath.path, v.hostPath.type);
        sources.set(v.name, { Type: 'bind', Source: v.hostPath.path });
      } else {
        const name = `${p.name}-${v.name}`;
        const existing = this.engine.volumes.list().find((x) => x.Name === name);
        if (existing && existing.Labels?.[POD_LABEL] !== p.name) throw new ConflictError(`volume ${name} (emptyDir ${v.name} of pod ${p.name}) already exists`);
        await this.engine.volumes.create({ Name: name, Labels: { [POD_LABEL]: p.name, [KUBE_VOLUME_LABEL]: v.name } });
        sources.set(v.name, { Type: 'volume', Source: name });
      }
    }

    const exposed: Record<string, object> = {};
    for (const c of p.containers) for (const port of c.ports) exposed[`${port.containerPort}/${port.protocol.toLowerCase()}`] = {};
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const b of p.publish) {
      const key = `${b.containerPort}/${b.protocol.toLowerCase()}`;
      exposed[key] = {};
      (bindings[key] ??= []).push({ HostIp: b.hostIP, HostPort: String(b.hostPort) });
    }
    const infraReq: CreateRequest = {
      Image: await this.pause.ensure(),
      Hostname: p.hostname ?? p.name,
      Labels: {
        ...infraLabels(p.name),
        [KUBE_LABELS_LABEL]: JSON.stringify(p.labels),
        ...(Object.keys(p.annotations).length ? { [KUBE_ANNOTATIONS_LABEL]: JSON.stringify(p.annotations) } : {}),
      },
      ...(Object.keys(exposed).length ? { ExposedPorts: exposed } : {}),
      HostConfig: {
        NetworkMode: network, IpcMode: 'shareable', PortBindings: bindings,
        // The infra container comes back with berthd (and the host) while the pod is to run.
        RestartPolicy: { Name: p.restartPolicy === 'Always' ? 'always' : 'no' },
      },
    };
    const infra = (await this.engine.containers.create(infraReq, `${p.name}-infra`)).Id;
    await this.engine.containers.start(infra);
    const ids: string[] = [];
    for (const c of p.containers) {
      const user = c.runAsUser !== undefined ? `${c.runAsUser}${c.runAsGroup !== undefined ? `:${c.runAsGroup}` : ''}` : '';
      const req: CreateRequest = {
        Image: images.get(c.name)!,
        // Kubernetes' command replaces the image's entrypoint and its Cmd; args alone replace the Cmd.
        ...(c.command ? { Entrypoint: c.command, Cmd: c.args ?? [] } : c.args ? { Cmd: c.args } : {}),
        Env: c.env.map(([k, v]) => `${k}=${v}`),
        ...(c.workingDir ? { WorkingDir: c.workingDir } : {}),
        ...(user ? { User: user } : {}),
        Tty: c.tty, OpenStdin: c.stdin,
        ...(p.terminationGracePeriodSeconds !== undefined ? { StopTimeout: p.terminationGracePeriodSeconds } : {}),
        Labels: { ...memberLabels(p.name, c.name), ...(c.ports.length ? { [KUBE_PORTS_LABEL]: JSON.stringify(c.ports) } : {}) },
        HostConfig: {
          NetworkMode: `container:${infra}`, IpcMode: `container:${infra}`,
          RestartPolicy: { Name: RESTART[p.restartPolicy] },
          Mounts: c.mounts.map((m) => ({ ...sources.get(m.volume)!, Target: m.mountPath, ReadOnly: m.readOnly })),
        },
      };
      const id = (await this.engine.containers.create(req, `${p.name}-${c.name}`)).Id;
      ids.push(id);
      await this.engine.containers.start(id);
    }
    return { Name: p.name, Id: infra, Containers: ids };
  }

  /** Removes a kube-play pod: its containers, its infra container, its emptyDir volumes. Returns whether there was one. */
  private async removePod(name: string): Promise<boolean> {
    const records = this.records();
    const infras = this.ownPods(name);
    // Members whose infra went already (a failed play) still carry the pod's label.
    const members = records.all().filter((c) => !isInfra(c) && podName(c) === name && c.Config.Labels?.[NAMESPACE_LABEL] === undefined);
    for (const infra of infras) for (const m of membersOf(infra, records)) if (!members.some((x) => x.Id === m.Id)) members.push(m);
    for (const c of [...members, ...infras]) {
      await this.engine.containers.remove(c.Id, { force: true }).catch((e) => { if (!(e instanceof NotFoundError)) throw e; });
    }
    const volumes = this.engine.volumes.list().filter((v) => v.Labels?.[POD_LABEL] === name && v.Labels?.[KUBE_VOLUME_LABEL] !== undefined);
    for (const v of volumes) await this.engine.volumes.remove(v.Name, true);
    return infras.length + members.length + volumes.length > 0;
  }

  /** `kube down`: removes the pods the file describes (those that exist). */
  async down(text: string): Promise<DownResult> {
    const { pods, warnings } = readManifests(text);
    const removed: string[] = [];
    for (const p of pods) {
      if (await this.removePod(p.name)) removed.push(p.name);
      else warnings.push(`pod ${p.name} does not exist`);
    }
    return { Pods: removed, Warnings: warnings };
  }
}
