/**
 * Choosing one image from a Docker manifest list or an OCI image index.
 *
 * Platforms are spelled as in the image spec's `platform` object (`os`,
 * `architecture`, `variant`; image-spec v1.1 `image-index.md`) and on the
 * command line as `os[/arch[/variant]]` (`docker pull --platform`). Names are
 * normalised the way Docker's platform matcher does before comparing:
 * `x86_64` is `amd64`, `aarch64` is `arm64`, `arm64` means `arm64/v8`, a bare
 * `arm` means `arm/v7`.
 *
 * Which entries can stand in for the wanted platform, best first:
 * - the exact platform;
 * - `arm/vN`: the older ARM variants down to v5 (a v7 CPU runs v6 code);
 * - `arm64`: then 32-bit `arm` at v8 and below, which arm64 CPUs execute;
 * - `amd64/vN`: lower x86-64 micro-architecture levels, then `386`.
 * Among entries for the same platform the first one in the list wins, as in
 * Docker. None matching is the error Docker prints:
 * `no matching manifest for linux/amd64 in the manifest list entries`.
 */
import { InvalidParameterError, NotFoundError } from '../../errors.js';
import { hostArchitecture } from '../../image/config.js';

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An index entry: a descriptor with an optional `platform`. */
export interface PlatformDescriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: Platform & { 'os.version'?: string; 'os.features'?: string[] };
  annotations?: Record<string, string>;
}

const KNOWN_OS = new Set([
  'aix', 'android', 'darwin', 'dragonfly', 'freebsd', 'hurd', 'illumos', 'ios', 'js', 'linux',
  'nacl', 'netbsd', 'openbsd', 'plan9', 'solaris', 'wasip1', 'windows', 'zos',
]);
const KNOWN_ARCH = new Set([
  '386', 'amd64', 'amd64p32', 'arm', 'armbe', 'arm64', 'arm64be', 'loong64', 'mips', 'mipsle', 'mips64',
  'mips64le', 'mips64p32', 'mips64p32le', 'ppc', 'ppc64', 'ppc64le', 'riscv', 'riscv64', 's390', 's390x',
  'sparc', 'sparc64', 'wasm',
]);

function normalizeVariant(architecture: string, variant: string): string | undefined {
  const v = variant.toLowerCase();
  const numbered = /^[0-9]+$/.test(v) ? `v${v}` : v;
  switch (architecture) {
    case 'arm64':
      return numbered === '' || numbered === 'v8' ? undefined : numbered;
    case 'arm':
      return numbered === '' ? 'v7' : numbered;
    case 'amd64':
      return numbered === '' || numbered === 'v1' ? undefined : numbered;
    default:
      return numbered || undefined;
  }
}

/** The canonical spelling of a platform; unknown names pass through lowercased. */
export function normalizePlatform(p: Platform): Platform {
  const os = p.os.toLowerCase();
  let architecture = p.architecture.toLowerCase();
  let variant = p.variant ?? '';
  switch (architecture) {
    case 'x86_64': case 'x86-64': case 'x64': architecture = 'amd64'; break;
    case 'aarch64': architecture = 'arm64'; break;
    case 'armhf': architecture = 'arm'; variant ||= 'v7'; break;
    case 'armel': architecture = 'arm'; variant ||= 'v6'; break;
    case 'i386': case 'i686': case 'x86': architecture = '386'; break;
  }
  const v = normalizeVariant(architecture, variant);
  return v ? { os, architecture, variant: v } : { os, architecture };
}

/** The platform this daemon runs images for (`linux/amd64` here). */
export function defaultPlatform(): Platform {
  return normalizePlatform({ os: 'linux', architecture: hostArchitecture() });
}

/**
 * Parses `--platform` (`linux`, `linux/arm64`, `linux/arm/v7`; an OS alone
 * means this host's architecture). InvalidParameterError for anything else.
 */
export function parsePlatform(spec: string): Platform {
  const parts = spec.trim().split('/');
  const bad = (why: string) => new InvalidParameterError(`invalid platform "${spec}": ${why}`);
  if (parts.length > 3 || parts.some((p) => !/^[A-Za-z0-9_.-]+$/.test(p))) {
    throw bad('expected os[/architecture[/variant]]');
  }
  const [os, architecture, variant] = parts;
  const p = normalizePlatform({ os, architecture: architecture ?? defaultPlatform().architecture, variant });
  if (!KNOWN_OS.has(p.os)) throw bad(`unknown operating system "${os}"`);
  if (!KNOWN_ARCH.has(p.architecture)) throw bad(`unknown architecture "${architecture}"`);
  return p;
}

/** `os/arch[/variant]`, as Docker prints platforms. */
export function formatPlatform(p: Platform): string {
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** Platforms whose images run where `want` is asked for, best first. */
export function compatiblePlatforms(want: Platform): Platform[] {
  const p = normalizePlatform(want);
  const out: Platform[] = [p];
  const level = (v: string | undefined, dflt: number) => (v && /^v[0-9]+$/.test(v) ? Number(v.slice(1)) : dflt);
  const armFrom = (top: number) => {
    for (let n = top; n >= 5; n--) out.push({ os: p.os, architecture: 'arm', variant: `v${n}` });
  };
  switch (p.architecture) {
    case 'arm': {
      const n = level(p.variant, 7);
      out.length = 0;
      armFrom(n);
      if (p.variant && !/^v[0-9]+$/.test(p.variant)) out.unshift(p);
      break;
    }
    case 'arm64':
      armFrom(Math.min(level(p.variant, 8), 8));
      break;
    case 'amd64':
      for (let n = level(p.variant, 1) - 1; n >= 2; n--) out.push({ os: p.os, architecture: 'amd64', variant: `v${n}` });
      if (p.variant) out.push({ os: p.os, architecture: 'amd64' });
      out.push({ os: p.os, architecture: '386' });
      break;
  }
  return out;
}

const samePlatform = (a: Platform, b: Platform) =>
  a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');

/**
 * The index entry to pull for `want` (default: this host's platform).
 * NotFoundError `no matching manifest for <platform> in the manifest list entries`
 * when none fits; entries without a `platform` never match.
 */
export function selectManifest<T extends PlatformDescriptor>(manifests: readonly T[], want: Platform = defaultPlatform()): T {
  const candidates = compatiblePlatforms(want);
  let best: { rank: number; entry: T } | undefined;
  for (const entry of manifests) {
    if (!entry.platform?.os || !entry.platform.architecture) continue;
    const have = normalizePlatform(entry.platform);
    const rank = candidates.findIndex((c) => samePlatform(c, have));
    if (rank >= 0 && (!best || rank < best.rank)) best = { rank, entry };
  }
  if (!best) {
    throw new NotFoundError(`no matching manifest for ${formatPlatform(normalizePlatform(want))} in the manifest list entries`);
  }
  return best.entry;
}
