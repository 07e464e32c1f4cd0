/**
 * berth's one pod concept, shared by its two faces (the CRI's pod sandboxes,
 * cri/, and `berth kube play`, kube/): a pod is an **infra container** that
 * owns the pod's network (and IPC) namespace, and **member containers** that
 * join it with `NetworkMode: container:<infra id>`, as Kubernetes' pause
 * container and Podman's infra container do. Both faces label their records
 * the same way, so the engine can answer "which pod is this?" without
 * knowing who made it:
 *
 *   io.berth.pod            the pod's name, on the infra container and every member
 *   io.berth.pod.infra      "true" on the infra container
 *   io.berth.pod.container  a member's name within its pod (Kubernetes' container name)
 *
 * The labels are names only; the namespace the pod lives in (the CRI's
 * `k8s.io`, or Docker's default for kube play) is the separate
 * `io.berth.namespace` label (container-views.ts).
 *
 * `faultTarget` is what `berth fault` uses: faults act on a network
 * namespace, so a pod's name, a member's pod-local name, or a member's own
 * name or ID all resolve to the infra container that holds it.
 */
import { InvalidParameterError, NotFoundError } from '../errors.js';
import type { ContainerRecord } from '../store/container-store.js';

export const POD_LABEL = 'io.berth.pod';
export const POD_INFRA_LABEL = 'io.berth.pod.infra';
export const POD_CONTAINER_LABEL = 'io.berth.pod.container';

/** The labels of a pod's infra container. */
export function infraLabels(pod: string): Record<string, string> {
  return { [POD_LABEL]: pod, [POD_INFRA_LABEL]: 'true' };
}

/** The labels of a pod's member container `name`. */
export function memberLabels(pod: string, name: string): Record<string, string> {
  return { [POD_LABEL]: pod, [POD_CONTAINER_LABEL]: name };
}

export function isInfra(c: ContainerRecord): boolean {
  return c.Config.Labels?.[POD_INFRA_LABEL] === 'true' && typeof c.Config.Labels?.[POD_LABEL] === 'string';
}

/** The pod name of an infra or member container, or undefined. */
export function podName(c: ContainerRecord): string | undefined {
  const v = c.Config.Labels?.[POD_LABEL];
  return typeof v === 'string' ? v : undefined;
}

export interface PodRecords {
  lookup(nameOrId: string): ContainerRecord;
  all(): ContainerRecord[];
}

/** The infra container of the pod a member belongs to (its network mode names it), or undefined. */
export function infraOf(c: ContainerRecord, records: PodRecords): ContainerRecord | undefined {
  if (isInfra(c)) return c;
  if (podName(c) === undefined) return undefined;
  const mode: string = c.HostConfig.NetworkMode ?? '';
  if (!mode.startsWith('container:')) return undefined;
  try {
    const infra = records.lookup(mode.slice('container:'.length));
    return isInfra(infra) ? infra : undefined;
  } catch (e) {
    if (e instanceof NotFoundError) return undefined;
    throw e;
  }
}

/** The infra containers of pods named `name` (one per pod; several when two namespaces both have it). */
export function podsNamed(name: string, records: PodRecords): ContainerRecord[] {
  return records.all().filter((c) => isInfra(c) && podName(c) === name);
}

/** A pod's members, infra excluded. */
export function membersOf(infra: ContainerRecord, records: PodRecords): ContainerRecord[] {
  return records.all().filter((c) => !isInfra(c) && podName(c) !== undefined && (c.HostConfig.NetworkMode === `container:${infra.Id}`));
}

function one(found: ContainerRecord[], ref: string, what: string): ContainerRecord {
  if (found.length === 1) return found[0];
  const names = found.map((c) => c.Name.replace(/^\//, '')).join(', ');
  throw new InvalidParameterError(`${what} "${ref}" is ambiguous: it names ${found.length} pods (${names}); use a container name or ID`);
}

/**
 * The container whose network namespace a fault on `ref` acts on: a
 * container by full ID or name (a pod member stands for its pod's infra
 * container), else a pod by name, else a pod member by its name within the
 * pod, else a container by ID prefix. A plain container sharing another's network is left as it is (the
 * fault service then says which container to name).
 */
export function faultTarget(ref: string, records: PodRecords): ContainerRecord {
  let direct: ContainerRecord | undefined;
  try {
    direct = records.lookup(ref);
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
  }
  // A full ID or a container's own name wins; a pod's name wins over an ID prefix, as a container's name does.
  const key = ref.replace(/^\//, '');
  if (direct && (direct.Id === key || direct.Name.replace(/^\//, '') === key)) return infraOf(direct, records) ?? direct;
  const pods = podsNamed(ref, records);
  if (pods.length) return one(pods, ref, 'pod');
  const members = records.all().filter((c) => !isInfra(c) && c.Config.Labels?.[POD_CONTAINER_LABEL] === ref);
  const infras = new Map<string, ContainerRecord>();
  for (const m of members) {
    const infra = infraOf(m, records);
    if (infra) infras.set(infra.Id, infra);
  }
  if (infras.size) return one([...infras.values()], ref, 'pod container');
  if (direct) return infraOf(direct, records) ?? direct;
  return records.lookup(ref); // the lookup's own NotFoundError (`No such container: …`)
}
