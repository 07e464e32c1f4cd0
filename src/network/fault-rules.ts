/**
 * Network faults of a container as data — berth's answer to "what does my
 * cluster do when node B cannot reach node C?":
 *
 * - `partition`: nothing goes to or comes from the peers; with `Reject`,
 *   the peers' packets are refused as a firewall refuses them (a TCP reset,
 *   an ICMP port unreachable) instead of lost;
 * - `loss`: each packet is lost with a probability, on the way out, in, or
 *   both, optionally only to/from the peers;
 * - `rate`: bandwidth is capped, for what the container sends, receives or both;
 * - `delay`: packets wait (with jitter), on the way out, in or both;
 * - `dns`: the container's DNS queries for some names go unanswered (the
 *   embedded DNS, or any server, never hears them).
 *
 * This module checks and normalises requests; fault-plan.ts turns a list of
 * faults into kernel state and fault-apply.ts puts it in place.
 */
import { isIPv4 } from 'node:net';
import { InvalidParameterError } from '../errors.js';

export type FaultKind = 'partition' | 'loss' | 'rate' | 'delay' | 'dns';
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
  /** loss, rate, delay: which packets (default `out`, what the container sends). */
  Direction?: Direction;
  /** rate: `1mbit`, `512kbit`, `10mbps`… (tc's units). */
  Rate?: string;
  /** delay: `100ms`, `1.5s`; optional jitter. */
  Delay?: string;
  Jitter?: string;
  /** dns: the names whose queries are lost (each also with any suffix a search domain adds). */
  Names?: string[];
}

/** A fault in force, as `GET /containers/{id}/faults` lists it: the request, its ID, and the addresses its peers stood for when it was added. */
export interface Fault extends FaultRequest {
  Id: string;
  Addresses?: string[];
}

const KINDS: readonly FaultKind[] = ['partition', 'loss', 'rate', 'delay', 'dns'];
const DNS_NAME = /^(?=.{1,253}$)[A-Za-z0-9_-]{1,63}(\.[A-Za-z0-9_-]{1,63})*\.?$/;
const RATE = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$/i;
const DURATION = /^(\d+(?:\.\d+)?)(us|ms|s)$/;
const MAX_DELAY_US = 60_000_000;

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

function directionOf(d: unknown): Direction {
  const direction = (d ?? 'out') as Direction;
  if (!['out', 'in', 'both'].includes(direction)) bad(`invalid direction ${JSON.stringify(d)}: out, in or both`);
  return direction;
}

/** Rate and delay say their direction only when it is not the default (`out`), as before directions existed. */
function directionField(d: unknown): { Direction?: Direction } {
  const direction = directionOf(d);
  return direction === 'out' ? {} : { Direction: direction };
}

/** Whether a fault acts on what the container sends (`out`) or receives (`in`). */
export function actsOn(f: FaultRequest, side: 'out' | 'in'): boolean {
  const d = f.Direction ?? 'out';
  return d === 'both' || d === side;
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
      const direction = directionOf(o.Direction);
      return { Kind: kind, Probability: p, Direction: direction, ...(peers.length ? { Peers: peers } : {}) };
    }
    case 'rate':
      if (peers.length) bad('a rate limit applies to all of a container\'s traffic: it takes no peers');
      if (typeof o.Rate !== 'string') bad('a rate limit needs a Rate (e.g. 1mbit)');
      rateBitsPerSecond(o.Rate);
      return { Kind: kind, Rate: o.Rate.toLowerCase(), ...directionField(o.Direction) };
    case 'delay':
      if (peers.length) bad('a delay applies to all of a container\'s traffic: it takes no peers');
      if (typeof o.Delay !== 'string') bad('a delay needs a Delay (e.g. 100ms)');
      // Held packets stay in the kernel's queue (10,000 at most): a minute is already far beyond any network.
      if (durationMicros(o.Delay) > MAX_DELAY_US) bad(`invalid delay ${JSON.stringify(o.Delay)}: at most 60s`);
      if (o.Jitter !== undefined && o.Jitter !== null && o.Jitter !== '') {
        if (typeof o.Jitter !== 'string') bad('Jitter must be a duration');
        if (durationMicros(o.Jitter) > MAX_DELAY_US) bad(`invalid jitter ${JSON.stringify(o.Jitter)}: at most 60s`);
        return { Kind: kind, Delay: o.Delay, Jitter: o.Jitter, ...directionField(o.Direction) };
      }
      return { Kind: kind, Delay: o.Delay, ...directionField(o.Direction) };
    case 'dns': {
      if (peers.length) bad('a DNS fault takes names, not peers');
      const names = o.Names;
      if (!Array.isArray(names) || !names.length || names.length > 32) bad('a DNS fault needs Names: 1 to 32 DNS names');
      for (const n of names) if (typeof n !== 'string' || !DNS_NAME.test(n)) bad(`invalid DNS name ${JSON.stringify(n)}`);
      return { Kind: kind, Names: (names as string[]).map((n) => n.toLowerCase().replace(/\.$/, '')) };
    }
  }
}

/** One rate and one delay per direction: a second one replaces the first where their directions overlap. */
export function replacesOnAdd(existing: Fault, added: FaultRequest): boolean {
  if (!(added.Kind === 'rate' || added.Kind === 'delay') || existing.Kind !== added.Kind) return false;
  return (actsOn(existing, 'out') && actsOn(added, 'out')) || (actsOn(existing, 'in') && actsOn(added, 'in'));
}
