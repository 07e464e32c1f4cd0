/**
 * berth's own description of the part of the CRI v1 wire format it serves
 * (package `runtime.v1`, services RuntimeService and ImageService of
 * k8s.io/cri-api). Field numbers and types are the interface kubelet and
 * crictl speak; names are camelCase because that is how the handlers read
 * them. Only the messages berth serves are here: protobuf skips fields a
 * decoder does not know, so a request's Windows or user-namespace parts are
 * ignored by construction, never misread.
 *
 * The notation: `[number, type]` is a field, `[number, type, 'repeated']` a
 * list, `[number, 'map']` a map<string,string>. Types are protobuf scalars or
 * names of messages and enums below.
 */
import protobuf from 'protobufjs';

type Field = [number, string] | [number, string, 'repeated'] | [number, 'map'];
type Fields = Record<string, Field>;

const ENUMS: Record<string, Record<string, number>> = {
  Protocol: { TCP: 0, UDP: 1, SCTP: 2 },
  MountPropagation: { PROPAGATION_PRIVATE: 0, PROPAGATION_HOST_TO_CONTAINER: 1, PROPAGATION_BIDIRECTIONAL: 2 },
  NamespaceMode: { POD: 0, CONTAINER: 1, NODE: 2, TARGET: 3 },
  ProfileType: { RuntimeDefault: 0, Unconfined: 1, Localhost: 2 },
  PodSandboxState: { SANDBOX_READY: 0, SANDBOX_NOTREADY: 1 },
  ContainerState: { CONTAINER_CREATED: 0, CONTAINER_RUNNING: 1, CONTAINER_EXITED: 2, CONTAINER_UNKNOWN: 3 },
  CgroupDriver: { SYSTEMD: 0, CGROUPFS: 1 },
  ContainerEventType: { CONTAINER_CREATED_EVENT: 0, CONTAINER_STARTED_EVENT: 1, CONTAINER_STOPPED_EVENT: 2, CONTAINER_DELETED_EVENT: 3 },
};

