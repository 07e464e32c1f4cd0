/**
 * berthd's CRI v1 server: runtime.v1.RuntimeService and ImageService over
 * gRPC on a unix socket (`--cri-socket`, default <exec root>/cri.sock), on
 * the same engine as the Docker API. The socket is root's alone (0600): the
 * CRI can bind-mount any host path and run privileged containers.
 *
 * Served: Version, Status, RuntimeConfig, UpdateRuntimeConfig, the pod
 * sandbox and container life cycle, ContainerStatus, UpdateContainerResources,
 * ExecSync, Exec, Attach and PortForward (their URLs point at the
 * streaming server, streaming/server.ts), GetContainerEvents
 * (container-events.ts), and the whole ImageService. Not yet
 * (UNIMPLEMENTED): metrics, checkpoints.
 *
 * The socket itself is listener.ts's, which loads this module (and gRPC,
 * protobufjs, the CRI schema: ~6 MB of berthd's idle RSS) only when the
 * first client connects, and hands each connection here; the streaming
 * server starts with it.
 */
import type { Duplex } from 'node:stream';
import grpc from '@grpc/grpc-js';
import type { Engine } from '../engine/engine.js';
import { BERTH_VERSION } from '../api/system.js';
import { cgroupVersion } from '../runtime/cgroup-version.js';
import { CGROUP_DRIVER } from '../runtime/cgroup-path.js';
import { addStreams, makeService, type Handler, type StreamHandler } from './grpc.js';
import { IMAGE_METHODS, RUNTIME_METHODS, RUNTIME_STREAM_METHODS } from './schema.js';
import { CRI_NETWORK, Pods } from './pods.js';
import { SandboxService } from './sandbox-service.js';
import { ContainerService, resources } from './container-service.js';
import { ImageService } from './image-service.js';
import { idArg } from './validate.js';
import { StatsService } from './stats.js';
import { PodShm } from './pod-shm.js';
import { ContainerEvents } from './container-events.js';
import { StreamingServer } from './streaming/server.js';
import { StreamService } from './streaming/stream-service.js';

/** The CRI API version berth speaks (VersionResponse.version is kubelet's "0.1.0" convention). */
const KUBE_API_VERSION = '0.1.0';
const CRI_API_VERSION = 'v1';
/** Where the streaming server listens unless told: loopback, any free port (kubelet's runtimes do the same). */
export const DEFAULT_STREAM_ADDRESS = '127.0.0.1:0';

export class CriServer {
  private readonly server = new grpc.Server({ 'grpc.max_receive_message_length': 16 * 1024 * 1024 });
  /** gRPC's HTTP/2 server for connections accepted elsewhere (listener.ts). */
  private readonly injector: ReturnType<grpc.Server['createConnectionInjector']>;
  private readonly streaming: StreamingServer;
  private readonly events: ContainerEvents;

