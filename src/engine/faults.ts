/**
 * Network fault injection (berth's own API, no Docker counterpart): faults
 * added to a running container — partitions from other containers, packet
 * loss, a bandwidth cap, a delay, lost DNS queries — listed, removed and healed.
 *
 * A container's faults are kept as one JSON file in the exec root
 * (`faults/<id>.json`, with the pid of the init they were applied for) and
 * each change re-renders the whole list (network/fault-plan.ts) and puts it
 * in place (fault-apply.ts), so what the kernel does is always exactly what
 * the files say. A rejecting partition also puts refusals in its peers'
 * namespaces, so a change re-applies those peers too. Faults last while the
 * container runs: its namespace and veth, and every rule and qdisc on them,
 * go when it stops; a file for another pid is stale and reads as no faults.
 *
 * Changes are serialised (one at a time, daemon-wide): a change reaches
 * several containers' namespaces, and each of them is rendered from every
 * container's list.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { ConflictError, InvalidParameterError, NotFoundError, errorMessage } from '../errors.js';
import { applyPlan, kernelHasNetem } from '../network/fault-apply.js';
import { DelayLines } from '../network/fault-delayline.js';
import { hostEnds } from '../network/fault-link.js';
import { planFaults, type InboundReject } from '../network/fault-plan.js';
import { isAddressPeer, normalizeRequest, replacesOnAdd, type Fault } from '../network/fault-rules.js';
import { cidrMask } from '../network/fault-wire.js';
import type { Sandboxes } from '../network/sandbox.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { ContainerAccess } from './endpoints.js';

interface FaultFile {
  pid: number;
  faults: Fault[];
}

/** A fault with the container it is on, for `GET /faults`. */
export type ContainerFault = Fault & { Container: string; ContainerName: string };

/** Whether `address` (an IPv4 address) lies in `cidr` (an address or CIDR). */
function covers(cidr: string, address: string): boolean {
  if (!address || address.includes(':')) return false;
  const { net, mask } = cidrMask(cidr);
  return ((cidrMask(address).net & mask) >>> 0) === net;
}

/** The addresses a fault's container peers stood for (its address peers are left out). */
function containerPeerAddresses(f: Fault): string[] {
  const literal = new Set((f.Peers ?? []).filter(isAddressPeer));
  return (f.Addresses ?? []).filter((a) => !literal.has(a));
}

