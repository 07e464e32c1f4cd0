/**
 * Network faults of a container, as data and as the kernel state that makes
 * them happen inside the container's network namespace — berth's answer to
 * "what does my cluster do when node B cannot reach node C?".
 *
 * - `partition`: nothing goes to or comes from the peers (iptables DROP on
 *   OUTPUT by destination and INPUT by source; with `Reject`, refused at once
 *   — a TCP reset or an ICMP port unreachable — instead of lost, so clients
 *   fail fast rather than time out);
 * - `loss`: each packet is dropped with a probability (iptables `statistic`),
 *   on the way out, in, or both, optionally only to/from the peers;
 * - `rate`: the container's outgoing bandwidth is capped (a tbf qdisc on each
 *   of its interfaces);
 * - `delay`: outgoing packets wait (netem; with a rate too, netem's own rate).
 *
 * Everything lives in the container's namespace, in two chains of its own
 * (`BERTH-FAULT-IN`/`-OUT`) and the interfaces' root qdiscs: it disappears
 * with the namespace, so a container that stops leaves nothing on the host.
 * This module is pure: it checks and normalises specs and renders the
 * iptables-restore input and tc argv for a whole list of faults; applying
 * them is fault-apply.ts.
 */
import { isIPv4 } from 'node:net';
import { InvalidParameterError } from '../errors.js';

export type FaultKind = 'partition' | 'loss' | 'rate' | 'delay';
export type Direction = 'out' | 'in' | 'both';

/** A fault as the API takes it (`POST /containers/{id}/faults`). */
export interface FaultRequest {
  Kind: FaultKind;
  /** partition: required; loss: optional. Container names/IDs or IPv4 addresses/CIDRs. */
  Peers?: string[];
  /** partition: refuse (TCP reset, ICMP port unreachable) instead of dropping silently. */
  Reject?: boolean;
  /** loss: 0 < p ≤ 1. */
  Probability?: number;
  /** loss: which packets (default `out`, what the container sends). */
  Direction?: Direction;
  /** rate: `1mbit`, `512kbit`, `10mbps`… (tc's units). */
  Rate?: string;
  /** delay: `100ms`, `1.5s`; optional jitter. */
  Delay?: string;
  Jitter?: string;
}

/** A fault in force, as `GET /containers/{id}/faults` lists it: the request, its ID, and the addresses its peers stood for when it was added. */
export interface Fault extends FaultRequest {
  Id: string;
  Addresses?: string[];
}

export const CHAIN_IN = 'BERTH-FAULT-IN';
export const CHAIN_OUT = 'BERTH-FAULT-OUT';

const KINDS: readonly FaultKind[] = ['partition', 'loss', 'rate', 'delay'];
const RATE = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$/i;
const DURATION = /^(\d+(?:\.\d+)?)(us|ms|s)$/;

function bad(message: string): never {
  throw new InvalidParameterError(message);
}

/** `100ms` → microseconds. */
export function durationMicros(text: string): number {
  const m = DURATION.exec(text);
  if (!m) bad(`invalid duration ${JSON.stringify(text)}: use a number with us, ms or s (e.g. 100ms)`);
  const n = Number(m[1]) * (m[2] === 'us' ? 1 : m[2] === 'ms' ? 1000 : 1_000_000);
  return Math.round(n);
}

/** `1mbit` → bits per second (tc: k = 1000; `bps` units are bytes). */
export function rateBitsPerSecond(text: string): number {
  const m = RATE.exec(text);
  if (!m) bad(`invalid rate ${JSON.stringify(text)}: use a number with bit, kbit, mbit, gbit, bps, kbps, mbps or gbps (e.g. 1mbit)`);
  const unit = m[2].toLowerCase();
  const scale = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9 }[unit]!;
  const bits = Number(m[1]) * scale;
  if (bits < 8) bad(`invalid rate ${JSON.stringify(text)}: at least 8bit`);
  return bits;
}

/** A peer that is an address rather than a container. */
export function isAddressPeer(peer: string): boolean {
  const [ip, len, ...rest] = peer.split('/');
  return rest.length === 0 && isIPv4(ip) && (len === undefined || (/^\d+$/.test(len) && Number(len) <= 32));
}

