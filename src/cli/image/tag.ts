/** `berth tag SOURCE TARGET`: `POST /images/{source}/tag?repo=<full name>&tag=<tag>`. */
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { normalizeImageRef } from './pull-image.js';
import { repositoryName } from '../../image/reference.js';

export const tagCommand: Command = {
  name: 'tag', usage: 'SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]', short: 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE',
  aliasesHelp: 'berth image tag, berth tag', args: { min: 2, max: 2 },
  async run(ctx, f) {
    const [source, target] = f.args;
    let ref;
    try {
      ref = normalizeImageRef(target);
    } catch (e) {
      throw new StatusError(1, `Error parsing reference: ${JSON.stringify(target)} is not a valid repository/tag: ${(e as Error).message}`);
    }
    if (ref.digest) throw new StatusError(1, 'refusing to create a tag with a digest reference');
    const client = await ctx.client();
    await client.call('POST', apiPath`/images/${source}/tag`, { query: { repo: repositoryName(ref), tag: ref.tag ?? 'latest' } });
  },
};
