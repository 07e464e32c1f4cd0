/**
 * The protobuf messages berth exchanges with BuildKit clients, written as
 * protobufjs reflection JSON: only the messages and fields berth reads or
 * writes. Field numbers and types are the wire interface of BuildKit's
 * `api/services/control` (moby.buildkit.v1), `frontend/gateway/pb`
 * (moby.buildkit.v1.frontend), `api/types` (worker records), `util/apicaps`,
 * fsutil's `types` (the filesync packets), the session's secrets and
 * sshforward services, containerd's content service
 * (`api/services/content/v1`) and google.rpc.Status. Fields a
 * client sends that are not listed here are skipped by the decoder.
 *
 * `decode` is the trust boundary for every message: malformed wire data,
 * or more fields than a message may have (protobuf-wire.ts), is an
 * InvalidParameterError, never a crash, and 64-bit integers come out as
 * JS numbers (protobufjs would hand out Long objects otherwise).
 */
import protobuf from 'protobufjs';
import { InvalidParameterError, errorMessage } from '../errors.js';
import { checkWire } from '../protobuf-wire.js';

type FieldSpec = { type: string; id: number; rule?: 'repeated'; keyType?: string };
type MessageSpec = { fields: Record<string, FieldSpec>; oneofs?: Record<string, { oneof: string[] }> };

const f = (type: string, id: number): FieldSpec => ({ type, id });
const rep = (type: string, id: number): FieldSpec => ({ type, id, rule: 'repeated' });
const map = (type: string, id: number): FieldSpec => ({ keyType: 'string', type, id });

