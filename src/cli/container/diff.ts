/** `berth diff`: filesystem changes as `C /path` (modified), `A` (added), `D` (deleted). */
import type { Command } from '../command.js';
import { apiPath } from '../client.js';

const KINDS = ['C', 'A', 'D'];

export const diffCommand: Command = {
  name: 'diff', usage: 'CONTAINER', short: "Inspect changes to files or directories on a container's filesystem",
  aliasesHelp: 'berth container diff, berth diff', args: { min: 1, max: 1 },
  async run(ctx, f) {
    const client = await ctx.client();
    const changes = await client.json<{ Path: string; Kind: number }[] | null>('GET', apiPath`/containers/${f.args[0]}/changes`);
    for (const c of changes ?? []) ctx.out.write(`${KINDS[c.Kind] ?? '?'} ${c.Path}\n`);
  },
};
