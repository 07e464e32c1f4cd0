/**
 * Network fault injection (berth's own API, no Docker counterpart): faults
 * added to a running container — partitions from other containers, packet
 * loss, a bandwidth cap, a delay — listed and removed again.
 *
 * A container's faults are kept as one JSON file in the exec root
 * (`faults/<id>.json`, with the pid of the init they were applied for) and
 * each change re-applies the whole list to its namespace (fault-apply.ts),
 * so what the kernel does is always exactly what the file says. Faults last
 * while the container runs: its namespace, and every rule in it, go when it
 * stops; a file for another pid is stale and reads as no faults.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError } from '../errors.js';
import { applyFaults } from '../network/fault-apply.js';
import { isAddressPeer, normalizeRequest, replacesOnAdd, type Fault } from '../network/fault-rules.js';
import type { Sandboxes } from '../network/sandbox.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { ContainerAccess } from './endpoints.js';

interface FaultFile {
  pid: number;
  faults: Fault[];
}

/** A fault with the container it is on, for `GET /faults`. */
export type ContainerFault = Fault & { Container: string; ContainerName: string };

export class FaultService {
  constructor(
    private readonly containers: () => ContainerAccess & { all(): ContainerRecord[] },
    private readonly sandboxes: Sandboxes,
    private readonly dir: string,
  ) {}

  private file(id: string): string { return join(this.dir, `${id}.json`); }

  private read(c: ContainerRecord): Fault[] {
    try {
      const f = JSON.parse(readFileSync(this.file(c.Id), 'utf8')) as FaultFile;
      return c.State.Running && f.pid === c.State.Pid ? f.faults : [];
    } catch {
      return [];
    }
  }

  private write(c: ContainerRecord, faults: Fault[]): void {
    if (!faults.length) { this.forget(c.Id); return; }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(c.Id)}.tmp`;
    writeFileSync(tmp, JSON.stringify({ pid: c.State.Pid, faults } satisfies FaultFile));
    renameSync(tmp, this.file(c.Id));
  }

  /** Drops a container's file (it stopped or went away). */
  forget(containerId: string): void {
    rmSync(this.file(containerId), { force: true });
  }

  /** Files of containers that are not running any more (a daemon that was down when they stopped). */
  sweep(): void {
    let names: string[];
    try { names = readdirSync(this.dir); } catch { return; }
    const running = new Set(this.containers().all().filter((c) => c.State.Running).map((c) => c.Id));
    for (const n of names) if (!running.has(n.replace(/\.json(\.tmp)?$/, ''))) rmSync(join(this.dir, n), { force: true });
  }

  list(ref: string): Fault[] {
    return this.read(this.containers().lookup(ref));
  }

  listAll(): ContainerFault[] {
    return this.containers().all().flatMap((c) => this.read(c).map((f) => ({ Container: c.Id, ContainerName: c.Name, ...f })));
  }

  async add(ref: string, request: unknown): Promise<Fault> {
    const req = normalizeRequest(request);
    return this.containers().exclusive(ref, async (c) => {
      const netns = this.namespaceOf(c);
      const fault: Fault = { Id: randomBytes(6).toString('hex'), ...req };
      if (req.Peers?.length) fault.Addresses = this.addressesOf(c, req.Peers);
      const interfaces = this.interfacesOf(c);
      if ((req.Kind === 'rate' || req.Kind === 'delay') && !interfaces.length) {
        throw new InvalidParameterError(`container ${c.Name} has no network interface to shape (network mode ${c.HostConfig.NetworkMode})`);
      }
      const before = this.read(c);
      const faults = [...before.filter((f) => !replacesOnAdd(f, req)), fault];
      try {
        await applyFaults(netns, interfaces, faults);
      } catch (e) {
        // Back to what the file says (a qdisc the kernel refused after the rules changed).
        await applyFaults(netns, interfaces, before).catch(() => undefined);
        throw e;
      }
      this.write(c, faults);
      return fault;
    });
  }

  /** Removes one fault (`faultId`), or all of them. */
  async remove(ref: string, faultId?: string): Promise<void> {
    await this.containers().exclusive(ref, async (c) => {
      const current = this.read(c);
      if (faultId !== undefined && !current.some((f) => f.Id === faultId)) throw new NotFoundError(`No such fault: ${faultId}`);
      if (!current.length) return;
      const faults = faultId === undefined ? [] : current.filter((f) => f.Id !== faultId);
      await applyFaults(this.namespaceOf(c), this.interfacesOf(c), faults);
      this.write(c, faults);
    });
  }

  /** The namespace of a running container that has one of its own. */
  private namespaceOf(c: ContainerRecord): string {
    if (!c.State.Running || !c.State.Pid) throw new ConflictError(`Container ${c.Id} is not running`);
    const mode: string = c.HostConfig.NetworkMode;
    if (mode === 'host') throw new InvalidParameterError(`container ${c.Name} uses the host's network: a fault there would hit the host`);
    if (mode.startsWith('container:')) {
      throw new InvalidParameterError(`container ${c.Name} shares the network of ${mode.slice('container:'.length)}: add the fault to that container`);
    }
    return `/proc/${c.State.Pid}/ns/net`;
  }

  private interfacesOf(c: ContainerRecord): string[] {
    return (this.sandboxes.get(c.Id)?.endpoints ?? []).filter((ep) => ep.ready).map((ep) => ep.interfaceName);
  }

  /** IPv4 addresses the peers stand for now: a container's on every network, or an address as given. */
  private addressesOf(c: ContainerRecord, peers: string[]): string[] {
    const out = new Set<string>();
    for (const peer of peers) {
      if (isAddressPeer(peer)) { out.add(peer); continue; }
      let p = this.containers().lookup(peer);
      if (p.Id === c.Id) throw new InvalidParameterError(`container ${c.Name} cannot be its own peer`);
      const mode: string = p.HostConfig.NetworkMode;
      if (mode.startsWith('container:')) p = this.containers().lookup(mode.slice('container:'.length));
      if (!p.State.Running) throw new ConflictError(`Container ${p.Id} is not running`);
      const addresses = (this.sandboxes.get(p.Id)?.endpoints ?? []).map((ep) => ep.ipAddress).filter(Boolean);
      if (!addresses.length) throw new InvalidParameterError(`container ${peer} has no IP address on a network (network mode ${mode})`);
      for (const a of addresses) out.add(a);
    }
    return [...out];
  }
}