const MESSAGES: Record<string, Fields> = {
  // ------------------------------------------------------------ shared pieces
  Int64Value: { value: [1, 'int64'] },
  UInt64Value: { value: [1, 'uint64'] },
  KeyValue: { key: [1, 'string'], value: [2, 'string'] },
  DNSConfig: { servers: [1, 'string', 'repeated'], searches: [2, 'string', 'repeated'], options: [3, 'string', 'repeated'] },
  PortMapping: { protocol: [1, 'Protocol'], containerPort: [2, 'int32'], hostPort: [3, 'int32'], hostIp: [4, 'string'] },
  IDMapping: { hostId: [1, 'uint32'], containerId: [2, 'uint32'], length: [3, 'uint32'] },
  Mount: {
    containerPath: [1, 'string'], hostPath: [2, 'string'], readonly: [3, 'bool'], selinuxRelabel: [4, 'bool'],
    propagation: [5, 'MountPropagation'], uidMappings: [6, 'IDMapping', 'repeated'], gidMappings: [7, 'IDMapping', 'repeated'],
  },
  UserNamespace: { mode: [1, 'NamespaceMode'], uids: [2, 'IDMapping', 'repeated'], gids: [3, 'IDMapping', 'repeated'] },
  NamespaceOption: {
    network: [1, 'NamespaceMode'], pid: [2, 'NamespaceMode'], ipc: [3, 'NamespaceMode'], targetId: [4, 'string'], usernsOptions: [5, 'UserNamespace'],
  },
  SELinuxOption: { user: [1, 'string'], role: [2, 'string'], type: [3, 'string'], level: [4, 'string'] },
  SecurityProfile: { profileType: [1, 'ProfileType'], localhostRef: [2, 'string'] },
  Capability: { addCapabilities: [1, 'string', 'repeated'], dropCapabilities: [2, 'string', 'repeated'], addAmbientCapabilities: [3, 'string', 'repeated'] },
  HugepageLimit: { pageSize: [1, 'string'], limit: [2, 'uint64'] },
  LinuxContainerResources: {
    cpuPeriod: [1, 'int64'], cpuQuota: [2, 'int64'], cpuShares: [3, 'int64'], memoryLimitInBytes: [4, 'int64'], oomScoreAdj: [5, 'int64'],
    cpusetCpus: [6, 'string'], cpusetMems: [7, 'string'], hugepageLimits: [8, 'HugepageLimit', 'repeated'], unified: [9, 'map'],
    memorySwapLimitInBytes: [10, 'int64'],
  },
  ImageSpec: { image: [1, 'string'], annotations: [2, 'map'], userSpecifiedImage: [18, 'string'], runtimeHandler: [19, 'string'] },

  // ------------------------------------------------------------ version, status
  VersionRequest: { version: [1, 'string'] },
  VersionResponse: { version: [1, 'string'], runtimeName: [2, 'string'], runtimeVersion: [3, 'string'], runtimeApiVersion: [4, 'string'] },
  StatusRequest: { verbose: [1, 'bool'] },
  RuntimeCondition: { type: [1, 'string'], status: [2, 'bool'], reason: [3, 'string'], message: [4, 'string'] },
  RuntimeStatus: { conditions: [1, 'RuntimeCondition', 'repeated'] },
  StatusResponse: { status: [1, 'RuntimeStatus'], info: [2, 'map'] },
  RuntimeConfigRequest: {},
  LinuxRuntimeConfiguration: { cgroupDriver: [1, 'CgroupDriver'] },
  RuntimeConfigResponse: { linux: [1, 'LinuxRuntimeConfiguration'] },
  NetworkConfig: { podCidr: [1, 'string'] },
  RuntimeConfig: { networkConfig: [1, 'NetworkConfig'] },
  UpdateRuntimeConfigRequest: { runtimeConfig: [1, 'RuntimeConfig'] },
  UpdateRuntimeConfigResponse: {},

  // ------------------------------------------------------------ pod sandboxes
  LinuxSandboxSecurityContext: {
    namespaceOptions: [1, 'NamespaceOption'], selinuxOptions: [2, 'SELinuxOption'], runAsUser: [3, 'Int64Value'], readonlyRootfs: [4, 'bool'],
    supplementalGroups: [5, 'int64', 'repeated'], privileged: [6, 'bool'], seccompProfilePath: [7, 'string'], runAsGroup: [8, 'Int64Value'],
    seccomp: [9, 'SecurityProfile'], apparmor: [10, 'SecurityProfile'],
  },
  LinuxPodSandboxConfig: {
    cgroupParent: [1, 'string'], securityContext: [2, 'LinuxSandboxSecurityContext'], sysctls: [3, 'map'],
    overhead: [4, 'LinuxContainerResources'], resources: [5, 'LinuxContainerResources'],
  },
  PodSandboxMetadata: { name: [1, 'string'], uid: [2, 'string'], namespace: [3, 'string'], attempt: [4, 'uint32'] },
  PodSandboxConfig: {
    metadata: [1, 'PodSandboxMetadata'], hostname: [2, 'string'], logDirectory: [3, 'string'], dnsConfig: [4, 'DNSConfig'],
    portMappings: [5, 'PortMapping', 'repeated'], labels: [6, 'map'], annotations: [7, 'map'], linux: [8, 'LinuxPodSandboxConfig'],
  },
  RunPodSandboxRequest: { config: [1, 'PodSandboxConfig'], runtimeHandler: [2, 'string'] },
  RunPodSandboxResponse: { podSandboxId: [1, 'string'] },
  StopPodSandboxRequest: { podSandboxId: [1, 'string'] },
  StopPodSandboxResponse: {},
  RemovePodSandboxRequest: { podSandboxId: [1, 'string'] },
  RemovePodSandboxResponse: {},
  PodSandboxStatusRequest: { podSandboxId: [1, 'string'], verbose: [2, 'bool'] },
  PodIP: { ip: [1, 'string'] },
  PodSandboxNetworkStatus: { ip: [1, 'string'], additionalIps: [2, 'PodIP', 'repeated'] },
  Namespace: { options: [2, 'NamespaceOption'] },
  LinuxPodSandboxStatus: { namespaces: [1, 'Namespace'] },
  PodSandboxStatus: {
    id: [1, 'string'], metadata: [2, 'PodSandboxMetadata'], state: [3, 'PodSandboxState'], createdAt: [4, 'int64'],
    network: [5, 'PodSandboxNetworkStatus'], linux: [6, 'LinuxPodSandboxStatus'], labels: [7, 'map'], annotations: [8, 'map'],
    runtimeHandler: [9, 'string'],
  },
  PodSandboxStatusResponse: { status: [1, 'PodSandboxStatus'], info: [2, 'map'], containersStatuses: [3, 'ContainerStatus', 'repeated'], timestamp: [4, 'int64'] },
  PodSandboxStateValue: { state: [1, 'PodSandboxState'] },
  PodSandboxFilter: { id: [1, 'string'], state: [2, 'PodSandboxStateValue'], labelSelector: [3, 'map'] },
  ListPodSandboxRequest: { filter: [1, 'PodSandboxFilter'] },
  PodSandbox: {
    id: [1, 'string'], metadata: [2, 'PodSandboxMetadata'], state: [3, 'PodSandboxState'], createdAt: [4, 'int64'],
    labels: [5, 'map'], annotations: [6, 'map'], runtimeHandler: [7, 'string'],
  },
  ListPodSandboxResponse: { items: [1, 'PodSandbox', 'repeated'] },

  // ------------------------------------------------------------ containers
  LinuxContainerSecurityContext: {
    capabilities: [1, 'Capability'], privileged: [2, 'bool'], namespaceOptions: [3, 'NamespaceOption'], selinuxOptions: [4, 'SELinuxOption'],
    runAsUser: [5, 'Int64Value'], runAsUsername: [6, 'string'], readonlyRootfs: [7, 'bool'], supplementalGroups: [8, 'int64', 'repeated'],
    apparmorProfile: [9, 'string'], seccompProfilePath: [10, 'string'], noNewPrivs: [11, 'bool'], runAsGroup: [12, 'Int64Value'],
    maskedPaths: [13, 'string', 'repeated'], readonlyPaths: [14, 'string', 'repeated'], seccomp: [15, 'SecurityProfile'], apparmor: [16, 'SecurityProfile'],
  },
  LinuxContainerConfig: { resources: [1, 'LinuxContainerResources'], securityContext: [2, 'LinuxContainerSecurityContext'] },
  ContainerMetadata: { name: [1, 'string'], attempt: [2, 'uint32'] },
  Device: { containerPath: [1, 'string'], hostPath: [2, 'string'], permissions: [3, 'string'] },
  CDIDevice: { name: [1, 'string'] },
  ContainerConfig: {
    metadata: [1, 'ContainerMetadata'], image: [2, 'ImageSpec'], command: [3, 'string', 'repeated'], args: [4, 'string', 'repeated'],
    workingDir: [5, 'string'], envs: [6, 'KeyValue', 'repeated'], mounts: [7, 'Mount', 'repeated'], devices: [8, 'Device', 'repeated'],
    labels: [9, 'map'], annotations: [10, 'map'], logPath: [11, 'string'], stdin: [12, 'bool'], stdinOnce: [13, 'bool'], tty: [14, 'bool'],
    linux: [15, 'LinuxContainerConfig'], cdiDevices: [17, 'CDIDevice', 'repeated'],
  },
  CreateContainerRequest: { podSandboxId: [1, 'string'], config: [2, 'ContainerConfig'], sandboxConfig: [3, 'PodSandboxConfig'] },
  CreateContainerResponse: { containerId: [1, 'string'] },
  StartContainerRequest: { containerId: [1, 'string'] },
  StartContainerResponse: {},
  StopContainerRequest: { containerId: [1, 'string'], timeout: [2, 'int64'] },
  StopContainerResponse: {},
  RemoveContainerRequest: { containerId: [1, 'string'] },
  RemoveContainerResponse: {},
  ContainerStateValue: { state: [1, 'ContainerState'] },
  ContainerFilter: { id: [1, 'string'], state: [2, 'ContainerStateValue'], podSandboxId: [3, 'string'], labelSelector: [4, 'map'] },
  ListContainersRequest: { filter: [1, 'ContainerFilter'] },
  Container: {
    id: [1, 'string'], podSandboxId: [2, 'string'], metadata: [3, 'ContainerMetadata'], image: [4, 'ImageSpec'], imageRef: [5, 'string'],
    state: [6, 'ContainerState'], createdAt: [7, 'int64'], labels: [8, 'map'], annotations: [9, 'map'],
  },
  ListContainersResponse: { containers: [1, 'Container', 'repeated'] },
  ContainerStatusRequest: { containerId: [1, 'string'], verbose: [2, 'bool'] },
  ContainerResources: { linux: [1, 'LinuxContainerResources'] },
  ContainerStatus: {
    id: [1, 'string'], metadata: [2, 'ContainerMetadata'], state: [3, 'ContainerState'], createdAt: [4, 'int64'], startedAt: [5, 'int64'],
    finishedAt: [6, 'int64'], exitCode: [7, 'int32'], image: [8, 'ImageSpec'], imageRef: [9, 'string'], reason: [10, 'string'],
    message: [11, 'string'], labels: [12, 'map'], annotations: [13, 'map'], mounts: [14, 'Mount', 'repeated'], logPath: [15, 'string'],
    resources: [16, 'ContainerResources'],
  },
  ContainerStatusResponse: { status: [1, 'ContainerStatus'], info: [2, 'map'] },
  UpdateContainerResourcesRequest: { containerId: [1, 'string'], linux: [2, 'LinuxContainerResources'], annotations: [4, 'map'] },
  UpdateContainerResourcesResponse: {},
  ReopenContainerLogRequest: { containerId: [1, 'string'] },
  ReopenContainerLogResponse: {},
  ExecSyncRequest: { containerId: [1, 'string'], cmd: [2, 'string', 'repeated'], timeout: [3, 'int64'] },
  ExecSyncResponse: { stdout: [1, 'bytes'], stderr: [2, 'bytes'], exitCode: [3, 'int32'] },
  ExecRequest: { containerId: [1, 'string'], cmd: [2, 'string', 'repeated'], tty: [3, 'bool'], stdin: [4, 'bool'], stdout: [5, 'bool'], stderr: [6, 'bool'] },
  ExecResponse: { url: [1, 'string'] },
  AttachRequest: { containerId: [1, 'string'], stdin: [2, 'bool'], tty: [3, 'bool'], stdout: [4, 'bool'], stderr: [5, 'bool'] },
  AttachResponse: { url: [1, 'string'] },
  PortForwardRequest: { podSandboxId: [1, 'string'], port: [2, 'int32', 'repeated'] },
  PortForwardResponse: { url: [1, 'string'] },

  // ------------------------------------------------------------ stats
  ContainerStatsRequest: { containerId: [1, 'string'] },
  ContainerStatsFilter: { id: [1, 'string'], podSandboxId: [2, 'string'], labelSelector: [3, 'map'] },
  ListContainerStatsRequest: { filter: [1, 'ContainerStatsFilter'] },
  ContainerAttributes: { id: [1, 'string'], metadata: [2, 'ContainerMetadata'], labels: [3, 'map'], annotations: [4, 'map'] },
  CpuUsage: { timestamp: [1, 'int64'], usageCoreNanoSeconds: [2, 'UInt64Value'], usageNanoCores: [3, 'UInt64Value'] },
  MemoryUsage: {
    timestamp: [1, 'int64'], workingSetBytes: [2, 'UInt64Value'], availableBytes: [3, 'UInt64Value'], usageBytes: [4, 'UInt64Value'],
    rssBytes: [5, 'UInt64Value'], pageFaults: [6, 'UInt64Value'], majorPageFaults: [7, 'UInt64Value'],
  },
  ContainerStats: { attributes: [1, 'ContainerAttributes'], cpu: [2, 'CpuUsage'], memory: [3, 'MemoryUsage'], writableLayer: [4, 'FilesystemUsage'] },
  ContainerStatsResponse: { stats: [1, 'ContainerStats'] },
  ListContainerStatsResponse: { stats: [1, 'ContainerStats', 'repeated'] },
  PodSandboxStatsRequest: { podSandboxId: [1, 'string'] },
  PodSandboxStatsFilter: { id: [1, 'string'], labelSelector: [2, 'map'] },
  ListPodSandboxStatsRequest: { filter: [1, 'PodSandboxStatsFilter'] },
  PodSandboxAttributes: { id: [1, 'string'], metadata: [2, 'PodSandboxMetadata'], labels: [3, 'map'], annotations: [4, 'map'] },
  NetworkInterfaceUsage: {
    name: [1, 'string'], rxBytes: [2, 'UInt64Value'], rxErrors: [3, 'UInt64Value'], txBytes: [4, 'UInt64Value'], txErrors: [5, 'UInt64Value'],
  },
  NetworkUsage: { timestamp: [1, 'int64'], defaultInterface: [2, 'NetworkInterfaceUsage'], interfaces: [3, 'NetworkInterfaceUsage', 'repeated'] },
  ProcessUsage: { timestamp: [1, 'int64'], processCount: [2, 'UInt64Value'] },
  LinuxPodSandboxStats: {
    cpu: [1, 'CpuUsage'], memory: [2, 'MemoryUsage'], network: [3, 'NetworkUsage'], process: [4, 'ProcessUsage'], containers: [5, 'ContainerStats', 'repeated'],
  },
  PodSandboxStats: { attributes: [1, 'PodSandboxAttributes'], linux: [2, 'LinuxPodSandboxStats'] },
  PodSandboxStatsResponse: { stats: [1, 'PodSandboxStats'] },
  ListPodSandboxStatsResponse: { stats: [1, 'PodSandboxStats', 'repeated'] },

  // ------------------------------------------------------------ events
  GetEventsRequest: {},
  ContainerEventResponse: {
    containerId: [1, 'string'], containerEventType: [2, 'ContainerEventType'], createdAt: [3, 'int64'],
    podSandboxStatus: [4, 'PodSandboxStatus'], containersStatuses: [5, 'ContainerStatus', 'repeated'],
  },

  // ------------------------------------------------------------ images
  ImageFilter: { image: [1, 'ImageSpec'] },
  ListImagesRequest: { filter: [1, 'ImageFilter'] },
  Image: {
    id: [1, 'string'], repoTags: [2, 'string', 'repeated'], repoDigests: [3, 'string', 'repeated'], size: [4, 'uint64'],
    uid: [5, 'Int64Value'], username: [6, 'string'], spec: [7, 'ImageSpec'], pinned: [8, 'bool'],
  },
  ListImagesResponse: { images: [1, 'Image', 'repeated'] },
  ImageStatusRequest: { image: [1, 'ImageSpec'], verbose: [2, 'bool'] },
  ImageStatusResponse: { image: [1, 'Image'], info: [2, 'map'] },
  AuthConfig: {
    username: [1, 'string'], password: [2, 'string'], auth: [3, 'string'], serverAddress: [4, 'string'],
    identityToken: [5, 'string'], registryToken: [6, 'string'],
  },
  PullImageRequest: { image: [1, 'ImageSpec'], auth: [2, 'AuthConfig'], sandboxConfig: [3, 'PodSandboxConfig'] },
  PullImageResponse: { imageRef: [1, 'string'] },
  RemoveImageRequest: { image: [1, 'ImageSpec'] },
  RemoveImageResponse: {},
  ImageFsInfoRequest: {},
  FilesystemIdentifier: { mountpoint: [1, 'string'] },
  FilesystemUsage: { timestamp: [1, 'int64'], fsId: [2, 'FilesystemIdentifier'], usedBytes: [3, 'UInt64Value'], inodesUsed: [4, 'UInt64Value'] },
  ImageFsInfoResponse: { imageFilesystems: [1, 'FilesystemUsage', 'repeated'], containerFilesystems: [2, 'FilesystemUsage', 'repeated'] },
};