/** Checks a request and keeps only the fields its kind uses. */
export function normalizeRequest(r: unknown): FaultRequest {
  if (!r || typeof r !== 'object') bad('a fault is a JSON object');
  const o = r as Record<string, unknown>;
  const kind = o.Kind as FaultKind;
  if (!KINDS.includes(kind)) bad(`invalid fault kind ${JSON.stringify(o.Kind)}: one of ${KINDS.join(', ')}`);
  const peers = o.Peers === undefined || o.Peers === null ? [] : o.Peers;
  if (!Array.isArray(peers) || !peers.every((p) => typeof p === 'string' && p !== '')) bad('Peers must be a list of container names, IDs or IPv4 addresses');
  switch (kind) {
    case 'partition':
      if (!peers.length) bad('a partition needs at least one peer');
      if (o.Reject !== undefined && o.Reject !== null && typeof o.Reject !== 'boolean') bad('Reject must be true or false');
      return { Kind: kind, Peers: peers, ...(o.Reject ? { Reject: true } : {}) };
    case 'loss': {
      const p = o.Probability;
      if (typeof p !== 'number' || !(p > 0 && p <= 1)) bad(`invalid loss probability ${JSON.stringify(p)}: a number above 0 and at most 1`);
      const direction = (o.Direction ?? 'out') as Direction;
      if (!['out', 'in', 'both'].includes(direction)) bad(`invalid direction ${JSON.stringify(o.Direction)}: out, in or both`);
      return { Kind: kind, Probability: p, Direction: direction, ...(peers.length ? { Peers: peers } : {}) };
    }
    case 'rate':
      if (peers.length) bad('a rate limit applies to all of a container\'s traffic: it takes no peers');
      if (typeof o.Rate !== 'string') bad('a rate limit needs a Rate (e.g. 1mbit)');
      rateBitsPerSecond(o.Rate);
      return { Kind: kind, Rate: o.Rate.toLowerCase() };
    case 'delay':
      if (peers.length) bad('a delay applies to all of a container\'s traffic: it takes no peers');
      if (typeof o.Delay !== 'string') bad('a delay needs a Delay (e.g. 100ms)');
      durationMicros(o.Delay);
      if (o.Jitter !== undefined && o.Jitter !== null && o.Jitter !== '') {
        if (typeof o.Jitter !== 'string') bad('Jitter must be a duration');
        durationMicros(o.Jitter);
        return { Kind: kind, Delay: o.Delay, Jitter: o.Jitter };
      }
      return { Kind: kind, Delay: o.Delay };
  }
}

/** One fault per kind for the queueing disciplines: a second rate or delay replaces the first. */
export function replacesOnAdd(existing: Fault, added: FaultRequest): boolean {
  return (added.Kind === 'rate' || added.Kind === 'delay') && existing.Kind === added.Kind;
}

function cidr(address: string): string {
  return address.includes('/') ? address : `${address}/32`;
}

/** iptables-restore input (`--noflush`) that makes both chains say exactly what `faults` ask. */
export function iptablesRestoreInput(faults: readonly Fault[]): string {
  const lines = ['*filter', `:${CHAIN_IN} - [0:0]`, `:${CHAIN_OUT} - [0:0]`, `-F ${CHAIN_IN}`, `-F ${CHAIN_OUT}`];
  for (const f of faults) {
    const comment = `-m comment --comment "berth-fault ${f.Id}"`;
    const addresses = (f.Addresses ?? []).map(cidr);
    if (f.Kind === 'partition') {
      for (const a of addresses) {
        for (const [chain, match] of [[CHAIN_OUT, `-d ${a}`], [CHAIN_IN, `-s ${a}`]]) {
          if (f.Reject) {
            // The resets the REJECTs send pass both chains (OUTPUT's comes back in "from" the peer,
            // INPUT's goes out to it): swallowed, they would leave the clients to time out after all.
            lines.push(`-A ${chain} ${match} -p tcp --tcp-flags RST RST ${comment} -j RETURN`);
            lines.push(`-A ${chain} ${match} -p tcp ${comment} -j REJECT --reject-with tcp-reset`);
            lines.push(`-A ${chain} ${match} ${comment} -j REJECT --reject-with icmp-port-unreachable`);
          } else {
            lines.push(`-A ${chain} ${match} ${comment} -j DROP`);
          }
        }
      }
    } else if (f.Kind === 'loss') {
      const p = `-m statistic --mode random --probability ${f.Probability}`;
      const dir = f.Direction ?? 'out';
      for (const a of addresses.length ? addresses : [undefined]) {
        if (dir !== 'in') lines.push(`-A ${CHAIN_OUT}${a ? ` -d ${a}` : ''} ${p} ${comment} -j DROP`);
        if (dir !== 'out') lines.push(`-A ${CHAIN_IN}${a ? ` -s ${a}` : ''} ${p} ${comment} -j DROP`);
      }
    }
  }
  lines.push('COMMIT', '');
  return lines.join('\n');
}

/**
 * The tc argv (after `tc`) that gives `dev` the root qdisc `faults` ask for,
 * or a deletion when they ask for none. tbf's burst must hold at least one
 * timer tick of traffic; its latency bounds the queue.
 */
export function qdiscCommand(dev: string, faults: readonly Fault[]): string[] {
  const rate = faults.find((f) => f.Kind === 'rate')?.Rate;
  const delay = faults.find((f) => f.Kind === 'delay');
  if (delay) {
    return ['qdisc', 'replace', 'dev', dev, 'root', 'netem', 'delay', delay.Delay!, ...(delay.Jitter ? [delay.Jitter] : []), ...(rate ? ['rate', rate] : [])];
  }
  if (rate) {
    const burstBytes = Math.max(1600, Math.ceil(rateBitsPerSecond(rate) / 8 / 100)); // 10 ms of traffic, at least a full frame
    return ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', String(burstBytes), 'latency', '50ms'];
  }
  return ['qdisc', 'del', 'dev', dev, 'root'];
}
