/**
 * Linux capabilities as Docker hands them to a container: the default set,
 * `--cap-add` / `--cap-drop` (including `ALL`), and `--privileged`.
 *
 * Semantics follow moby's `oci/caps` (`DefaultCapabilities`,
 * `NormalizeLegacyCapabilities`, `TweakCapabilities`), with one deliberate
 * difference for the machines berth runs on: "all capabilities" is the
 * kernel's list (`/proc/sys/kernel/cap_last_cap`) *intersected with berthd's
 * own bounding set*, the way Podman does it (`containers/common`
 * `pkg/capabilities.BoundingSet`). The sandbox berthd runs in lacks
 * CAP_SYS_RESOURCE; asking the runtime for a capability its caller does not
 * hold fails with EPERM at `capset`, so Docker's unfiltered list would make
 * every privileged container fail here.
 */
import { readFileSync } from 'node:fs';
import { InvalidParameterError } from '../errors.js';

/**
 * Capability names by number (`include/uapi/linux/capability.h`). The kernel
 * may know fewer (older kernels) or more (newer ones) than this table; only
 * numbers up to `cap_last_cap` that have a name here are offered.
 */
const CAPABILITY_NAMES: readonly string[] = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_DAC_READ_SEARCH', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETPCAP', 'CAP_LINUX_IMMUTABLE', 'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST', 'CAP_NET_ADMIN', 'CAP_NET_RAW', 'CAP_IPC_LOCK', 'CAP_IPC_OWNER',
  'CAP_SYS_MODULE', 'CAP_SYS_RAWIO', 'CAP_SYS_CHROOT', 'CAP_SYS_PTRACE', 'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN', 'CAP_SYS_BOOT', 'CAP_SYS_NICE', 'CAP_SYS_RESOURCE', 'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG', 'CAP_MKNOD', 'CAP_LEASE', 'CAP_AUDIT_WRITE', 'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP', 'CAP_MAC_OVERRIDE', 'CAP_MAC_ADMIN', 'CAP_SYSLOG', 'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND', 'CAP_AUDIT_READ', 'CAP_PERFMON', 'CAP_BPF', 'CAP_CHECKPOINT_RESTORE',
];

/**
 * Docker's default set, in Docker's order (`moby/moby@v28.2.2
 * oci/caps/defaults.go`; the dockerd 20.10 bundle lists the same 14). As a
 * `CapEff` mask this is `00000000a80425fb`.
 */
export const DEFAULT_CAPABILITIES: readonly string[] = Object.freeze([
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW',
  'CAP_SETGID', 'CAP_SETUID', 'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
]);

/** The magic value `--cap-add ALL` / `--cap-drop ALL`. */
const ALL = 'ALL';

interface HostCaps {
  /** Every capability the running kernel knows, in number order. */
  known: readonly string[];
  /** `known` filtered to berthd's bounding set: what a container can be given. */
  available: readonly string[];
  /** berthd's effective set. */
  effective: ReadonlySet<string>;
}

let hostCaps: HostCaps | undefined;

function statusMask(status: string, field: string): bigint | undefined {
  const m = new RegExp(`^${field}:\\s*([0-9a-f]+)$`, 'm').exec(status);
  return m ? BigInt(`0x${m[1]}`) : undefined;
}

/** Read once: the kernel's last capability and this process's sets. */
function host(): HostCaps {
  if (hostCaps) return hostCaps;
  let last = CAPABILITY_NAMES.length - 1;
  try {
    last = Math.min(last, Number(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8').trim()));
  } catch { /* no procfs entry (very old kernels): assume the whole table */ }
  const known = CAPABILITY_NAMES.slice(0, last + 1);
  let bounding: bigint | undefined;
  let effective: bigint | undefined;
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    bounding = statusMask(status, 'CapBnd');
    effective = statusMask(status, 'CapEff');
  } catch { /* unreadable: treat as holding everything */ }
  const has = (mask: bigint | undefined, i: number) => mask === undefined || ((mask >> BigInt(i)) & 1n) === 1n;
  hostCaps = {
    known: Object.freeze(known),
    available: Object.freeze(known.filter((_, i) => has(bounding, i))),
    effective: new Set(known.filter((_, i) => has(effective, i))),
  };
  return hostCaps;
}

/** Every capability the running kernel supports, `CAP_*` names in number order. */
export function knownCapabilities(): readonly string[] {
  return host().known;
}

/**
 * What `--privileged` and `--cap-add ALL` grant: the kernel's capabilities
 * that berthd itself can pass on (see the module comment).
 */
export function allCapabilities(): readonly string[] {
  return host().available;
}

/** Whether berthd runs with `cap` (a `CAP_*` name) in its effective set. */
export function hostHasCapability(cap: string): boolean {
  return host().effective.has(cap);
}

/**
 * `chown`, `CAP_CHOWN`, `cap_chown` → `CAP_CHOWN`; `all` → `ALL`. Unknown
 * names are refused with Docker's message (`unknown capability: "CAP_FOO"`).
 */
export function normalizeCapability(name: string): string {
  let c = name.toUpperCase();
  if (c === ALL) return ALL;
  if (!c.startsWith('CAP_')) c = `CAP_${c}`;
  if (!host().known.includes(c)) throw new InvalidParameterError(`unknown capability: "${c}"`);
  return c;
}

/**
 * The container's capability set with Docker's rules (`TweakCapabilities`):
 * privileged → everything; `--cap-add ALL` → everything except what is
 * dropped; `--cap-drop ALL` → only what is added; otherwise the defaults minus
 * drops plus adds. Names are normalised and validated even when the result
 * would not need them, as Docker does. The result has no duplicates.
 *
 * A capability berthd does not hold cannot be granted (the runtime would fail
 * with EPERM); adding one explicitly is refused up front.
 */
export function resolveCapabilities(
  capAdd: readonly string[] | null | undefined,
  capDrop: readonly string[] | null | undefined,
  privileged = false,
): string[] {
  const available = host().available;
  if (privileged) return [...available];
  const adds = (capAdd ?? []).map(normalizeCapability);
  const drops = (capDrop ?? []).map(normalizeCapability);
  if (adds.length === 0 && drops.length === 0) return [...DEFAULT_CAPABILITIES];
  let caps: string[];
  if (adds.includes(ALL)) {
    caps = available.filter((c) => !drops.includes(c));
  } else {
    for (const c of adds) {
      if (!available.includes(c)) {
        throw new InvalidParameterError(`cannot add capability ${c}: berthd itself does not hold it, so no container can be given it`);
      }
    }
    const base = drops.includes(ALL) ? [] : DEFAULT_CAPABILITIES.filter((c) => !drops.includes(c));
    caps = [...base, ...adds];
  }
  return [...new Set(caps)];
}
