/** CIDR containment for `network create --subnet/--gateway/--ip-range` checks (Docker's subnetMatches). */
import { isIPv4, isIPv6 } from 'node:net';

function ipToBigInt(ip: string): [bigint, number] {
  if (isIPv4(ip)) return [ip.split('.').reduce((a, p) => (a << 8n) + BigInt(Number(p)), 0n), 32];
  if (!isIPv6(ip)) throw new Error(`invalid IP address: ${ip}`);
  let [head, tail] = ip.split('::') as [string, string | undefined];
  const parse = (s: string) => (s ? s.split(':') : []);
  let h = parse(head);
  let t = tail === undefined ? [] : parse(tail);
  // Embedded IPv4 tail (::ffff:1.2.3.4)
  const last = (tail === undefined ? h : t).at(-1);
  if (last && last.includes('.')) {
    const v4 = ipToBigInt(last)[0];
    const parts = [(v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
    if (tail === undefined) h = [...h.slice(0, -1), ...parts];
    else t = [...t.slice(0, -1), ...parts];
  }
  const fill = tail === undefined ? [] : new Array(8 - h.length - t.length).fill('0');
  const all = [...h, ...fill, ...t];
  return [all.reduce((a, p) => (a << 16n) + BigInt(parseInt(p || '0', 16)), 0n), 128];
}

export function parseCidr(cidr: string): { base: bigint; bits: number; prefix: number } {
  const slash = cidr.indexOf('/');
  if (slash < 0) throw new Error(`invalid CIDR address: ${cidr}`);
  const [base, bits] = ipToBigInt(cidr.slice(0, slash));
  const prefix = Number(cidr.slice(slash + 1));
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > bits) throw new Error(`invalid CIDR address: ${cidr}`);
  return { base, bits, prefix };
}

/** True when `data` (an IP or a CIDR) lies within `subnet`. */
export function subnetContains(subnet: string, data: string): boolean {
  const s = parseCidr(subnet);
  const ip = data.includes('/') ? data.slice(0, data.indexOf('/')) : data;
  const [v, bits] = ipToBigInt(ip);
  if (bits !== s.bits) return false;
  const shift = BigInt(s.bits - s.prefix);
  return (v >> shift) === (s.base >> shift);
}
