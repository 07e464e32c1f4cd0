/**
 * What the kernel must hold for one container's faults — pure, so the whole
 * list is rendered at once and applied as a unit (fault-apply.ts):
 *
 * - drops (partitions, loss) on the wire: cBPF filters on the host end of
 *   its veth (fault-wire.ts), so no send ever fails;
 * - a rejecting partition: the receiving side refuses — this container's
 *   INPUT refuses its peers, and each peer that is a running container
 *   refuses this one in its own INPUT (`inboundRejects`), as a firewall on
 *   the far host would; the resets and ICMP errors then travel back over
 *   the wire. Toward a peer given as an address (no namespace of ours
 *   there) TCP is reset in this container's OUTPUT (a SYN's failed send is
 *   not reported by TCP, the reset is: `connect` says refused) and every
 *   other packet is lost on the wire;
 * - dns: the queries for the names are lost on the wire, after every other
 *   drop (fault-wire.ts says why it must come last);
 * - rate: tbf, for what the container sends on its own interfaces, for what
 *   it receives on the host end (the host end's egress is the container's
 *   ingress: the shaping an IFB would do, without one);
 * - delay: netem where the kernel has it (in the same two places, with the
 *   rate as netem's own); elsewhere NFQUEUE rules in the container's OUTPUT
 *   (queue 0) and INPUT (queue 1) feed the delay line (fault-delayline.ts).
 *
 * The iptables rules live in two chains of the container's own namespace
 * (`BERTH-FAULT-IN`/`-OUT`), jumped to from INPUT and OUTPUT: like the veth
 * and its qdiscs, they go with the namespace.
 */
import { actsOn, durationMicros, isAddressPeer, rateBitsPerSecond, type Fault } from './fault-rules.js';
import type { WireDrop } from './fault-wire.js';

export const CHAIN_IN = 'BERTH-FAULT-IN';
export const CHAIN_OUT = 'BERTH-FAULT-OUT';
/** The delay line's NFQUEUE numbers (per namespace). */
export const QUEUE_OUT = 0;
export const QUEUE_IN = 1;

/** Another container's rejecting partition that names this one: refuse what comes from `from`. */
export interface InboundReject {
  faultId: string;
  from: string[];
}

export interface DelaySpec { delayUs: number; jitterUs: number }

export interface FaultPlan {
  iptables: string;
  /** tc argv (after `tc`) for the root qdisc of the container's interface `dev`. */
  containerQdisc(dev: string): string[];
  /** tc argv for the root qdisc of the host end `dev`. */
  hostQdisc(dev: string): string[];
  /** On the host end: ingress = what the container sends, egress = what it receives. */
  wire: { ingress: WireDrop[]; egress: WireDrop[] };
  /** What the delay line must hold back, when netem does not. */
  delayLine: { out?: DelaySpec; in?: DelaySpec };
}

function cidr(address: string): string {
  return address.includes('/') ? address : `${address}/32`;
}

function rejectLines(chain: string, match: string, comment: string): string[] {
  // A peer's own refusals (resets, ICMP errors) must reach the sender: refused, they would leave it to time out.
  return [
    `-A ${chain} ${match} -p tcp --tcp-flags RST RST ${comment} -j RETURN`,
    `-A ${chain} ${match} -p icmp --icmp-type destination-unreachable ${comment} -j RETURN`,
    `-A ${chain} ${match} -p tcp ${comment} -j REJECT --reject-with tcp-reset`,
    `-A ${chain} ${match} ${comment} -j REJECT --reject-with icmp-port-unreachable`,
  ];
}

function delaySpec(f: Fault | undefined): DelaySpec | undefined {
  return f ? { delayUs: durationMicros(f.Delay!), jitterUs: f.Jitter ? durationMicros(f.Jitter) : 0 } : undefined;
}

function qdisc(dev: string, delay: Fault | undefined, rate: string | undefined, netem: boolean): string[] {
  if (delay && netem) {
    return ['qdisc', 'replace', 'dev', dev, 'root', 'netem', 'delay', delay.Delay!, ...(delay.Jitter ? [delay.Jitter] : []), ...(rate ? ['rate', rate] : [])];
  }
  if (rate) {
    // tbf's burst must hold at least one timer tick of traffic; its latency bounds the queue.
    const burstBytes = Math.max(1600, Math.ceil(rateBitsPerSecond(rate) / 8 / 100)); // 10 ms of traffic, at least a full frame
    return ['qdisc', 'replace', 'dev', dev, 'root', 'tbf', 'rate', rate, 'burst', String(burstBytes), 'latency', '50ms'];
  }
  return ['qdisc', 'del', 'dev', dev, 'root'];
}

