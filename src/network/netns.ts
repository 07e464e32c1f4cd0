/**
 * The one module that calls `ip netns`: a container's network namespace is
 * a named, bind-mounted namespace `/run/netns/berth-<short id>` that exists
 * before the container (netavark configures it, then the OCI runtime joins
 * it by path) and is deleted after netavark's teardown.
 */
import { existsSync } from 'node:fs';
import { runCommand } from '../run-command.js';

export const NETNS_DIR = '/run/netns';

export function netnsName(containerId: string): string {
  return `berth-${containerId.slice(0, 12)}`;
}

export function netnsPath(name: string): string {
  return `${NETNS_DIR}/${name}`;
}

/** ip(8) with `args`. */
export async function ip(args: string[]): Promise<void> {
  await runCommand(['ip', ...args]);
}

/** Creates the named namespace (replacing a stale one a crash left) and returns its path. */
export async function createNetns(name: string): Promise<string> {
  if (existsSync(netnsPath(name))) await ip(['netns', 'delete', name]).catch(() => undefined);
  await ip(['netns', 'add', name]);
  return netnsPath(name);
}

/** Deletes the named namespace; one that is already gone is fine. */
export async function deleteNetns(name: string): Promise<void> {
  if (!existsSync(netnsPath(name))) return;
  await ip(['netns', 'delete', name]);
}
