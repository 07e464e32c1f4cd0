/** `berth rename OLD NEW`: `POST /containers/{old}/rename?name=new`. */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { apiPath } from '../client.js';

export const renameCommand: Command = {
  name: 'rename', usage: 'CONTAINER NEW_NAME', short: 'Rename a container',
  aliasesHelp: 'berth container rename, berth rename', args: { min: 2, max: 2 },
  async run(ctx, f) {
    const [oldName, newName] = f.args.map((a) => a.trim());
    if (!oldName || !newName) throw new StatusError(1, 'Error: Neither old nor new names may be empty');
    const client = await ctx.client();
    try {
      await client.call('POST', apiPath`/containers/${oldName}/rename`, { query: { name: newName } });
    } catch (e) {
      ctx.err.write(`${(e as Error).message}\n`);
      throw new StatusError(1, `Error: failed to rename container named ${oldName}`);
    }
  },
};