const MESSAGES: Record<string, MessageSpec> = {
  Timestamp: { fields: { seconds: f('int64', 1), nanos: f('int32', 2) } },

  // moby.buildkit.v1 (Control)
  Exporter: { fields: { Type: f('string', 1), Attrs: map('string', 2) } },
  CacheOptionsEntry: { fields: { Type: f('string', 1), Attrs: map('string', 2) } },
  CacheOptions: { fields: { Exports: rep('CacheOptionsEntry', 4), Imports: rep('CacheOptionsEntry', 5) } },
  SolveRequest: {
    fields: {
      Ref: f('string', 1), Definition: f('bytes', 2), ExporterDeprecated: f('string', 3), ExporterAttrsDeprecated: map('string', 4),
      Session: f('string', 5), Frontend: f('string', 6), FrontendAttrs: map('string', 7), Cache: f('CacheOptions', 8),
      Entitlements: rep('string', 9), Internal: f('bool', 11), Exporters: rep('Exporter', 13),
    },
  },
  SolveResponse: { fields: { ExporterResponse: map('string', 1) } },
  StatusRequest: { fields: { Ref: f('string', 1) } },
  Vertex: {
    fields: {
      digest: f('string', 1), inputs: rep('string', 2), name: f('string', 3), cached: f('bool', 4),
      started: f('Timestamp', 5), completed: f('Timestamp', 6), error: f('string', 7),
    },
  },
  VertexStatus: {
    fields: {
      ID: f('string', 1), vertex: f('string', 2), name: f('string', 3), current: f('int64', 4), total: f('int64', 5),
      timestamp: f('Timestamp', 6), started: f('Timestamp', 7), completed: f('Timestamp', 8),
    },
  },
  VertexLog: { fields: { vertex: f('string', 1), timestamp: f('Timestamp', 2), stream: f('int64', 3), msg: f('bytes', 4) } },
  VertexWarning: { fields: { vertex: f('string', 1), level: f('int64', 2), short: f('bytes', 3), detail: rep('bytes', 4) } },
  StatusResponse: {
    fields: { vertexes: rep('Vertex', 1), statuses: rep('VertexStatus', 2), logs: rep('VertexLog', 3), warnings: rep('VertexWarning', 4) },
  },
  ListWorkersRequest: { fields: { filter: rep('string', 1) } },
  Platform: { fields: { Architecture: f('string', 1), OS: f('string', 2), Variant: f('string', 3) } },
  BuildkitVersion: { fields: { package: f('string', 1), version: f('string', 2), revision: f('string', 3) } },
  GCPolicy: { fields: { all: f('bool', 1), keepDuration: f('int64', 2), keepBytes: f('int64', 3), filters: rep('string', 4) } },
  WorkerRecord: {
    fields: { ID: f('string', 1), Labels: map('string', 2), platforms: rep('Platform', 3), GCPolicy: rep('GCPolicy', 4), BuildkitVersion: f('BuildkitVersion', 5) },
  },
  ListWorkersResponse: { fields: { record: rep('WorkerRecord', 1) } },
  InfoRequest: { fields: {} },
  InfoResponse: { fields: { buildkitVersion: f('BuildkitVersion', 1) } },
  DiskUsageRequest: { fields: { filter: rep('string', 1), ageLimit: f('int64', 2) } },
  UsageRecord: {
    fields: {
      ID: f('string', 1), Mutable: f('bool', 2), InUse: f('bool', 3), Size: f('int64', 4), CreatedAt: f('Timestamp', 6),
      LastUsedAt: f('Timestamp', 7), UsageCount: f('int64', 8), Description: f('string', 9), RecordType: f('string', 10), Shared: f('bool', 11),
      Parents: rep('string', 12),
    },
  },
  DiskUsageResponse: { fields: { record: rep('UsageRecord', 1) } },
  PruneRequest: { fields: { filter: rep('string', 1), all: f('bool', 2), keepDuration: f('int64', 3), keepBytes: f('int64', 4) } },

  // moby.buildkit.v1.frontend (LLBBridge, the gateway buildx drives)
  APICap: { fields: { ID: f('string', 1), Enabled: f('bool', 2) } },
  PingRequest: { fields: {} },
  PongResponse: { fields: { FrontendAPICaps: rep('APICap', 1), LLBCaps: rep('APICap', 2), Workers: rep('WorkerRecord', 3) } },
  GatewaySolveRequest: {
    fields: {
      Frontend: f('string', 2), FrontendOpt: map('string', 3), AllowResultReturn: f('bool', 5), Final: f('bool', 10),
      Evaluate: f('bool', 14), Definition: f('bytes', 1),
    },
  },
  Ref: { fields: { id: f('string', 1) } },
  RefMap: { fields: { refs: map('Ref', 1) } },
  Result: {
    fields: { refDeprecated: f('string', 1), ref: f('Ref', 3), refs: f('RefMap', 4), metadata: map('bytes', 10) },
    oneofs: { result: { oneof: ['refDeprecated', 'ref', 'refs'] } },
  },
  GatewaySolveResponse: { fields: { ref: f('string', 1), result: f('Result', 3) } },
  RpcStatus: { fields: { code: f('int32', 1), message: f('string', 2), details: rep('Any', 3) } },
  ReturnRequest: { fields: { result: f('Result', 1), error: f('RpcStatus', 2) } },
  Empty: { fields: {} },
  // google.rpc.Status with google.protobuf.Any details (the `grpc-status-details-bin` trailer)
  Any: { fields: { type_url: f('string', 1), value: f('bytes', 2) } },
  GoogleRpcStatus: { fields: { code: f('int32', 1), message: f('string', 2), details: rep('Any', 3) } },

  // fsutil.types (filesync DiffCopy)
  Stat: {
    fields: {
      path: f('string', 1), mode: f('uint32', 2), uid: f('uint32', 3), gid: f('uint32', 4), size: f('int64', 5),
      modTime: f('int64', 6), linkname: f('string', 7), devmajor: f('int64', 8), devminor: f('int64', 9),
    },
  },
  Packet: { fields: { type: f('int32', 1), stat: f('Stat', 2), ID: f('uint32', 3), data: f('bytes', 4) } },
  // moby.buildkit.secrets.v1 (Secrets/GetSecret)
  GetSecretRequest: { fields: { ID: f('string', 1), annotations: map('string', 2) } },
  GetSecretResponse: { fields: { data: f('bytes', 1) } },
  // moby.filesync.v1.Auth/Credentials (registry credentials for a push)
  CredentialsRequest: { fields: { Host: f('string', 1) } },
  CredentialsResponse: { fields: { Username: f('string', 1), Secret: f('string', 2) } },
  // moby.filesync.v1.BytesMessage (a tar export's chunks); moby.sshforward.v1's BytesMessage has the same wire form
  BytesMessage: { fields: { data: f('bytes', 1) } },
  // moby.filesync.v1 Auth (registry credentials from the client's docker config)
  // containerd.services.content.v1 (the client's content stores: --cache-to/--cache-from type=local)
  ContentInfo: { fields: { digest: f('string', 1), size: f('int64', 2), labels: map('string', 5) } },
  ContentInfoRequest: { fields: { digest: f('string', 1) } },
  ContentInfoResponse: { fields: { info: f('ContentInfo', 1) } },
  ReadContentRequest: { fields: { digest: f('string', 1), offset: f('int64', 2), size: f('int64', 3) } },
  ReadContentResponse: { fields: { offset: f('int64', 1), data: f('bytes', 2) } },
  WriteContentRequest: {
    fields: { action: f('int32', 1), ref: f('string', 2), total: f('int64', 3), expected: f('string', 4), offset: f('int64', 5), data: f('bytes', 6) },
  },
  WriteContentResponse: { fields: { action: f('int32', 1), offset: f('int64', 4), total: f('int64', 5), digest: f('string', 6) } },
  // moby.sshforward.v1 (SSH/CheckAgent)
  CheckAgentRequest: { fields: { ID: f('string', 1) } },
  CheckAgentResponse: { fields: {} },
};

const root = protobuf.Root.fromJSON({ nested: MESSAGES as unknown as protobuf.INamespace['nested'] });

export type MessageName = keyof typeof MESSAGES & string;

const types = new Map<string, protobuf.Type>();
function typeOf(name: MessageName): protobuf.Type {
  let t = types.get(name);
  if (!t) { t = root.lookupType(name); types.set(name, t); }
  return t;
}

/** Wire bytes of a message given as a plain object (field names as above). */
export function encode(name: MessageName, value: Record<string, unknown>): Buffer {
  const t = typeOf(name);
  return Buffer.from(t.encode(t.fromObject(value)).finish());
}

/**
 * A plain object from wire bytes: absent scalars take their zero value,
 * absent repeated fields and maps are empty, bytes are Buffers, 64-bit
 * integers are numbers. Malformed input throws InvalidParameterError.
 */
export function decode<T = Record<string, unknown>>(name: MessageName, bytes: Uint8Array): T {
  const t = typeOf(name);
  try {
    checkWire(t, bytes);
    return t.toObject(t.decode(bytes), { longs: Number, defaults: true, arrays: true, objects: true, oneofs: true }) as T;
  } catch (e) {
    throw new InvalidParameterError(`malformed ${name} message: ${errorMessage(e)}`);
  }
}

/** A protobuf Timestamp for a time in ms since the epoch. */
export function timestamp(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}