/** RPC name → [request type, response type], per service. Methods not listed answer UNIMPLEMENTED. */
export const RUNTIME_METHODS = {
  Version: ['VersionRequest', 'VersionResponse'],
  RunPodSandbox: ['RunPodSandboxRequest', 'RunPodSandboxResponse'],
  StopPodSandbox: ['StopPodSandboxRequest', 'StopPodSandboxResponse'],
  RemovePodSandbox: ['RemovePodSandboxRequest', 'RemovePodSandboxResponse'],
  PodSandboxStatus: ['PodSandboxStatusRequest', 'PodSandboxStatusResponse'],
  ListPodSandbox: ['ListPodSandboxRequest', 'ListPodSandboxResponse'],
  CreateContainer: ['CreateContainerRequest', 'CreateContainerResponse'],
  StartContainer: ['StartContainerRequest', 'StartContainerResponse'],
  StopContainer: ['StopContainerRequest', 'StopContainerResponse'],
  RemoveContainer: ['RemoveContainerRequest', 'RemoveContainerResponse'],
  ListContainers: ['ListContainersRequest', 'ListContainersResponse'],
  ContainerStatus: ['ContainerStatusRequest', 'ContainerStatusResponse'],
  UpdateContainerResources: ['UpdateContainerResourcesRequest', 'UpdateContainerResourcesResponse'],
  ReopenContainerLog: ['ReopenContainerLogRequest', 'ReopenContainerLogResponse'],
  ExecSync: ['ExecSyncRequest', 'ExecSyncResponse'],
  Exec: ['ExecRequest', 'ExecResponse'],
  Attach: ['AttachRequest', 'AttachResponse'],
  PortForward: ['PortForwardRequest', 'PortForwardResponse'],
  ContainerStats: ['ContainerStatsRequest', 'ContainerStatsResponse'],
  ListContainerStats: ['ListContainerStatsRequest', 'ListContainerStatsResponse'],
  PodSandboxStats: ['PodSandboxStatsRequest', 'PodSandboxStatsResponse'],
  ListPodSandboxStats: ['ListPodSandboxStatsRequest', 'ListPodSandboxStatsResponse'],
  UpdateRuntimeConfig: ['UpdateRuntimeConfigRequest', 'UpdateRuntimeConfigResponse'],
  Status: ['StatusRequest', 'StatusResponse'],
  RuntimeConfig: ['RuntimeConfigRequest', 'RuntimeConfigResponse'],
} as const;

