/**
 * `berth pull`: "Using default tag" when none was given, the daemon's pull
 * progress, and the full reference at the end (Docker 28's runPull).
 */
import type { Command } from '../command.js';
import { formatReference, repositoryName } from '../../image/reference.js';
import { pullImage, transferReference } from './pull-image.js';

export const pullCommand: Command = {
  name: 'pull', usage: '[OPTIONS] NAME[:TAG|@DIGEST]', short: 'Download an image from a registry',
  aliasesHelp: 'berth image pull, berth pull', group: 'common', args: { min: 1, max: 1 },
  flags: [
    { name: 'all-tags', short: 'a', kind: 'bool', usage: 'Download all tagged images in the repository' },
    { name: 'disable-content-trust', kind: 'bool', default: true, defaultText: 'true', usage: 'Skip image verification' },
    { name: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress verbose output' },
  ],
  async run(ctx, f) {
    const all = f.bool('all-tags');
    const ref = transferReference(ctx, f.args[0], { allTags: all, quiet: f.bool('quiet'), digestAllowed: true });
    const client = await ctx.client();
    const image = formatReference(ref);
    await pullImage(ctx, client, image, { platform: f.string('platform') || ctx.env.DOCKER_DEFAULT_PLATFORM, quiet: f.bool('quiet'), out: ctx.out, allTags: all });
    ctx.out.write(`${all ? repositoryName(ref) : image}\n`);
  },
};
