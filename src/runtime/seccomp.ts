/**
 * Seccomp for containers: Docker's profile format (moby
 * `profiles/seccomp/default.json`, shipped as `assets/seccomp-default.json`)
 * converted to the OCI `linux.seccomp` section the way dockerd does it
 * (moby `profiles/seccomp/seccomp_linux.go` `setupSeccomp`):
 *
 * - `architectures` is the `archMap` entry for the host's architecture plus
 *   its sub-architectures (x86_64 → X86_64, X86, X32);
 * - a syscall group is dropped when `excludes` matches (host arch listed, a
 *   listed capability is in the container's bounding set, or the kernel is at
 *   least `minKernel`) and kept only when all of `includes` holds (every
 *   listed capability in the bounding set, host arch listed, kernel at least
 *   `minKernel`);
 * - what remains keeps `names`, `action`, `errnoRet` and `args`.
 *
 * Container start is a hot path, so the default profile is read once and its
 * conversion cached per capability set.
 */
import { existsSync, readFileSync } from 'node:fs';
import { endianness, release } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidParameterError } from '../errors.js';
import type { LinuxSeccomp, SeccompAction, SeccompArg, SeccompSyscall } from './oci-types.js';

/** A condition on a syscall group (`includes` / `excludes`). */
export interface ProfileFilter {
  caps?: string[] | null;
  arches?: string[] | null;
  minKernel?: string | null;
}

/** One group in Docker's profile format. */
export interface ProfileSyscall {
  /** Legacy single-name form. */
  name?: string;
  names?: string[] | null;
  action: SeccompAction;
  errnoRet?: number | null;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: ProfileFilter | null;
  excludes?: ProfileFilter | null;
}

/** Docker's seccomp profile format (moby `api/types` `seccomp.Seccomp`). */
export interface SeccompProfile {
  defaultAction?: SeccompAction | '';
  defaultErrnoRet?: number | null;
  architectures?: string[] | null;
  archMap?: { architecture: string; subArchitectures?: string[] | null }[] | null;
  flags?: string[] | null;
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: ProfileSyscall[] | null;
}

/** What a conversion depends on besides the profile. */
export interface SeccompContext {
  /** Go's name for the host architecture (`amd64`, `arm64`, …): the profile's `arches` use it. */
  arch: string;
  /** Running kernel as `[major, minor]`. */
  kernel: readonly [number, number];
  /** The container's bounding capability set. */
  capabilities: readonly string[];
}

/** Node's `process.arch` → Go's `GOARCH` (the vocabulary of the profile's `arches`). */
const GO_ARCH: Record<string, string> = {
  x64: 'amd64', ia32: '386', arm64: 'arm64', arm: 'arm', s390x: 's390x', s390: 's390',
  riscv64: 'riscv64', loong64: 'loong64', mips: 'mips', mipsel: 'mipsle', mips64el: 'mips64le', ppc: 'ppc',
};

/** `GOARCH` → libseccomp architecture (moby `seccompArch`). */
const SCMP_ARCH: Record<string, string> = {
  '386': 'SCMP_ARCH_X86', amd64: 'SCMP_ARCH_X86_64', arm: 'SCMP_ARCH_ARM', arm64: 'SCMP_ARCH_AARCH64',
  mips: 'SCMP_ARCH_MIPS', mipsle: 'SCMP_ARCH_MIPSEL', mips64: 'SCMP_ARCH_MIPS64', mips64le: 'SCMP_ARCH_MIPSEL64',
  ppc: 'SCMP_ARCH_PPC', ppc64: 'SCMP_ARCH_PPC64', ppc64le: 'SCMP_ARCH_PPC64LE', riscv64: 'SCMP_ARCH_RISCV64',
  s390: 'SCMP_ARCH_S390', s390x: 'SCMP_ARCH_S390X', loong64: 'SCMP_ARCH_LOONGARCH64',
};

/** The host architecture in Go's vocabulary. */
export function hostArch(): string {
  if (process.arch === 'ppc64') return endianness() === 'BE' ? 'ppc64' : 'ppc64le';
  return GO_ARCH[process.arch] ?? process.arch;
}

/** Parses `6.18.44-fc-v669` or a profile's `4.8` into `[major, minor]`. */
export function parseKernelVersion(v: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(v.trim());
  if (!m) throw new InvalidParameterError(`invalid kernel version: ${JSON.stringify(v)}`);
  return [Number(m[1]), Number(m[2])];
}

let runningKernel: [number, number] | undefined;
/** The running kernel's `[major, minor]`, read once. */
export function kernelVersion(): readonly [number, number] {
  return (runningKernel ??= parseKernelVersion(release()));
}

function kernelAtLeast(kernel: readonly [number, number], min: string): boolean {
  const [maj, min2] = parseKernelVersion(min);
  return kernel[0] > maj || (kernel[0] === maj && kernel[1] >= min2);
}

function excluded(f: ProfileFilter | null | undefined, ctx: SeccompContext): boolean {
  if (!f) return false;
  if (f.arches?.length && f.arches.includes(ctx.arch)) return true;
  if (f.caps?.length && f.caps.some((c) => ctx.capabilities.includes(c))) return true;
  if (f.minKernel && kernelAtLeast(ctx.kernel, f.minKernel)) return true;
  return false;
}