/** Server-streaming RPCs: RPC name → [request type, type of each message of the reply stream]. */
export const RUNTIME_STREAM_METHODS = {
  GetContainerEvents: ['GetEventsRequest', 'ContainerEventResponse'],
} as const;

export const IMAGE_METHODS = {
  ListImages: ['ListImagesRequest', 'ListImagesResponse'],
  ImageStatus: ['ImageStatusRequest', 'ImageStatusResponse'],
  PullImage: ['PullImageRequest', 'PullImageResponse'],
  RemoveImage: ['RemoveImageRequest', 'RemoveImageResponse'],
  ImageFsInfo: ['ImageFsInfoRequest', 'ImageFsInfoResponse'],
} as const;

export const PACKAGE = 'runtime.v1';

function descriptor(): protobuf.INamespace {
  const nested: Record<string, protobuf.AnyNestedObject> = {};
  for (const [name, values] of Object.entries(ENUMS)) nested[name] = { values };
  for (const [name, fields] of Object.entries(MESSAGES)) {
    const out: Record<string, protobuf.IField & { keyType?: string; rule?: string }> = {};
    for (const [fname, f] of Object.entries(fields)) {
      if (f[1] === 'map') out[fname] = { id: f[0], type: 'string', keyType: 'string' };
      else out[fname] = { id: f[0], type: f[1], ...(f[2] ? { rule: 'repeated' } : {}) };
    }
    nested[name] = { fields: out } as protobuf.AnyNestedObject;
  }
  return { nested: { runtime: { nested: { v1: { nested } } } } };
}

/** The resolved types, built once: `lookup('VersionRequest')`. */
export const ROOT = protobuf.Root.fromJSON(descriptor()).resolveAll();

export function messageType(name: string): protobuf.Type {
  return ROOT.lookupType(`${PACKAGE}.${name}`);
}
