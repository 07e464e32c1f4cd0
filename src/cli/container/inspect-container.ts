/**
 * The container inspect data the client needs before acting: `Config.Tty`
 * (stream framing), `Config.OpenStdin`, state checks for attach, the ID.
 */
import type { ApiClient } from '../client.js';
import { apiPath } from '../client.js';

export interface ContainerInspect {
  Id: string;
  Name?: string;
  State: { Status?: string; Running: boolean; Paused: boolean; Restarting: boolean };
  Config: { Tty: boolean; OpenStdin: boolean; [k: string]: unknown };
  HostConfig: { AutoRemove?: boolean; [k: string]: unknown };
  NetworkSettings?: { Ports?: Record<string, { HostIp: string; HostPort: string }[] | null> | null; [k: string]: unknown };
  [k: string]: unknown;
}

export function inspectContainer(client: ApiClient, name: string): Promise<ContainerInspect> {
  return client.json<ContainerInspect>('GET', apiPath`/containers/${name}/json`);
}