function included(f: ProfileFilter | null | undefined, ctx: SeccompContext): boolean {
  if (!f) return true;
  if (f.arches?.length && !f.arches.includes(ctx.arch)) return false;
  if (f.caps?.length && !f.caps.every((c) => ctx.capabilities.includes(c))) return false;
  if (f.minKernel && !kernelAtLeast(ctx.kernel, f.minKernel)) return false;
  return true;
}

function convertArgs(args: SeccompArg[]): SeccompArg[] {
  // dockerd's JSON leaves `valueTwo` out when it is zero (Go `omitempty`).
  return args.map((a) => (a.valueTwo ? { index: a.index, value: a.value, valueTwo: a.valueTwo, op: a.op } : { index: a.index, value: a.value, op: a.op }));
}

/**
 * Converts a profile for one container. Pure: the host facts come in `ctx`.
 * A profile with neither a default action nor syscalls means "no seccomp"
 * (returns undefined), as in dockerd.
 */
export function convertProfile(profile: SeccompProfile, ctx: SeccompContext): LinuxSeccomp | undefined {
  if (!profile.defaultAction && !profile.syscalls?.length) return undefined;
  if (!profile.defaultAction) throw new InvalidParameterError('Decoding seccomp profile failed: defaultAction is required');
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new InvalidParameterError("Decoding seccomp profile failed: 'architectures' and 'archMap' were both specified in the seccomp profile, use either 'architectures' or 'archMap'");
  }
  const out: LinuxSeccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet != null) out.defaultErrnoRet = profile.defaultErrnoRet;
  if (profile.archMap?.length) {
    const mine = SCMP_ARCH[ctx.arch];
    const entry = profile.archMap.find((a) => a.architecture === mine);
    out.architectures = entry ? [entry.architecture, ...(entry.subArchitectures ?? [])] : [];
  } else if (profile.architectures?.length) {
    out.architectures = [...profile.architectures];
  }
  if (profile.flags?.length) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;
  const syscalls: SeccompSyscall[] = [];
  for (const call of profile.syscalls ?? []) {
    if (call.name && call.names?.length) {
      throw new InvalidParameterError("Decoding seccomp profile failed: 'name' and 'names' were specified in the seccomp profile, use 'names'");
    }
    if (excluded(call.excludes, ctx) || !included(call.includes, ctx)) continue;
    const names = call.names?.length ? [...call.names] : call.name ? [call.name] : [];
    const s: SeccompSyscall = { names, action: call.action };
    if (call.errnoRet != null) s.errnoRet = call.errnoRet;
    if (call.args?.length) s.args = convertArgs(call.args);
    syscalls.push(s);
  }
  out.syscalls = syscalls;
  return out;
}

/** Parses a profile's JSON text with Docker's error wording. */
export function parseProfile(json: string): SeccompProfile {
  let p: unknown;
  try {
    p = JSON.parse(json);
  } catch (e) {
    throw new InvalidParameterError(`Decoding seccomp profile failed: ${(e as Error).message}`);
  }
  if (typeof p !== 'object' || p === null || Array.isArray(p)) {
    throw new InvalidParameterError('Decoding seccomp profile failed: the profile must be a JSON object');
  }
  return p as SeccompProfile;
}

/** `assets/seccomp-default.json`, found from this module in `src/` or `dist/src/`. */
function defaultProfilePath(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    const p = join(dir, 'assets', 'seccomp-default.json');
    if (existsSync(p)) return p;
    dir = dirname(dir);
  }
  throw new Error('assets/seccomp-default.json not found next to berth');
}

let defaultProfile: SeccompProfile | undefined;
const defaultCache = new Map<string, LinuxSeccomp>();

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

function hostContext(capabilities: readonly string[]): SeccompContext {
  return { arch: hostArch(), kernel: kernelVersion(), capabilities };
}

/**
 * Docker's default profile for a container with this bounding set. The
 * result is shared between containers with the same set and frozen: copy it
 * before changing it.
 */
export function defaultSeccomp(capabilities: readonly string[]): LinuxSeccomp {
  const key = [...capabilities].sort().join(',');
  let s = defaultCache.get(key);
  if (!s) {
    defaultProfile ??= parseProfile(readFileSync(defaultProfilePath(), 'utf8'));
    s = deepFreeze(convertProfile(defaultProfile, hostContext(capabilities))!);
    defaultCache.set(key, s);
  }
  return s;
}

/**
 * The `linux.seccomp` section for a container, from the value of its
 * `--security-opt seccomp=…` (undefined when none was given):
 *
 * - none or `builtin` → Docker's default profile;
 * - `unconfined` → no seccomp;
 * - JSON text (what the docker CLI sends: it reads the file itself and puts
 *   the profile's content in the option) → that profile;
 * - anything else → a path on the daemon's host to a profile file.
 */
export function resolveSeccomp(option: string | undefined, capabilities: readonly string[]): LinuxSeccomp | undefined {
  if (option === undefined || option === '' || option === 'builtin') return defaultSeccomp(capabilities);
  if (option === 'unconfined') return undefined;
  let json = option;
  if (!option.trimStart().startsWith('{')) {
    try {
      json = readFileSync(option, 'utf8');
    } catch (e) {
      throw new InvalidParameterError(`opening seccomp profile (${option}) failed: ${(e as Error).message}`);
    }
  }
  return convertProfile(parseProfile(json), hostContext(capabilities));
}