export class FaultService {
  private readonly delayLines = new DelayLines();
  private queue: Promise<unknown> = Promise.resolve();

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
    if (!faults.length) { rmSync(this.file(c.Id), { force: true }); return; }
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file(c.Id)}.tmp`;
    writeFileSync(tmp, JSON.stringify({ pid: c.State.Pid, faults } satisfies FaultFile));
    renameSync(tmp, this.file(c.Id));
  }

  /** One change at a time (see the module comment). */
  private serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Drops a container's file and ends its delay line (it stopped or went away). */
  forget(containerId: string): void {
    rmSync(this.file(containerId), { force: true });
    void this.delayLines.stop(containerId);
  }

  /**
   * At berthd's start: files of containers that are not running any more go
   * (a daemon that was down when they stopped); the delay lines of those
   * still running start again (they ended with the previous berthd, while the
   * rules and filters stayed in the kernel).
   */
  sweep(): void {
    let names: string[];
    try { names = readdirSync(this.dir); } catch { return; }
    const running = new Set(this.containers().all().filter((c) => c.State.Running).map((c) => c.Id));
    for (const n of names) if (!running.has(n.replace(/\.json(\.tmp)?$/, ''))) rmSync(join(this.dir, n), { force: true });
    void this.serialize(async () => {
      for (const c of this.containers().all()) {
        if (!this.read(c).some((f) => f.Kind === 'delay')) continue;
        await this.applyTo(c).catch((e) => console.error(`berthd: restoring the faults of ${c.Id.slice(0, 12)}: ${errorMessage(e)}`));
      }
    });
  }

  /** Ends every delay line (berthd is closing). */
  async close(): Promise<void> {
    await this.delayLines.close();
  }

  list(ref: string): Fault[] {
    return this.read(this.containers().lookup(ref));
  }

  listAll(): ContainerFault[] {
    return this.containers().all().flatMap((c) => this.read(c).map((f) => ({ Container: c.Id, ContainerName: c.Name, ...f })));
  }

  async add(ref: string, request: unknown): Promise<Fault> {
    const req = normalizeRequest(request);
    return this.serialize(() => this.containers().exclusive(ref, async (c) => {
      this.namespaceOf(c);
      const fault: Fault = { Id: randomBytes(6).toString('hex'), ...req };
      if (req.Peers?.length) fault.Addresses = this.addressesOf(c, req.Peers);
      if ((req.Kind === 'rate' || req.Kind === 'delay' || req.Kind === 'dns') && !this.interfacesOf(c).length) {
        throw new InvalidParameterError(`container ${c.Name} has no network interface to shape (network mode ${c.HostConfig.NetworkMode})`);
      }
      const before = this.read(c);
      const faults = [...before.filter((f) => !replacesOnAdd(f, req)), fault];
      await this.change(c, before, faults);
      return fault;
    }));
  }

  /**
   * Removes one fault of a container (`faultId`), or all of them — and
   * then also every partition of another container that names this one:
   * a partition is healed from both sides.
   */
  async remove(ref: string, faultId?: string): Promise<void> {
    await this.serialize(async () => {
      const target = this.containers().lookup(ref);
      if (faultId !== undefined) {
        if (!this.read(target).some((f) => f.Id === faultId)) throw new NotFoundError(`No such fault: ${faultId}`);
        await this.removeWhere((c, f) => c.Id === target.Id && f.Id === faultId);
        return;
      }
      const names = new Set([target.Id, target.Name, target.Name.replace(/^\//, '')]);
      const addresses = this.ownAddresses(target);
      await this.removeWhere((c, f) => c.Id === target.Id || (f.Kind === 'partition' && (
        (f.Peers ?? []).some((p) => names.has(p) || (p.length >= 12 && target.Id.startsWith(p))) ||
        containerPeerAddresses(f).some((a) => addresses.some((own) => covers(a, own)))
      )));
    });
  }

  /** Removes the fault with this ID, whichever container it is on. */
  async removeById(faultId: string): Promise<void> {
    await this.serialize(async () => {
      if (!this.listAll().some((f) => f.Id === faultId)) throw new NotFoundError(`No such fault: ${faultId}`);
      await this.removeWhere((_c, f) => f.Id === faultId);
    });
  }

  /** Removes every fault of every container. */
  async heal(): Promise<void> {
    await this.serialize(() => this.removeWhere(() => true));
  }

  private async removeWhere(drop: (c: ContainerRecord, f: Fault) => boolean): Promise<void> {
    const errors: string[] = [];
    for (const c of this.containers().all()) {
      const before = this.read(c);
      const after = before.filter((f) => !drop(c, f));
      if (after.length === before.length) continue;
      await this.containers().exclusive(c.Id, async (now) => {
        if (now.State.Running && now.State.Pid === c.State.Pid) await this.change(now, before, after);
      }).catch((e) => errors.push(`${c.Name.replace(/^\//, '')}: ${errorMessage(e)}`));
    }
    if (errors.length) throw new ConflictError(`removing faults: ${errors.join('; ')}`);
  }

  /**
   * Replaces the container's list `before` with `after` in the kernel and in
   * its file, then re-applies the peers a rejecting partition reaches; the
   * container goes back to `before` if its own part fails.
   */
  private async change(c: ContainerRecord, before: Fault[], after: Fault[]): Promise<void> {
    try {
      await this.applyTo(c, after);
    } catch (e) {
      await this.applyTo(c, before).catch(() => undefined);
      throw e;
    }
    this.write(c, after);
    const touched = [...before, ...after].filter((f) => f.Kind === 'partition' && f.Reject).flatMap(containerPeerAddresses);
    if (!touched.length) return;
    for (const peer of this.containers().all()) {
      if (peer.Id === c.Id || !peer.State.Running) continue;
      if (!this.ownAddresses(peer).some((own) => touched.some((a) => covers(a, own)))) continue;
      await this.applyTo(peer).catch((e) => {
        if (this.containers().lookup(peer.Id).State.Running) throw e; // one that stopped meanwhile took its rules with it
      });
    }
  }

  /** Puts the kernel state for the container's faults (`faults`, or its file's) in place, refusals from others included. */
  private async applyTo(c: ContainerRecord, faults = this.read(c)): Promise<void> {
    const netns = this.namespaceOf(c);
    const interfaces = this.interfacesOf(c);
    const own = this.ownAddresses(c);
    const inbound: InboundReject[] = [];
    for (const other of this.containers().all()) {
      if (other.Id === c.Id) continue;
      for (const f of this.read(other)) {
        if (f.Kind === 'partition' && f.Reject && containerPeerAddresses(f).some((a) => own.some((o) => covers(a, o)))) {
          inbound.push({ faultId: f.Id, from: this.ownAddresses(other) });
        }
      }
    }
    const netem = faults.some((f) => f.Kind === 'delay') ? await kernelHasNetem(netns) : false;
    const plan = planFaults(faults, inbound, netem);
    const ends = await hostEnds(netns, interfaces);
    // The delay line is bound before the rules feed it, and ends after they stop.
    if (plan.delayLine.out || plan.delayLine.in) await this.delayLines.set(c.Id, c.State.Pid, netns, plan.delayLine);
    await applyPlan(netns, interfaces, ends, plan);
    if (!plan.delayLine.out && !plan.delayLine.in) await this.delayLines.stop(c.Id);
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

  private ownAddresses(c: ContainerRecord): string[] {
    // IPv4 only: the wire's filters and the rules are IPv4's.
    return (this.sandboxes.get(c.Id)?.endpoints ?? []).map((ep) => ep.ipAddress).filter((a) => isIPv4(a));
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
      const addresses = this.ownAddresses(p);
      if (!addresses.length) throw new InvalidParameterError(`container ${peer} has no IP address on a network (network mode ${mode})`);
      for (const a of addresses) out.add(a);
    }
    return [...out];
  }
}
