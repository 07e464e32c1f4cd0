/**
 * Packet drops "on the wire": tc filters on the host's end of a container's
 * veth pair, where a real network loses packets — between the sender and the
 * receiver, never in the sender's own output path. A packet dropped there
 * has already left the sending socket, so send, sendto and connect succeed
 * and the software sees silence and time-outs, as on a lossy link
 * (iptables DROP in the container's OUTPUT chain made them fail with EPERM).
 *
 * The host end's ingress is what the container sends; its egress is what the
 * container receives. Both hooks come from one `clsact` qdisc, which, like
 * the veth itself, goes when the container's namespace goes.
 *
 * Each drop is one classic-BPF program run by cls_bpf in direct-action mode:
 * kernels built without the gact action (no `action drop`), u32's friends or
 * flower still have cls_bpf, and classic BPF needs no compiler — the few
 * instructions are assembled here. A program returns TC_ACT_SHOT for a
 * packet it drops and TC_ACT_UNSPEC (go on to the next filter) otherwise;
 * the loss probability uses the kernel's per-packet random number
 * (SKF_AD_RANDOM). cls_bpf shows programs the packet from its link-layer
 * header on both hooks, so offsets are Ethernet's.
 */

/** One kind of packet to drop. */
export interface WireDrop {
  /**
   * Only DNS queries (IPv4, UDP to port 53) for this name, or a name that
   * starts with its labels (`db1` also matches `db1.dns.podman`, what a
   * search domain makes of it), in any letter case. Such a filter must come
   * after the others on its hook: a query too short for the name makes
   * classic BPF stop with 0, which cls_bpf reads as "pass, and skip the rest".
   */
  dnsName?: string;
  /** Only IPv4 packets from (`src`) or to (`dst`) this address or CIDR; without it, every IPv4 and IPv6 packet (never ARP). */
  match?: { field: 'src' | 'dst'; cidr: string };
  /** Spare TCP (a rejecting partition answers TCP with a reset elsewhere and loses the rest here). */
  exceptTcp?: boolean;
  /** 0 < p ≤ 1. */
  probability: number;
}

interface Insn { code: number; jt: number | string; jf: number | string; k: number }

const LD_H_ABS = 0x28;
const LD_W_ABS = 0x20;
const LD_B_ABS = 0x30;
const LD_W_IND = 0x40;
const LD_H_IND = 0x48;
const LD_B_IND = 0x50;
/** X = 4·(byte at k & 0xf): the IPv4 header's length. */
const LDX_B_MSH = 0xb1;
const ALU_OR_K = 0x44;
const JSET_K = 0x45;
const ALU_AND_K = 0x54;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const RET_K = 0x06;
/** SKF_AD_OFF + SKF_AD_RANDOM: a load from there yields a random u32 (linux/filter.h). */
const AD_RANDOM = (-0x1000 + 56) >>> 0;
const TC_ACT_SHOT = 2;
const TC_ACT_UNSPEC = 0xffffffff;
const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const DNS_PORT = 53;
/** Offsets from the Ethernet header: IPv4 protocol, source and destination. */
const IP_PROTO = 14 + 9;
const IP_SRC = 14 + 12;
const IP_DST = 14 + 16;

function ipv4Number(a: string): number {
  return a.split('.').reduce((n, o) => n * 256 + Number(o), 0) >>> 0;
}

/** `10.1.0.0/16` → network and mask as u32. */
export function cidrMask(cidr: string): { net: number; mask: number } {
  const [ip, len] = cidr.split('/');
  const bits = len === undefined ? 32 : Number(len);
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { net: (ipv4Number(ip) & mask) >>> 0, mask };
}

/** Resolves label jumps (relative, as classic BPF counts them) into numbers. */
function assemble(program: (Insn | string)[]): Insn[] {
  const at = new Map<string, number>();
  const out: Insn[] = [];
  for (const i of program) {
    if (typeof i === 'string') at.set(i, out.length);
    else out.push(i);
  }
  return out.map((i, n) => {
    const rel = (t: number | string) => (typeof t === 'number' ? t : at.get(t)! - n - 1);
    return { ...i, jt: rel(i.jt), jf: rel(i.jf) };
  });
}

/** A DNS name as it appears in a query (length-prefixed labels, no terminator: a prefix), lower case. */
export function dnsLabels(name: string): Buffer {
  const labels = name.toLowerCase().replace(/\.$/, '').split('.');
  return Buffer.concat(labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'ascii')])));
}

