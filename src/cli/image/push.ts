/** `berth push`: `POST /images/{full name}/push?tag=…` with the registry credentials, progress on stdout. */
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { registryAuthHeader } from '../registry/auth.js';
import { displayJsonMessages } from '../stream/jsonmessage.js';
import { formatReference, repositoryName } from '../../image/reference.js';
import { normalizeImageRef } from './pull-image.js';

export const pushCommand: Command = {
  name: 'push', usage: '[OPTIONS] NAME[:TAG]', short: 'Upload an image to a registry',
  aliasesHelp: 'berth image push, berth push', group: 'common', args: { min: 1, max: 1 },
  flags: [
    { name: 'all-tags', short: 'a', kind: 'bool', usage: 'Push all tags of an image to the repository' },
    { name: 'disable-content-trust', kind: 'bool', default: true, defaultText: 'true', usage: 'Skip image signing' },
    { name: 'platform', kind: 'string', usage: 'Push a platform-specific manifest as a single-platform image to the registry.' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
  ],
  async run(ctx, f) {
    let ref;
    try {
      ref = normalizeImageRef(f.args[0]);
    } catch (e) {
      throw new StatusError(1, (e as Error).message);
    }
    const all = f.bool('all-tags');
    const nameOnly = !ref.tag && !ref.digest;
    if (all && !nameOnly) throw new StatusError(1, "tag can't be used with --all-tags/-a");
    if (ref.digest) throw new StatusError(1, 'cannot push a digest reference');
    if (!all && nameOnly) {
      ref = { ...ref, tag: 'latest' };
      if (!f.bool('quiet')) ctx.out.write('Using default tag: latest\n');
    }
    const client = await ctx.client();
    const name = repositoryName(ref);
    const res = await client.request('POST', apiPath`/images/${name}/push`, {
      query: { tag: all ? undefined : ref.tag, platform: f.string('platform') || undefined },
      headers: { 'X-Registry-Auth': registryAuthHeader(ctx.config, name) },
    });
    const quiet = f.bool('quiet');
    const out = quiet ? { write: () => true, isTTY: false } as unknown as typeof ctx.out : ctx.out;
    await displayJsonMessages(res, out, { isTerminal: Boolean(out.isTTY), width: ctx.out.columns });
    if (quiet) ctx.out.write(`${all ? name : formatReference(ref)}\n`);
  },
};
