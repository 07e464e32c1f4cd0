/**
 * `berth network create`: `POST /networks/create` with the body Docker 28
 * sends — IPAM built from `--subnet`/`--gateway`/`--ip-range`/`--aux-address`
 * paired by containment, `EnableIPv6` only when the flag was given.
 */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import type { ParsedFlags } from '../flags.js';
import { subnetContains } from '../opts/cidr.js';
import { kvToMap } from '../opts/kvfile.js';
import { sortedRecord } from '../opts/mounts.js';

interface IpamConfig {
  Subnet?: string;
  IPRange?: string;
  Gateway?: string;
  AuxiliaryAddresses?: Record<string, string>;
}

/** createIPAMConfig from network/create.go. */
export function ipamConfig(subnets: readonly string[], ipRanges: readonly string[], gateways: readonly string[], aux: Record<string, string>): IpamConfig[] {
  if (subnets.length < ipRanges.length || subnets.length < gateways.length) throw new Error('every ip-range or gateway must have a corresponding subnet');
  const data = new Map<string, IpamConfig & { aux: Record<string, string> }>();
  for (const s of subnets) {
    for (const k of data.keys()) {
      if (subnetContains(s, k) || subnetContains(k, s)) throw new Error('multiple overlapping subnet configuration is not supported');
    }
    data.set(s, { Subnet: s, aux: {} });
  }
  for (const r of ipRanges) {
    let match = false;
    for (const s of subnets) {
      if (!subnetContains(s, r)) continue;
      const d = data.get(s)!;
      if (d.IPRange) throw new Error(`cannot configure multiple ranges (${r}, ${d.IPRange}) on the same subnet (${s})`);
      d.IPRange = r;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for range ${r}`);
  }
  for (const g of gateways) {
    let match = false;
    for (const s of subnets) {
      if (!subnetContains(s, g)) continue;
      const d = data.get(s)!;
      if (d.Gateway) throw new Error(`cannot configure multiple gateways (${g}, ${d.Gateway}) for the same subnet (${s})`);
      d.Gateway = g;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for gateway ${g}`);
  }
  for (const [key, addr] of Object.entries(aux)) {
    let match = false;
    for (const s of subnets) {
      if (!subnetContains(s, addr)) continue;
      data.get(s)!.aux[key] = addr;
      match = true;
    }
    if (!match) throw new Error(`no matching subnet for aux-address ${addr}`);
  }
  return [...data.values()].map((d) => {
    const c: IpamConfig = {};
    if (d.Subnet) c.Subnet = d.Subnet;
    if (d.IPRange) c.IPRange = d.IPRange;
    if (d.Gateway) c.Gateway = d.Gateway;
    if (Object.keys(d.aux).length) c.AuxiliaryAddresses = sortedRecord(d.aux);
    return c;
  });
}

export function networkCreateBody(f: ParsedFlags, name: string): Record<string, unknown> {
  const body: Record<string, unknown> = { Driver: f.string('driver'), Scope: f.string('scope') };
  if (f.changed('ipv4')) body.EnableIPv4 = f.bool('ipv4');
  if (f.changed('ipv6')) body.EnableIPv6 = f.bool('ipv6');
  body.IPAM = {
    Driver: f.string('ipam-driver'),
    Options: sortedRecord(kvToMap(f.list('ipam-opt'))),
    Config: ipamConfig(f.list('subnet'), f.list('ip-range'), f.list('gateway'), kvToMap(f.list('aux-address'))),
  };
  Object.assign(body, {
    Internal: f.bool('internal'),
    Attachable: f.bool('attachable'),
    Ingress: f.bool('ingress'),
    ConfigOnly: f.bool('config-only'),
    ConfigFrom: f.string('config-from') ? { Network: f.string('config-from') } : null,
    Options: sortedRecord(kvToMap(f.list('opt'))),
    Labels: sortedRecord(kvToMap(f.list('label'))),
    Name: name,
  });
  return body;
}

export const networkCreateCommand: Command = {
  name: 'create', usage: '[OPTIONS] NETWORK', short: 'Create a network', args: { min: 1, max: 1 },
  flags: [
    { name: 'attachable', kind: 'bool', usage: 'Enable manual container attachment' },
    { name: 'aux-address', kind: 'list', varname: 'map', defaultText: 'map[]', usage: 'Auxiliary IPv4 or IPv6 addresses used by Network driver' },
    { name: 'config-from', kind: 'string', usage: 'The network from which to copy the configuration' },
    { name: 'config-only', kind: 'bool', usage: 'Create a configuration only network' },
    { name: 'driver', short: 'd', kind: 'string', default: 'bridge', defaultText: '"bridge"', usage: 'Driver to manage the Network' },
    { name: 'gateway', kind: 'list', varname: 'strings', usage: 'IPv4 or IPv6 Gateway for the master subnet' },
    { name: 'ingress', kind: 'bool', usage: 'Create swarm routing-mesh network', unsupported: 'swarm is not supported' },
    { name: 'internal', kind: 'bool', usage: 'Restrict external access to the network' },
    { name: 'ip-range', kind: 'list', varname: 'strings', usage: 'Allocate container ip from a sub-range' },
    { name: 'ipam-driver', kind: 'string', default: 'default', defaultText: '"default"', usage: 'IP Address Management Driver' },
    { name: 'ipam-opt', kind: 'list', varname: 'map', defaultText: 'map[]', usage: 'Set IPAM driver specific options' },
    { name: 'ipv4', kind: 'bool', default: true, defaultText: 'true', usage: 'Enable or disable IPv4 address assignment' },
    { name: 'ipv6', kind: 'bool', usage: 'Enable or disable IPv6 address assignment' },
    { name: 'label', kind: 'list', usage: 'Set metadata on a network' },
    { name: 'opt', short: 'o', kind: 'list', varname: 'map', defaultText: 'map[]', usage: 'Set driver specific options' },
    { name: 'scope', kind: 'string', usage: "Control the network's scope" },
    { name: 'subnet', kind: 'list', varname: 'strings', usage: 'Subnet in CIDR format that represents a network segment' },
  ],
  async run(ctx, f) {
    let body;
    try {
      body = networkCreateBody(f, f.args[0]);
    } catch (e) {
      throw new StatusError(1, (e as Error).message);
    }
    const client = await ctx.client();
    const res = await client.json<{ Id: string; Warning?: string }>('POST', '/networks/create', { body });
    if (res.Warning) ctx.err.write(`WARNING: ${res.Warning}\n`);
    ctx.out.write(`${res.Id}\n`);
  },
};
