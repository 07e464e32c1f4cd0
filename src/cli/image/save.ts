/** `berth save`: `GET /images/get?names=…` as a tar, to `-o FILE` or a non-terminal stdout. */
import type { Command } from '../command.js';
import { refuseTerminal, writeArchive } from '../stream/save-output.js';

export const saveCommand: Command = {
  name: 'save', usage: '[OPTIONS] IMAGE [IMAGE...]', short: 'Save one or more images to a tar archive (streamed to STDOUT by default)',
  aliasesHelp: 'berth image save, berth save', args: { min: 1 },
  flags: [
    { name: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' },
    { name: 'platform', kind: 'string', usage: 'Save only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")' },
  ],
  async run(ctx, f) {
    const output = f.string('output');
    refuseTerminal(ctx.out, output);
    const client = await ctx.client();
    const res = await client.request('GET', '/images/get', { query: { names: f.args, platform: f.string('platform') || undefined } });
    await writeArchive(res, ctx.out, output);
  },
};
