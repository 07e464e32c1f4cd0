/**
 * `berth rm`: `DELETE /containers/{id}?force=1&v=1&link=1`. With `-f`, a
 * container that does not exist is reported but not an error (Docker 28).
 */
import { ApiError } from '../client.js';
import type { Command } from '../command.js';
import { apiPath } from '../client.js';
import { runForEach } from './parallel.js';

export const rmCommand: Command = {
  name: 'rm', aliases: ['remove'], usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Remove one or more containers',
  aliasesHelp: 'berth container rm, berth container remove, berth rm', args: { min: 1 },
  flags: [
    { name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of a running container (uses SIGKILL)' },
    { name: 'link', short: 'l', kind: 'bool', usage: 'Remove the specified link' },
    { name: 'volumes', short: 'v', kind: 'bool', usage: 'Remove anonymous volumes associated with the container' },
  ],
  async run(ctx, f) {
    const client = await ctx.client();
    const query = { force: f.bool('force'), link: f.bool('link'), v: f.bool('volumes') };
    await runForEach(ctx, f.args, async (name) => {
      const id = name.replace(/^\/+|\/+$/g, '');
      if (id === '') throw new Error('container name cannot be empty');
      await client.call('DELETE', apiPath`/containers/${id}`, { query });
    }, { ignore: (e) => f.bool('force') && e instanceof ApiError && e.statusCode === 404 });
  },
};
