/** `berth pause` / `berth unpause`: freeze or thaw every process of the containers. */
import type { Command } from '../command.js';
import { apiPath } from '../client.js';
import { runForEach } from './parallel.js';

export const pauseCommand: Command = {
  name: 'pause', usage: 'CONTAINER [CONTAINER...]', short: 'Pause all processes within one or more containers',
  aliasesHelp: 'berth container pause, berth pause', args: { min: 1 },
  async run(ctx, f) {
    const client = await ctx.client();
    await runForEach(ctx, f.args, (name) => client.call('POST', apiPath`/containers/${name}/pause`));
  },
};

export const unpauseCommand: Command = {
  name: 'unpause', usage: 'CONTAINER [CONTAINER...]', short: 'Unpause all processes within one or more containers',
  aliasesHelp: 'berth container unpause, berth unpause', args: { min: 1 },
  async run(ctx, f) {
    const client = await ctx.client();
    await runForEach(ctx, f.args, (name) => client.call('POST', apiPath`/containers/${name}/unpause`));
  },
};
