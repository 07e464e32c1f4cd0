/**
 * Which daemon the CLI talks to: `-H/--host`, else `BERTH_HOST`, else
 * `DOCKER_HOST` (so `alias docker=berth` keeps working in an environment set
 * up for Docker), else berthd's default socket.
 */
import { StatusError } from './errors.js';

export const DEFAULT_HOST = 'unix:///run/berth/berth.sock';

export interface DaemonAddress {
  /** As given, for messages: `unix:///run/berth/berth.sock`. */
  host: string;
  socketPath: string;
}

export function resolveHost(flagHosts: readonly string[], env: NodeJS.ProcessEnv): DaemonAddress {
  if (flagHosts.length > 1) throw new StatusError(1, 'Specify only one -H');
  const host = flagHosts[0] || env.BERTH_HOST || env.DOCKER_HOST || DEFAULT_HOST;
  return parseHost(host);
}

export function parseHost(host: string): DaemonAddress {
  if (host.startsWith('unix://')) {
    const socketPath = host.slice('unix://'.length);
    if (!socketPath) throw new StatusError(1, `invalid host: ${host}: empty socket path`);
    return { host, socketPath };
  }
  if (host.startsWith('/')) return { host: `unix://${host}`, socketPath: host };
  if (host.startsWith('tcp://') || host.startsWith('ssh://') || host.startsWith('npipe://') || host.startsWith('fd://')) {
    throw new StatusError(1, `unsupported host ${host}: berth only connects to unix:// sockets for now`);
  }
  throw new StatusError(1, `unable to parse docker host \`${host}\``);
}
