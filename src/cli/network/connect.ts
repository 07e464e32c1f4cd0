/** `berth network connect` / `disconnect`: attach a container to a network with endpoint options, or detach it. */
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { kvToMap } from '../opts/kvfile.js';
import { sortedRecord } from '../opts/mounts.js';
import { endpointSettings, validateLink } from '../opts/network.js';

export const networkConnectCommand: Command = {
  name: 'connect', usage: '[OPTIONS] NETWORK CONTAINER', short: 'Connect a container to a network', args: { min: 2, max: 2 },
  flags: [
    { name: 'alias', kind: 'list', varname: 'strings', usage: 'Add network-scoped alias for the container' },
    { name: 'driver-opt', kind: 'list', varname: 'strings', usage: 'driver options for the network' },
    { name: 'gw-priority', kind: 'int', usage: 'Highest gw-priority provides the default gateway. Accepts positive and negative values.' },
    { name: 'ip', kind: 'string', usage: 'IPv4 address (e.g., "172.30.100.104")' },
    { name: 'ip6', kind: 'string', usage: 'IPv6 address (e.g., "2001:db8::33")' },
    { name: 'link', kind: 'list', usage: 'Add link to another container', parse: validateLink },
    { name: 'link-local-ip', kind: 'list', varname: 'strings', usage: 'Add a link-local address for the container' },
  ],
  async run(ctx, f) {
    const [network, container] = f.args;
    let ipam: Record<string, unknown> | null = null;
    if (f.string('ip') || f.string('ip6') || f.list('link-local-ip').length) {
      ipam = {};
      if (f.string('ip')) ipam.IPv4Address = f.string('ip');
      if (f.string('ip6')) ipam.IPv6Address = f.string('ip6');
      if (f.list('link-local-ip').length) ipam.LinkLocalIPs = f.list('link-local-ip');
    }
    const driverOpts = kvToMap(f.list('driver-opt'));
    const endpoint = endpointSettings({
      IPAMConfig: ipam,
      Links: f.list('link').length ? f.list('link') : null,
      Aliases: f.list('alias').length ? f.list('alias') : null,
      DriverOpts: Object.keys(driverOpts).length ? sortedRecord(driverOpts) : null,
      GwPriority: f.number('gw-priority'),
    });
    const client = await ctx.client();
    await client.call('POST', apiPath`/networks/${network}/connect`, { body: { Container: container, EndpointConfig: endpoint } });
  },
};

export const networkDisconnectCommand: Command = {
  name: 'disconnect', usage: '[OPTIONS] NETWORK CONTAINER', short: 'Disconnect a container from a network', args: { min: 2, max: 2 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the container to disconnect from a network' }],
  async run(ctx, f) {
    const [network, container] = f.args;
    const client = await ctx.client();
    await client.call('POST', apiPath`/networks/${network}/disconnect`, { body: { Container: container, Force: f.bool('force') } });
  },
};
