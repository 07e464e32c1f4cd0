/**
 * `berth commit`: `POST /commit?author=&changes=…&comment=&container=&repo=&tag=`
 * (author, comment, repo and tag always present, as Docker sends them), the
 * new image ID on stdout.
 */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { normalizeImageRef } from '../image/pull-image.js';
import { repositoryName } from '../../image/reference.js';

export const commitCommand: Command = {
  name: 'commit', usage: "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]", short: "Create a new image from a container's changes",
  aliasesHelp: 'berth container commit, berth commit', args: { min: 1, max: 2 },
  flags: [
    { name: 'author', short: 'a', kind: 'string', usage: 'Author (e.g., "John Hannibal Smith <hannibal@a-team.com>")' },
    { name: 'change', short: 'c', kind: 'list', usage: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', usage: 'Commit message' },
    { name: 'pause', short: 'p', kind: 'bool', default: true, defaultText: 'true', usage: 'Pause container during commit' },
  ],
  async run(ctx, f) {
    const [container, reference = ''] = f.args;
    let repo = '';
    let tag = '';
    if (reference) {
      let ref;
      try {
        ref = normalizeImageRef(reference);
      } catch (e) {
        throw new StatusError(1, (e as Error).message);
      }
      if (ref.digest) throw new StatusError(1, 'refusing to create a tag with a digest reference');
      repo = repositoryName(ref);
      tag = ref.tag ?? '';
    }
    const client = await ctx.client();
    const res = await client.json<{ Id: string }>('POST', '/commit', {
      query: {
        author: f.string('author') || '', changes: f.list('change'), comment: f.string('message') || '', container,
        pause: f.bool('pause') ? undefined : '0', repo, tag,
      },
    });
    ctx.out.write(`${res.Id}\n`);
  },
};
