/**
 * Traffic counters of a container's interfaces, for `docker stats`' NET I/O.
 * dockerd asks netlink inside the container's sandbox for each endpoint's
 * interface (`libnetwork` `Sandbox.Statistics`); the kernel shows the same
 * counters, per network namespace, in `/proc/<pid>/net/dev` of any process
 * in that namespace, so berth reads the file of the container's init. The
 * loopback device is not an endpoint and is left out.
 */
import { readFile } from 'node:fs/promises';

/** Docker's `NetworkStats` (API names). */
export interface InterfaceStats {
  rx_bytes: number;
  rx_packets: number;
  rx_errors: number;
  rx_dropped: number;
  tx_bytes: number;
  tx_packets: number;
  tx_errors: number;
  tx_dropped: number;
}

/**
 * The counters of every interface but `lo` in the network namespace of
 * process `pid`, by interface name (`eth0`); null when the process is gone.
 */
export async function readInterfaceStats(pid: number): Promise<Record<string, InterfaceStats> | null> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/net/dev`, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ESRCH') return null;
    throw e;
  }
  return parseNetDev(text);
}

/**
 * `/proc/net/dev`: two header lines, then `name: ` and sixteen counters —
 * receive bytes packets errs drop fifo frame compressed multicast, transmit
 * bytes packets errs drop fifo colls carrier compressed.
 */
export function parseNetDev(text: string): Record<string, InterfaceStats> {
  const out: Record<string, InterfaceStats> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const name = line.slice(0, colon).trim();
    const f = line.slice(colon + 1).trim().split(/\s+/).map(Number);
    if (!name || name === 'lo' || f.length < 16 || f.some((n) => !Number.isFinite(n))) continue;
    out[name] = {
      rx_bytes: f[0], rx_packets: f[1], rx_errors: f[2], rx_dropped: f[3],
      tx_bytes: f[8], tx_packets: f[9], tx_errors: f[10], tx_dropped: f[11],
    };
  }
  return out;
}
