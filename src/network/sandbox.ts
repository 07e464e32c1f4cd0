/**
 * A running container's network sandbox — its namespace, its endpoints (one
 * per network, each with the exact netavark options its setup got), and its
 * published ports — kept as one JSON file per container in the exec root
 * (`<exec-root>/n/<id>.json`). The file is written before each netavark
 * setup and removed after the last teardown, so a berthd that crashed or
 * restarted in between can still undo exactly what was done; like the
 * namespace itself, it does not outlive a reboot.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NetworkOptions } from './netavark.js';
import type { PublishedPort } from './ports.js';

/** One network interface of a container (Docker's endpoint). */
export interface Endpoint {
  networkId: string;
  networkName: string;
  endpointId: string;
  interfaceName: string;
  ipAddress: string;
  prefixLen: number;
  gateway: string;
  /** The global IPv6 address, its prefix length and gateway, on networks with IPv6 (absent otherwise). */
  ipv6Address?: string;
  prefixLen6?: number;
  gateway6?: string;
  macAddress: string;
  /** The user's aliases (`--network-alias`). */
  aliases: string[];
  /** Every name aardvark-dns answers for this container on the network. */
  dnsNames: string[];
  /** aardvark-dns's addresses for this network, when it serves names there. */
  dnsServers: string[];
  /** What netavark setup got; teardown gets the same. */
  options: NetworkOptions;
  /** False until netavark setup succeeded. */
  ready: boolean;
}

export interface Sandbox {
  containerId: string;
  sandboxId: string;
  netnsName: string;
  netnsPath: string;
  endpoints: Endpoint[];
  ports: PublishedPort[];
}

/**
 * The sandboxes of this daemon's containers, in memory and in their files.
 * `load` reads back what the exec root holds after a berthd restart.
 */
export class Sandboxes {
  private readonly byContainer = new Map<string, Sandbox>();

  constructor(readonly dir: string) {}

  private path(containerId: string): string { return join(this.dir, `${containerId}.json`); }

  get(containerId: string): Sandbox | undefined { return this.byContainer.get(containerId); }
  all(): Sandbox[] { return [...this.byContainer.values()]; }

  /** Records the sandbox; the file is written atomically (temp file + rename), so a crash leaves the old or the new state. */
  save(sb: Sandbox): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path(sb.containerId)}.tmp`;
    writeFileSync(tmp, JSON.stringify(sb));
    renameSync(tmp, this.path(sb.containerId));
    this.byContainer.set(sb.containerId, sb);
  }

  delete(containerId: string): void {
    rmSync(this.path(containerId), { force: true });
    this.byContainer.delete(containerId);
  }

  load(): Sandbox[] {
    let names: string[];
    try { names = readdirSync(this.dir); } catch { return []; }
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      try {
        const sb = JSON.parse(readFileSync(join(this.dir, n), 'utf8')) as Sandbox;
        this.byContainer.set(sb.containerId, sb);
      } catch { /* torn write: the .tmp never replaced it */ }
    }
    return this.all();
  }
}
