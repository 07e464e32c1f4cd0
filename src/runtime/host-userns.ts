/**
 * Whether berthd itself runs in a user namespace (rootless berthd,
 * src/rootless/): then its "root" is an ordinary user on the host, and what
 * needs the host's IDs (sysctls naming group ranges, cgroups) is left out
 * as moby's `userns.RunningInUserNS()` leaves it out.
 */
import { readFileSync } from 'node:fs';

let inside: boolean | undefined;

/** True unless /proc/self/uid_map is the initial namespace's identity map `0 0 4294967295`. */
export function runningInUserNamespace(): boolean {
  if (inside === undefined) {
    try {
      const f = readFileSync('/proc/self/uid_map', 'utf8').trim().split(/\s+/);
      inside = !(f.length === 3 && f[0] === '0' && f[1] === '0' && f[2] === '4294967295');
    } catch {
      inside = false;
    }
  }
  return inside;
}
