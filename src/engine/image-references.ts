/**
 * The names an image is known by, as `rmi` weighs them (moby
 * daemon/images/image_delete.go). A repository reference is a tag
 * (`docker.io/library/busybox:latest`, the tags table) or a digest reference
 * (`docker.io/library/busybox@sha256:…`, a manifest a pull or push recorded).
 */
import { familiarString, parseReference } from '../image/reference.js';

export interface RepoRef {
  /** `docker.io/library/busybox`. */
  repository: string;
  tag?: string;
  digest?: string;
}

export function tagRef(stored: string): RepoRef {
  const r = parseReference(stored);
  return { repository: `${r.domain}/${r.path}`, tag: r.tag };
}

/** `busybox:latest`, `busybox@sha256:…`: what `Untagged:` shows. */
export function familiarRef(r: RepoRef): string {
  const p = parseReference(r.repository);
  return familiarString({ ...p, tag: r.tag, digest: r.digest });
}

/**
 * True when the references amount to one name: at most one tag, and every
 * digest reference in the tag's repository. Then removing the image by ID
 * needs no force, and removing the name would leave the image dangling.
 */
export function isSingleReference(refs: readonly RepoRef[]): boolean {
  if (refs.length <= 1) return refs.length === 1;
  const tagged = refs.filter((r) => r.tag !== undefined);
  if (tagged.length > 1) return false;
  const digestRepos = new Set(refs.filter((r) => r.digest !== undefined).map((r) => r.repository));
  const single = tagged[0] ?? refs[0];
  return digestRepos.size === 1 && digestRepos.has(single.repository);
}

/**
 * Whether the name `rmi` was given is the image's ID or a prefix of it
 * (`sha256:3f57…`, `3f57…`), as opposed to a name that found it. A tag that
 * only looks like a digest (`sha256:sometag`) is not a prefix of the ID, so it
 * removes that tag alone.
 */
export function isImageIdPrefix(imageId: string, given: string): boolean {
  return imageId.startsWith(given) || imageId.slice(imageId.indexOf(':') + 1).startsWith(given);
}
