/** `berth top CONTAINER [ps OPTIONS]`: the daemon's `ps` table, laid out with tabwriter minwidth 20 as Docker does. */
import type { Command } from '../command.js';
import { apiPath } from '../client.js';
import { tabwrite } from '../format/tabwriter.js';

export const topCommand: Command = {
  name: 'top', usage: 'CONTAINER [ps OPTIONS]', short: 'Display the running processes of a container',
  aliasesHelp: 'berth container top, berth top', interspersed: false, args: { min: 1 },
  async run(ctx, f) {
    const client = await ctx.client();
    const psArgs = f.args.slice(1).join(' ');
    const top = await client.json<{ Titles: string[]; Processes: string[][] | null }>('GET', apiPath`/containers/${f.args[0]}/top`, { query: { ps_args: psArgs || undefined } });
    let text = `${top.Titles.join('\t')}\n`;
    for (const p of top.Processes ?? []) text += `${p.join('\t')}\n`;
    ctx.out.write(tabwrite(text, { minwidth: 20, padding: 3 }));
  },
};
