/**
 * Pulling through the daemon (`POST /images/create?fromImage=…&tag=…`) and
 * rendering its progress stream — shared by `pull` and by `run`/`create`
 * when the image is missing. Names are sent fully qualified
 * (`docker.io/library/busybox`) with the tag or digest apart, as Docker's
 * client does.
 */
import type { ApiClient } from '../client.js';
import type { CliContext, OutStream } from '../context.js';
import { StatusError } from '../errors.js';
import { displayJsonMessages } from '../stream/jsonmessage.js';
import { registryAuthHeader } from '../registry/auth.js';
import { familiarString, parseReference, repositoryName, withDefaultTag, type Reference } from '../../image/reference.js';

/** reference.ParseNormalizedNamed, with Docker's error text. */
export function normalizeImageRef(image: string): Reference {
  try {
    return parseReference(image);
  } catch (e) {
    throw new Error((e as Error).message);
  }
}

/** `busybox` → `busybox:latest` as the messages show it. */
export function familiarTagged(image: string): string {
  return familiarString(withDefaultTag(normalizeImageRef(image)));
}

/**
 * The reference `pull` and `push` act on, as Docker's runPull/runPush read
 * their argument: `--all-tags` takes a bare name, and a bare name without it
 * gets `latest`, said on stdout unless quiet.
 */
export function transferReference(ctx: CliContext, arg: string, opts: { allTags: boolean; quiet: boolean; digestAllowed: boolean }): Reference {
  let ref: Reference;
  try {
    ref = normalizeImageRef(arg);
  } catch (e) {
    throw new StatusError(1, (e as Error).message);
  }
  const nameOnly = !ref.tag && !ref.digest;
  if (opts.allTags && !nameOnly) throw new StatusError(1, "tag can't be used with --all-tags/-a");
  if (ref.digest && !opts.digestAllowed) throw new StatusError(1, 'cannot push a digest reference');
  if (!opts.allTags && nameOnly) {
    ref = { ...ref, tag: 'latest' };
    if (!opts.quiet) ctx.out.write('Using default tag: latest\n');
  }
  return ref;
}

export interface PullOptions {
  platform?: string;
  /** Discard the progress output. */
  quiet?: boolean;
  /** Where the progress goes (stdout for `pull`, stderr for `run`). */
  out: OutStream;
  allTags?: boolean;
}

export async function pullImage(ctx: CliContext, client: ApiClient, image: string, opts: PullOptions): Promise<void> {
  const ref = normalizeImageRef(image);
  const tag = ref.digest ?? (opts.allTags ? undefined : ref.tag ?? 'latest');
  const res = await client.request('POST', '/images/create', {
    query: { fromImage: repositoryName(ref), tag, platform: opts.platform || undefined },
    headers: { 'X-Registry-Auth': registryAuthHeader(ctx.config, image) },
  });
  const out = opts.quiet ? discard() : opts.out;
  await displayJsonMessages(res, out, { isTerminal: Boolean(out.isTTY), width: out.columns });
}

function discard(): OutStream {
  return { write: () => true, isTTY: false } as unknown as OutStream;
}
