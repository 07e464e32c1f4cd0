/**
 * Image references: Docker's grammar and normalisation (distribution/reference).
 *
 *   reference  := name [ ":" tag ] [ "@" digest ]
 *   name       := [domain "/"] path-component ["/" path-component]*
 *
 * `busybox` normalises to `docker.io/library/busybox:latest`; a first component
 * is a registry domain when it contains "." or ":" or is "localhost".
 * `familiar` gives the short form users see (`busybox:latest`).
 */
import { InvalidParameterError } from '../errors.js';

export const DEFAULT_DOMAIN = 'docker.io';
export const DEFAULT_TAG = 'latest';
/** The longest repository path a reference may name. */
export const NAME_TOTAL_LENGTH_MAX = 255;

export interface Reference {
  /** Registry host[:port], e.g. "docker.io", "127.0.0.1:5000". */
  domain: string;
  /** Repository path inside the registry, e.g. "library/busybox". */
  path: string;
  tag?: string;
  digest?: string;
}

const pathComponent = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagRe = /^[\w][\w.-]{0,127}$/;
const digestRe = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;
const domainRe = /^(?:localhost|(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?))*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?$/;

/** 64 hex digits alone are an image ID, never a name (distribution/reference's anchoredIdentifierRegexp). */
const identifierRe = /^[a-f0-9]{64}$/;

/**
 * The one repository name that is refused although it parses: `sha256:x`
 * would read as a digest, so dockerd's reference store refuses to create it
 * (moby reference/store.go addReference).
 */
export const DIGEST_ALGORITHM_NAME = 'sha256';

/** True for a full or short hex image ID rather than a name. */
export function looksLikeId(s: string): boolean {
  return /^(sha256:)?[a-f0-9]{12,64}$/.test(s);
}

/**
 * The repository part distribution's ParseNormalizedNamed checks for case:
 * after the domain (a first component with `.` or `:`, `localhost`, or
 * upper case), with Docker Hub's `library/` added to a one-component name,
 * up to the first `:` (`Busybox:1` → `library/Busybox`).
 */
function normalizedRemote(s: string): string {
  const slash = s.indexOf('/');
  let domain = DEFAULT_DOMAIN;
  let remote = s;
  if (slash >= 0) {
    const first = s.slice(0, slash);
    if (first === 'localhost' || /[.:]/.test(first) || first !== first.toLowerCase()) {
      domain = first === 'index.docker.io' ? DEFAULT_DOMAIN : first;
      remote = s.slice(slash + 1);
    }
  }
  if (domain === DEFAULT_DOMAIN && !remote.includes('/')) remote = `library/${remote}`;
  const colon = remote.indexOf(':');
  return colon >= 0 ? remote.slice(0, colon) : remote;
}

export function parseReference(input: string): Reference {
  const invalid = () => new InvalidParameterError(`invalid reference format: ${input}`);
  if (!input || input.length > 255 + 128 + 80) throw invalid();
  if (identifierRe.test(input)) throw new InvalidParameterError(`invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  // Before the grammar, as distribution's ParseNormalizedNamed does, and naming what it names.
  const remote = normalizedRemote(input);
  if (remote !== remote.toLowerCase()) throw new InvalidParameterError(`invalid reference format: repository name (${remote}) must be lowercase`);
  let rest = input;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestRe.test(digest)) throw new InvalidParameterError(`invalid reference format: ${input}`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!tagRe.test(tag)) throw invalid();
  }
  if (!rest) throw invalid();
  let domain = DEFAULT_DOMAIN;
  let path = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost' || first !== first.toLowerCase()) {
      domain = first;
      path = rest.slice(slash + 1);
      if (!domainRe.test(domain)) throw invalid();
    }
  }
  if (path !== path.toLowerCase()) {
    throw new InvalidParameterError(`invalid reference format: repository name (${path}) must be lowercase`);
  }
  for (const c of path.split('/')) if (!pathComponent.test(c)) throw invalid();
  if (domain === 'index.docker.io') domain = DEFAULT_DOMAIN;
  if (domain === DEFAULT_DOMAIN && !path.includes('/')) path = `library/${path}`;
  return { domain, path, tag, digest };
}

/**
 * Refuses a repository path longer than distribution's NameTotalLengthMax
 * (counted as normalised: `library/` too), as its Parse does, in its words;
 * registries refuse such names. Applied where a name is given to an image
 * (tag, commit, import, build, load), not where stored names are read back,
 * so that a name an older berth stored can still be listed and removed.
 */
export function checkNameLength(ref: Reference): Reference {
  if (ref.path.length > NAME_TOTAL_LENGTH_MAX) {
    throw new InvalidParameterError(`repository name must not be more than ${NAME_TOTAL_LENGTH_MAX} characters`);
  }
  return ref;
}

/**
 * The reference POST /images/{name}/tag and the `repo`/`tag` query parameters
 * of commit and import name (moby httputils.RepoTagReference): `repo` is a
 * name, perhaps with a tag, that `tag` replaces; `latest` when neither has one.
 */
export function repoTagReference(repo: string, tag?: string): Reference {
  const ref = checkNameLength(parseReference(repo));
  if (ref.digest) throw new InvalidParameterError('cannot import digest reference');
  if (!tag) return withDefaultTag(ref);
  if (!tagRe.test(tag)) throw new InvalidParameterError('invalid tag format');
  return { ...ref, tag };
}

/** Adds the default tag when neither tag nor digest is present. */
export function withDefaultTag(ref: Reference): Reference {
  return ref.tag || ref.digest ? ref : { ...ref, tag: DEFAULT_TAG };
}

/** Full name without tag: `docker.io/library/busybox`. */
export function repositoryName(ref: Reference): string {
  return `${ref.domain}/${ref.path}`;
}

/** Canonical string: `docker.io/library/busybox:latest`. */
export function formatReference(ref: Reference): string {
  let s = repositoryName(ref);
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** The short form Docker prints: `busybox:latest`, `user/app:1`, `host:5000/a:b`. */
export function familiarName(ref: Reference): string {
  let name = repositoryName(ref);
  if (ref.domain === DEFAULT_DOMAIN) {
    name = ref.path.startsWith('library/') && ref.path.split('/').length === 2 ? ref.path.slice(8) : ref.path;
  }
  return name;
}

export function familiarString(ref: Reference): string {
  let s = familiarName(ref);
  if (ref.tag) s += `:${ref.tag}`;
  if (ref.digest) s += `@${ref.digest}`;
  return s;
}

/** Normalised tagged reference string as stored in the tag table. */
export function normalizeTagged(input: string): string {
  return formatReference(withDefaultTag(parseReference(input)));
}
