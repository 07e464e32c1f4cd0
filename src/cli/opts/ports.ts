/**
 * `-p/--publish` and `--expose`, parsed as docker/go-connections `nat`
 * does (`ParsePortSpecs`, `ParsePortRange`, `SplitProtoPort`), plus the CLI's
 * long syntax `published=8080,target=80,protocol=udp`.
 */
import { isIP } from 'node:net';

export interface PortBinding {
  HostIp: string;
  HostPort: string;
}

/** nat.ParsePortRange: `80` or `8000-8010`, each a uint16. */
export function parsePortRange(ports: string): [number, number] {
  if (ports === '') throw new Error('empty string specified for ports');
  const u16 = (s: string) => {
    if (!/^\d+$/.test(s)) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: invalid syntax`);
    const n = Number(s);
    if (n > 65535) throw new Error(`strconv.ParseUint: parsing ${JSON.stringify(s)}: value out of range`);
    return n;
  };
  if (!ports.includes('-')) {
    const n = u16(ports);
    return [n, n];
  }
  const parts = ports.split('-');
  const start = u16(parts[0]);
  const end = u16(parts[1]);
  if (end < start) throw new Error(`invalid range specified for port: ${ports}`);
  return [start, end];
}

/** nat.SplitProtoPort: `80/udp` → [udp, 80]; no protocol means tcp. */
export function splitProtoPort(raw: string): [string, string] {
  const parts = raw.split('/');
  if (raw.length === 0 || parts[0].length === 0) return ['', ''];
  if (parts.length === 1) return ['tcp', raw];
  if (parts[1].length === 0) return ['tcp', parts[0]];
  return [parts[1], parts[0]];
}

function splitParts(raw: string): [string, string, string] {
  const parts = raw.split(':');
  const n = parts.length;
  const containerPort = parts[n - 1];
  switch (n) {
    case 1: return ['', '', containerPort];
    case 2: return ['', parts[0], containerPort];
    case 3: return [parts[0], parts[1], containerPort];
    default: return [parts.slice(0, n - 2).join(':'), parts[n - 2], containerPort];
  }
}

interface PortMapping {
  port: string;
  binding: PortBinding;
}

/** nat.ParsePortSpec: one `-p` value → one mapping per container port. */
export function parsePortSpec(raw: string): PortMapping[] {
  let [ip, hostPort, containerPort] = splitParts(raw);
  let proto: string;
  [proto, containerPort] = splitProtoPort(containerPort);
  if (ip !== '' && ip[0] === '[') {
    const close = ip.indexOf(']');
    if (close < 0 || close !== ip.length - 1) throw new Error(`invalid IP address ${ip}: missing ']' in address`);
    ip = ip.slice(1, -1);
  }
  if (ip !== '' && isIP(ip) === 0) throw new Error(`invalid IP address: ${ip}`);
  if (containerPort === '') throw new Error(`no port specified: ${raw}<empty>`);
  let start: number;
  let end: number;
  try {
    [start, end] = parsePortRange(containerPort);
  } catch {
    throw new Error(`invalid containerPort: ${containerPort}`);
  }
  let hostStart = 0;
  let hostEnd = 0;
  if (hostPort.length > 0) {
    try {
      [hostStart, hostEnd] = parsePortRange(hostPort);
    } catch {
      throw new Error(`invalid hostPort: ${hostPort}`);
    }
  }
  if (hostPort !== '' && end - start !== hostEnd - hostStart && end !== start) {
    throw new Error(`invalid ranges specified for container and host Ports: ${containerPort} and ${hostPort}`);
  }
  const p = proto.toLowerCase();
  if (!['tcp', 'udp', 'sctp'].includes(p)) throw new Error(`invalid proto: ${proto}`);
  const out: PortMapping[] = [];
  for (let i = 0; i <= end - start; i++) {
    let hp = hostPort;
    if (hostPort.length > 0) hp = String(hostStart + i);
    if (start === end && hostStart !== hostEnd) hp = `${hp}-${hostEnd}`;
    out.push({ port: `${start + i}/${p}`, binding: { HostIp: ip, HostPort: hp } });
  }
  return out;
}

/** The CLI's convertToStandardNotation: long syntax → `published:target/protocol`. */
export function toStandardNotation(publish: string): string {
  if (!publish.includes('=')) return publish;
  const params: Record<string, string> = { protocol: 'tcp' };
  for (const param of publish.split(',')) {
    const eq = param.indexOf('=');
    if (eq <= 0) throw new Error(`invalid publish opts format (should be name=value but got '${param}')`);
    params[param.slice(0, eq)] = param.slice(eq + 1);
  }
  if (params.target === undefined) throw new Error(`missing 'target' parameter in '${publish}'`);
  return `${params.published ?? ''}:${params.target}/${params.protocol}`;
}

export interface ParsedPorts {
  exposed: Set<string>;
  bindings: Map<string, PortBinding[]>;
}

/** nat.ParsePortSpecs over every `-p`, then `--expose` merged in (opts.go `parse`). */
export function parsePorts(publish: readonly string[], expose: readonly string[]): ParsedPorts {
  const exposed = new Set<string>();
  const bindings = new Map<string, PortBinding[]>();
  for (const raw of publish.map(toStandardNotation)) {
    for (const m of parsePortSpec(raw)) {
      exposed.add(m.port);
      bindings.set(m.port, [...(bindings.get(m.port) ?? []), m.binding]);
    }
  }
  for (const e of expose) {
    if (e.includes(':')) throw new Error(`invalid port format for --expose: ${e}`);
    const [proto, port] = splitProtoPort(e);
    let start: number;
    let end: number;
    try {
      [start, end] = parsePortRange(port);
    } catch (err) {
      throw new Error(`invalid range format for --expose: ${e}, error: ${(err as Error).message}`);
    }
    for (let i = start; i <= end; i++) exposed.add(`${i}/${proto.toLowerCase()}`);
  }
  return { exposed, bindings };
}
