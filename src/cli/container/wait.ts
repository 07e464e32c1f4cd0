/** `berth wait`: block until each container stops, print its exit code. */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { apiPath } from '../client.js';
import { forEachParallel } from './parallel.js';

export const waitCommand: Command = {
  name: 'wait', usage: 'CONTAINER [CONTAINER...]', short: 'Block until one or more containers stop, then print their exit codes',
  aliasesHelp: 'berth container wait, berth wait', args: { min: 1 },
  async run(ctx, f) {
    const client = await ctx.client();
    const results = await forEachParallel(f.args, async (name) => {
      const r = await client.json<{ StatusCode: number; Error?: { Message: string } | null }>('POST', apiPath`/containers/${name}/wait`);
      if (r.Error?.Message) throw new Error(r.Error.Message);
      return r.StatusCode;
    });
    const errors: string[] = [];
    for (const r of results) {
      if (r.status === 'fulfilled') ctx.out.write(`${r.value}\n`);
      else errors.push((r.reason as Error).message);
    }
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};
