/**
 * The one platform berth builds for: the host's (`linux/amd64` on these
 * machines). `--platform` (classic `platform=`, buildx's `platform`
 * frontend option) and `FROM --platform=` are read the way containerd's
 * platforms.Normalize reads them — `x86_64` is amd64, `aarch64` arm64, a
 * missing OS is linux, amd64's `v1` variant and arm64's `v8` are the plain
 * architecture — and anything that is not the host's is refused by name:
 * berth has no emulation, and a build "for arm64" that made amd64 images
 * would be a lie.
 */
import { InvalidParameterError, NotImplementedError } from '../errors.js';
import { hostArchitecture } from '../image/config.js';

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', 'x86-64': 'amd64', aarch64: 'arm64', armhf: 'arm', armel: 'arm', i386: '386' };

/** The host's platform, `linux/<arch>`. */
export function hostPlatform(): string {
  return `linux/${hostArchitecture()}`;
}

/** `os[/arch[/variant]]` normalised (lower case, aliases resolved, default variants dropped); throws on a malformed one. */
export function normalizePlatform(spec: string): string {
  const parts = spec.trim().toLowerCase().split('/');
  if (parts.length > 3 || parts.some((p) => !/^[a-z0-9_.-]+$/.test(p))) {
    throw new InvalidParameterError(`invalid platform ${JSON.stringify(spec)}: expected os[/arch[/variant]]`);
  }
  let [os, arch, variant]: (string | undefined)[] = parts;
  // A lone architecture (`amd64`) is linux's, as containerd reads it.
  if (arch === undefined && os !== 'linux' && os !== 'windows' && os !== 'darwin') { arch = os; os = 'linux'; }
  if (arch === undefined) return os === 'linux' ? hostPlatform() : os;
  arch = ARCH_ALIASES[arch] ?? arch;
  if ((arch === 'amd64' && variant === 'v1') || (arch === 'arm64' && variant === 'v8')) variant = undefined;
  return [os, arch, variant].filter((x) => x !== undefined).join('/');
}

/**
 * Refuses a platform that is not the host's; `what` says where it came
 * from in the message (`--platform`, `FROM --platform`). A comma-separated
 * list is checked item by item (buildx sends `linux/amd64,linux/arm64`).
 */
export function checkPlatform(spec: string, what: string): void {
  for (const item of spec.split(',')) {
    if (item.trim() === '') continue;
    const p = normalizePlatform(item);
    if (p !== hostPlatform()) {
      throw new NotImplementedError(`${what}=${item.trim()}: building for ${p} is not supported: berth builds only for the host's platform, ${hostPlatform()}`);
    }
  }
}