/** Instructions that fall through when the query's name starts with `name`'s labels, and jump to `pass` otherwise. */
function dnsMatch(name: string): (Insn | string)[] {
  const p: (Insn | string)[] = [
    { code: JEQ_K, jt: 0, jf: 'pass', k: ETH_P_IP },
    { code: LD_B_ABS, jt: 0, jf: 0, k: IP_PROTO },
    { code: JEQ_K, jt: 0, jf: 'pass', k: IPPROTO_UDP },
    { code: LD_H_ABS, jt: 0, jf: 0, k: 14 + 6 },
    { code: JSET_K, jt: 'pass', jf: 0, k: 0x1fff }, // a later fragment has no UDP header
    { code: LDX_B_MSH, jt: 0, jf: 0, k: 14 },
    { code: LD_H_IND, jt: 0, jf: 0, k: 14 + 2 }, // UDP destination port
    { code: JEQ_K, jt: 0, jf: 'pass', k: DNS_PORT },
  ];
  // The question's name follows the 8-byte UDP header and the 12-byte DNS header; letters compare with bit 0x20 set (any case).
  const want = dnsLabels(name);
  const letter = (b: number) => b >= 0x61 && b <= 0x7a;
  for (let at = 0; at < want.length;) {
    const size = want.length - at >= 4 ? 4 : want.length - at >= 2 ? 2 : 1;
    let value = 0;
    let mask = 0;
    for (let i = 0; i < size; i++) {
      const b = want[at + i];
      value = value * 256 + b;
      mask = mask * 256 + (letter(b) ? 0x20 : 0);
    }
    p.push({ code: size === 4 ? LD_W_IND : size === 2 ? LD_H_IND : LD_B_IND, jt: 0, jf: 0, k: 14 + 8 + 12 + at });
    if (mask) p.push({ code: ALU_OR_K, jt: 0, jf: 0, k: mask >>> 0 });
    p.push({ code: JEQ_K, jt: 0, jf: 'pass', k: value >>> 0 });
    at += size;
  }
  return p;
}

/** The classic-BPF program for one drop. */
export function dropProgram(d: WireDrop): Insn[] {
  const p: (Insn | string)[] = [{ code: LD_H_ABS, jt: 0, jf: 0, k: 12 }];
  if (d.dnsName !== undefined) {
    p.push(...dnsMatch(d.dnsName));
  } else if (d.match) {
    const { net, mask } = cidrMask(d.match.cidr);
    p.push({ code: JEQ_K, jt: 0, jf: 'pass', k: ETH_P_IP });
    p.push({ code: LD_W_ABS, jt: 0, jf: 0, k: d.match.field === 'src' ? IP_SRC : IP_DST });
    if (mask !== 0xffffffff) p.push({ code: ALU_AND_K, jt: 0, jf: 0, k: mask });
    p.push({ code: JEQ_K, jt: 0, jf: 'pass', k: net });
    if (d.exceptTcp) {
      p.push({ code: LD_B_ABS, jt: 0, jf: 0, k: IP_PROTO });
      p.push({ code: JEQ_K, jt: 'pass', jf: 0, k: IPPROTO_TCP });
    }
  } else {
    p.push({ code: JEQ_K, jt: 'ip', jf: 0, k: ETH_P_IP });
    p.push({ code: JEQ_K, jt: 0, jf: 'pass', k: ETH_P_IPV6 });
    p.push('ip');
  }
  if (d.probability < 1) {
    // Drop when the random u32 is below p·2³²: pass when it is at or above.
    p.push({ code: LD_W_ABS, jt: 0, jf: 0, k: AD_RANDOM });
    p.push({ code: JGE_K, jt: 'pass', jf: 0, k: Math.min(0xffffffff, Math.floor(d.probability * 2 ** 32)) });
  }
  p.push({ code: RET_K, jt: 0, jf: 0, k: TC_ACT_SHOT }, 'pass', { code: RET_K, jt: 0, jf: 0, k: TC_ACT_UNSPEC });
  return assemble(p);
}

/** tc's `bytecode` argument: the count, then `code jt jf k` per instruction (what `tcpdump -ddd` prints). */
export function bytecode(program: Insn[]): string {
  return [String(program.length), ...program.map((i) => `${i.code} ${i.jt} ${i.jf} ${i.k >>> 0}`)].join(',');
}

/**
 * `tc -batch` lines that give the host end `dev` exactly these drops: a
 * fresh clsact (whatever filters it had go with the old one) and one filter
 * per drop, in order. Empty when there is nothing to drop: the caller
 * deletes the clsact.
 */
export function wireBatch(dev: string, ingress: readonly WireDrop[], egress: readonly WireDrop[]): string[] {
  if (!ingress.length && !egress.length) return [];
  const lines = [`qdisc add dev ${dev} clsact`];
  for (const [hook, drops] of [['ingress', ingress], ['egress', egress]] as const) {
    drops.forEach((d, n) => {
      lines.push(`filter add dev ${dev} ${hook} pref ${n + 1} protocol all bpf bytecode "${bytecode(dropProgram(d))}" da`);
    });
  }
  return lines;
}
