/**
 * `HostConfig.DeviceCgroupRules` (`--device-cgroup-rule`): extra entries for
 * the device cgroup's allow list, as `<type> <major>:<minor> <access>` (e.g.
 * `c 7:128 rwm`, `b *:* r`). They become OCI `linux.resources.devices`
 * entries after Docker's defaults, as moby's
 * `oci.AppendDevicePermissionsFromCgroupRules` appends them. They grant
 * access to device nodes only; making the nodes is `--device`'s job.
 */
import { InvalidParameterError } from '../errors.js';
import type { DeviceCgroup } from './oci-types.js';

/** moby `deviceCgroupRuleRegex`: a (all), c (char) or b (block), numbers or `*`, one to three of r, w, m. */
const RULE_RE = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** Go's int64 range: a major/minor past it fails strconv.ParseInt as it does in dockerd. */
const INT64_MAX = 9223372036854775807n;

function number(text: string, which: 'major' | 'minor', rule: string): number | undefined {
  // moby writes -1 for `*`, which runc reads as a wildcard but crun writes
  // verbatim (the kernel refuses it); the OCI spec's wildcard is the field left out.
  if (text === '*') return undefined;
  const n = BigInt(text);
  if (n > INT64_MAX) throw new InvalidParameterError(`invalid ${which} value in device cgroup rule format: '${rule}'`);
  // The kernel's device numbers are 32-bit; a larger one can never match, and
  // JSON numbers past 2^53 would not survive the spec file. Refuse it loudly.
  if (n > 0xffffffffn) throw new InvalidParameterError(`invalid ${which} value in device cgroup rule format: '${rule}'`);
  return Number(n);
}

/** One rule as an OCI allow entry; InvalidParameterError with dockerd's words when malformed. */
export function parseDeviceCgroupRule(rule: string): DeviceCgroup {
  const m = RULE_RE.exec(rule);
  if (!m) throw new InvalidParameterError(`invalid device cgroup rule format: '${rule}'`);
  const major = number(m[2], 'major', rule);
  const minor = number(m[3], 'minor', rule);
  return {
    allow: true, type: m[1] as 'a' | 'b' | 'c', ...(major !== undefined ? { major } : {}), ...(minor !== undefined ? { minor } : {}), access: m[4],
  };
}

/**
 * The rules' OCI entries, in order (an empty or absent list gives none).
 *
 * A type-`a` rule for particular devices or with less than `rwm` becomes a
 * `c` and a `b` entry with the same numbers and access: cgroup v1's
 * devices.allow reads any `a` line as "every device, rwm" whatever follows
 * it (and runc's emulator does the same), so `a 8:0 r` written as is would
 * let the container read and write the host's disks. Only `a *:* rwm`,
 * which means exactly that, stays one `a` entry.
 */
export function deviceCgroupEntries(rules: readonly string[] | null | undefined): DeviceCgroup[] {
  return (rules ?? []).flatMap((rule) => {
    const e = parseDeviceCgroupRule(rule);
    const everything = e.major === undefined && e.minor === undefined && ['r', 'w', 'm'].every((p) => e.access?.includes(p));
    if (e.type !== 'a' || everything) return [e];
    return [{ ...e, type: 'c' as const }, { ...e, type: 'b' as const }];
  });
}
