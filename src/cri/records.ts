/**
 * How a pod sandbox or a CRI container is a berth container. Everything the
 * CRI must remember (its metadata, labels, annotations, the pod it belongs
 * to, its log path) rides in one label of the berth record, so it is stored,
 * persisted and survives a berthd restart with the record itself; the
 * namespace label keeps it out of the Docker API's default listings
 * (engine/container-views.ts).
 */
import { InvalidParameterError } from '../errors.js';
import type { ContainerRecord } from '../store/container-store.js';
import { NAMESPACE_LABEL } from '../engine/container-views.js';

export { NAMESPACE_LABEL };
/** nerdctl's and containerd's name for Kubernetes' namespace. */
export const CRI_NAMESPACE = 'k8s.io';
/** The label holding the CRI's view of the container (JSON of CriSandboxInfo or CriContainerInfo). */
export const CRI_LABEL = 'io.berth.cri';

export interface PodMetadata { name: string; uid: string; namespace: string; attempt: number }
export interface ContainerMetadata { name: string; attempt: number }

export interface CriSandboxInfo {
  kind: 'sandbox';
  metadata: PodMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
  logDirectory: string;
  /** Namespace modes as asked (NODE/POD/CONTAINER), echoed in the status. */
  namespaces: { network: string; pid: string; ipc: string };
}

export interface CriContainerInfo {
  kind: 'container';
  sandboxId: string;
  metadata: ContainerMetadata;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** ImageSpec.image as the client gave it. */
  image: string;
  /** Absolute path of the CRI log (log_directory + log_path), or ''. */
  logPath: string;
  mounts: { containerPath: string; hostPath: string; readonly: boolean; propagation: string }[];
}

export type CriInfo = CriSandboxInfo | CriContainerInfo;

/** What a pod's or container's labels and annotations may take together (Kubernetes caps annotations at 256 KiB). */
const MAX_INFO_BYTES = 512 * 1024;

export function criLabels(info: CriInfo): Record<string, string> {
  const json = JSON.stringify(info);
  if (Buffer.byteLength(json) > MAX_INFO_BYTES) throw new InvalidParameterError(`labels and annotations are too large (over ${MAX_INFO_BYTES} bytes)`);
  return { [NAMESPACE_LABEL]: CRI_NAMESPACE, [CRI_LABEL]: json };
}

function isStringMap(v: unknown): v is Record<string, string> {
  return !!v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}

/**
 * The CRI's view of a berth record, or undefined for any other container. The
 * label is read defensively: a Docker API client may set any label, and a
 * malformed one must hide the container, not break every listing.
 */
export function criInfo(c: ContainerRecord): CriInfo | undefined {
  return criInfoOfLabels(c.Config.Labels as Record<string, string> | undefined);
}

/** The same from a container's labels alone (an engine event's attributes carry them, even for a removed container). */
export function criInfoOfLabels(labels: Record<string, string> | undefined): CriInfo | undefined {
  if (labels?.[NAMESPACE_LABEL] !== CRI_NAMESPACE) return undefined;
  const raw = labels[CRI_LABEL];
  if (typeof raw !== 'string') return undefined;
  let v: any;
  try { v = JSON.parse(raw); } catch { return undefined; }
  if (!v || typeof v !== 'object' || !v.metadata || typeof v.metadata !== 'object' || typeof v.metadata.name !== 'string') return undefined;
  if (!isStringMap(v.labels) || !isStringMap(v.annotations)) return undefined;
  if (v.kind === 'sandbox') {
    if (typeof v.metadata.uid !== 'string' || typeof v.metadata.namespace !== 'string' || typeof v.metadata.attempt !== 'number') return undefined;
    if (!v.namespaces || typeof v.namespaces !== 'object') return undefined;
    return v as CriSandboxInfo;
  }
  if (v.kind === 'container') {
    if (typeof v.sandboxId !== 'string' || typeof v.image !== 'string' || typeof v.logPath !== 'string' || !Array.isArray(v.mounts)) return undefined;
    return v as CriContainerInfo;
  }
  return undefined;
}

/** Nanoseconds since the epoch of an RFC 3339 time, as the decimal string protobuf's int64 takes; 0 for Go's zero time. */
export function nanos(rfc3339: string | undefined): string {
  if (!rfc3339 || rfc3339.startsWith('0001-')) return '0';
  const ms = Date.parse(rfc3339);
  if (!Number.isFinite(ms)) return '0';
  // Date keeps milliseconds; the rest of the fraction, when the string has it, is added back.
  const frac = /\.(\d+)/.exec(rfc3339)?.[1] ?? '';
  const subMs = frac.length > 3 ? BigInt(frac.slice(3, 9).padEnd(6, '0')) : 0n;
  return (BigInt(ms) * 1_000_000n + subMs).toString();
}

/** Whether `labels` has every key=value of `selector` (the CRI's label_selector). */
export function matchesSelector(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(selector ?? {})) if (labels[k] !== v) return false;
  return true;
}
