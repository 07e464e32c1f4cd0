/**
 * The host's end of a container's veth: where fault-wire.ts drops packets
 * and where what the container receives is shaped. netavark names that end
 * itself, so it is found the way `ip link` shows the pair: the container's
 * interface says the index of its peer (`link_index`), and the host device
 * with that index must say the container's interface back — two indexes
 * that agree, so a device that only happens to share a number in another
 * namespace is never taken for it.
 */
import { NotImplementedError } from '../errors.js';
import { runCommand } from '../run-command.js';

interface IpLink { ifindex: number; ifname: string; link_index?: number; link?: string }

async function links(netns?: string): Promise<IpLink[]> {
  const argv = ['ip', '-j', 'link', 'show'];
  return JSON.parse(await runCommand(netns ? ['nsenter', `--net=${netns}`, ...argv] : argv)) as IpLink[];
}

/** Host-side device names of the container interfaces `devs`, in order. */
export async function hostEnds(netns: string, devs: readonly string[]): Promise<string[]> {
  if (!devs.length) return [];
  const inside = await links(netns);
  const host = await links();
  return devs.map((dev) => {
    const c = inside.find((l) => l.ifname === dev);
    const h = c?.link_index === undefined ? undefined : host.find((l) => l.ifindex === c.link_index && l.link_index === c.ifindex);
    if (!h) throw new NotImplementedError(`cannot find the host's end of ${dev}: faults need a veth pair with one end in berthd's namespace`);
    return h.ifname;
  });
}
