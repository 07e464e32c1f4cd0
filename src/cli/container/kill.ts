/** `berth kill`: `POST /containers/{id}/kill[?signal=…]` for each container. */
import type { Command } from '../command.js';
import { apiPath } from '../client.js';
import { runForEach } from './parallel.js';

export const killCommand: Command = {
  name: 'kill', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Kill one or more running containers',
  aliasesHelp: 'berth container kill, berth kill', args: { min: 1 },
  flags: [{ name: 'signal', short: 's', kind: 'string', usage: 'Signal to send to the container' }],
  async run(ctx, f) {
    const client = await ctx.client();
    const signal = f.string('signal') || undefined;
    await runForEach(ctx, f.args, (name) => client.call('POST', apiPath`/containers/${name}/kill`, { query: { signal } }));
  },
};
