/**
 * `berth port CONTAINER [PRIVATE_PORT[/PROTO]]`: published ports from the
 * container's inspect data, naturally sorted, as Docker's port.go prints them.
 */
import { isIPv6 } from 'node:net';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { naturalCompare } from '../format/natural-sort.js';
import { inspectContainer } from './inspect-container.js';

/** net.JoinHostPort: IPv6 hosts in brackets. */
export function joinHostPort(host: string, port: string): string {
  return isIPv6(host) || host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export const portCommand: Command = {
  name: 'port', usage: 'CONTAINER [PRIVATE_PORT[/PROTO]]', short: 'List port mappings or a specific mapping for the container',
  aliasesHelp: 'berth container port, berth port', args: { min: 1, max: 2 },
  async run(ctx, f) {
    const client = await ctx.client();
    const c = await inspectContainer(client, f.args[0]);
    const ports = c.NetworkSettings?.Ports ?? {};
    const out: string[] = [];
    if (f.args[1]) {
      const [port, proto = 'tcp'] = f.args[1].split('/');
      if (!/^\d+$/.test(port) || Number(port) > 65535) throw new StatusError(1, `Error: invalid port (${port}): strconv.ParseUint: parsing ${JSON.stringify(port)}: invalid syntax`);
      const frontends = ports[`${port}/${proto}`];
      if (!frontends || frontends.length === 0) throw new StatusError(1, `Error: No public port '${f.args[1]}' published for ${f.args[0]}`);
      for (const fe of frontends) out.push(joinHostPort(fe.HostIp, fe.HostPort));
    } else {
      for (const [from, frontends] of Object.entries(ports)) {
        for (const fe of frontends ?? []) out.push(`${from} -> ${joinHostPort(fe.HostIp, fe.HostPort)}`);
      }
    }
    if (out.length) {
      out.sort(naturalCompare);
      ctx.out.write(`${out.join('\n')}\n`);
    }
  },
};