/**
 * The plan for a container with `faults`, refused by others as
 * `inboundRejects` says; `netem`: whether the kernel has sch_netem.
 */
export function planFaults(faults: readonly Fault[], inboundRejects: readonly InboundReject[], netem: boolean): FaultPlan {
  const input: string[] = [];
  const output: string[] = [];
  const ingress: WireDrop[] = [];
  const egress: WireDrop[] = [];
  const dns: WireDrop[] = [];
  for (const f of faults) {
    const comment = `-m comment --comment "berth-fault ${f.Id}"`;
    const addresses = (f.Addresses ?? []).map(cidr);
    if (f.Kind === 'partition' && f.Reject) {
      for (const a of addresses) input.push(...rejectLines(CHAIN_IN, `-s ${a}`, comment));
      for (const a of (f.Peers ?? []).filter(isAddressPeer).map(cidr)) {
        output.push(`-A ${CHAIN_OUT} -d ${a} -p tcp --tcp-flags RST RST ${comment} -j RETURN`);
        output.push(`-A ${CHAIN_OUT} -d ${a} -p tcp ${comment} -j REJECT --reject-with tcp-reset`);
        ingress.push({ match: { field: 'dst', cidr: a }, exceptTcp: true, probability: 1 });
      }
    } else if (f.Kind === 'partition') {
      for (const a of addresses) {
        ingress.push({ match: { field: 'dst', cidr: a }, probability: 1 });
        egress.push({ match: { field: 'src', cidr: a }, probability: 1 });
      }
    } else if (f.Kind === 'dns') {
      for (const name of f.Names ?? []) dns.push({ dnsName: name, probability: 1 });
    } else if (f.Kind === 'loss') {
      const p = f.Probability!;
      for (const a of addresses.length ? addresses : [undefined]) {
        if (actsOn(f, 'out')) ingress.push({ ...(a ? { match: { field: 'dst', cidr: a } } : {}), probability: p });
        if (actsOn(f, 'in')) egress.push({ ...(a ? { match: { field: 'src', cidr: a } } : {}), probability: p });
      }
    }
  }
  for (const r of inboundRejects) {
    const comment = `-m comment --comment "berth-fault ${r.faultId}"`;
    for (const a of r.from) input.push(...rejectLines(CHAIN_IN, `-s ${cidr(a)}`, comment));
  }

  const side = (kind: 'rate' | 'delay', s: 'out' | 'in') => faults.find((f) => f.Kind === kind && actsOn(f, s));
  const delayOut = side('delay', 'out');
  const delayIn = side('delay', 'in');
  const delayLine: FaultPlan['delayLine'] = {};
  if (!netem) {
    // After the refusals: a refused packet is answered at once, not after the delay.
    if (delayOut) {
      output.push(`-A ${CHAIN_OUT} ! -o lo -m comment --comment "berth-fault ${delayOut.Id}" -j NFQUEUE --queue-num ${QUEUE_OUT} --queue-bypass`);
      delayLine.out = delaySpec(delayOut);
    }
    if (delayIn) {
      input.push(`-A ${CHAIN_IN} ! -i lo -m comment --comment "berth-fault ${delayIn.Id}" -j NFQUEUE --queue-num ${QUEUE_IN} --queue-bypass`);
      delayLine.in = delaySpec(delayIn);
    }
  }
  const iptables = ['*filter', `:${CHAIN_IN} - [0:0]`, `:${CHAIN_OUT} - [0:0]`, `-F ${CHAIN_IN}`, `-F ${CHAIN_OUT}`, ...input, ...output, 'COMMIT', ''].join('\n');
  return {
    iptables,
    containerQdisc: (dev) => qdisc(dev, delayOut, side('rate', 'out')?.Rate, netem),
    hostQdisc: (dev) => qdisc(dev, delayIn, side('rate', 'in')?.Rate, netem),
    wire: { ingress: [...ingress, ...dns], egress },
    delayLine,
  };
}
