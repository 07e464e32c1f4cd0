/** `berth push`: `POST /images/{full name}/push?tag=…` with the registry credentials, progress on stdout. */
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { registryAuthHeader } from '../registry/auth.js';
import { displayJsonMessages } from '../stream/jsonmessage.js';
import { formatReference, repositoryName } from '../../image/reference.js';
import { transferReference } from './pull-image.js';

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
    const all = f.bool('all-tags');
    const ref = transferReference(ctx, f.args[0], { allTags: all, quiet: f.bool('quiet'), digestAllowed: false });
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
