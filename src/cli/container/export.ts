/** `berth export`: the container's filesystem as a tar, to `-o FILE` or a non-terminal stdout. */
import type { Command } from '../command.js';
import { apiPath } from '../client.js';
import { refuseTerminal, writeArchive } from '../stream/save-output.js';

export const exportCommand: Command = {
  name: 'export', usage: '[OPTIONS] CONTAINER', short: "Export a container's filesystem as a tar archive",
  aliasesHelp: 'berth container export, berth export', args: { min: 1, max: 1 },
  flags: [{ name: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' }],
  async run(ctx, f) {
    const output = f.string('output');
    refuseTerminal(ctx.out, output);
    const client = await ctx.client();
    const res = await client.request('GET', apiPath`/containers/${f.args[0]}/export`);
    await writeArchive(res, ctx.out, output);
  },
};