  constructor(private readonly engine: Engine, log: (msg: string) => void = (m) => console.error(`berthd: ${m}`)) {
    const pods = new Pods(engine.containers);
    const shm = new PodShm(engine.paths.execRoot);
    const sandboxes = new SandboxService(engine, pods, shm);
    const containers = new ContainerService(engine, pods, shm);
    const images = new ImageService(engine);
    const stats = new StatsService(engine, pods);
    this.streaming = new StreamingServer(engine, log);
    const streams = new StreamService(pods, this.streaming);
    this.events = new ContainerEvents(engine.events, (sandboxId) => ({
      pod: pods.trySandbox(sandboxId) ? sandboxes.status({ podSandboxId: sandboxId }).status : null,
      containers: pods.containersOf(sandboxId).map((c) => containers.status({ containerId: c.rec.Id }).status),
    }), log);
    const runtime: Record<string, Handler> = {
      Version: async () => ({ version: KUBE_API_VERSION, runtimeName: 'berth', runtimeVersion: BERTH_VERSION, runtimeApiVersion: CRI_API_VERSION }),
      Status: async (req) => this.status(!!req.verbose),
      RuntimeConfig: async () => ({ linux: { cgroupDriver: CGROUP_DRIVER.toUpperCase() } }),
      // The pod CIDR is kubelet's to tell; berth's pods take their addresses from the berth-cri network's own pool.
      UpdateRuntimeConfig: async () => ({}),
      RunPodSandbox: (req) => sandboxes.run(req),
      StopPodSandbox: (req) => sandboxes.stop(req),
      RemovePodSandbox: (req) => sandboxes.remove(req),
      PodSandboxStatus: async (req) => sandboxes.status(req),
      ListPodSandbox: async (req) => sandboxes.list(req),
      CreateContainer: (req) => containers.create(req),
      StartContainer: (req) => containers.start(req),
      StopContainer: (req) => containers.stop(req),
      RemoveContainer: (req) => containers.remove(req),
      ListContainers: async (req) => containers.list(req),
      ContainerStatus: async (req) => containers.status(req),
      ExecSync: (req) => containers.execSync(req),
      Exec: async (req) => streams.exec(req),
      Attach: async (req) => streams.attach(req),
      PortForward: async (req) => streams.portForward(req),
      ReopenContainerLog: (req) => containers.reopenLog(req),
      ContainerStats: (req) => stats.one(pods.container(idArg(req.containerId, 'container'))),
      ListContainerStats: (req) => stats.list(req),
      PodSandboxStats: (req) => stats.pod(pods.sandbox(idArg(req.podSandboxId, 'pod sandbox'))),
      ListPodSandboxStats: (req) => stats.listPods(req),
      UpdateContainerResources: async (req) => {
        const c = pods.container(idArg(req.containerId, 'container'));
        await engine.containers.update(c.rec.Id, resources(req.linux));
        return {};
      },
    };
    const image: Record<string, Handler> = {
      ListImages: async (req) => images.list(req),
      ImageStatus: async (req) => images.status(req),
      PullImage: (req) => images.pull(req),
      RemoveImage: (req) => images.remove(req),
      ImageFsInfo: () => images.fsInfo(),
    };
    const runtimeStreams: Record<string, StreamHandler> = {
      GetContainerEvents: (_req, out) => this.events.serve(out),
    };
    for (const [name, methods, handlers] of [['RuntimeService', RUNTIME_METHODS, runtime], ['ImageService', IMAGE_METHODS, image]] as const) {
      const s = makeService(name, methods, handlers, log);
      if (name === 'RuntimeService') addStreams(name, s, RUNTIME_STREAM_METHODS, runtimeStreams, log);
      this.server.addService(s.definition, s.implementation);
    }
    this.injector = this.server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  }

  /** Serves gRPC on a connection accepted on the CRI socket. */
  serve(connection: Duplex): void {
    this.injector.injectConnection(connection);
  }

  private status(verbose: boolean): Record<string, unknown> {
    return {
      status: {
        conditions: [
          { type: 'RuntimeReady', status: true, reason: '', message: '' },
          // The pod network is berth's own bridge, made on the first pod: nothing for kubelet to wait for.
          { type: 'NetworkReady', status: true, reason: '', message: '' },
        ],
      },
      info: verbose ? {
        config: JSON.stringify({
          runtime: this.engine.runtimes.defaultName, network: CRI_NETWORK, cgroupDriver: CGROUP_DRIVER, cgroupVersion: cgroupVersion(),
          dataRoot: this.engine.paths.dataRoot, execRoot: this.engine.paths.execRoot,
        }),
        // GetContainerEvents streams open now: one per kubelet (Evented PLEG) or `crictl events`.
        containerEventClients: String(this.events.clientCount),
      } : {},
    };
  }

  /** Starts the streaming server on `address` (host:port) whose URLs Exec, Attach and PortForward return. */
  listenStreaming(address: string): Promise<void> {
    return this.streaming.listen(address);
  }

  /** Ends every connection it serves. */
  async close(): Promise<void> {
    this.server.forceShutdown();
    await this.streaming.close();
  }
}
