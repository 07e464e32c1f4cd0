/**
 * `berth load`: an image archive (docker save / OCI layout) from `-i FILE`
 * or stdin into `POST /images/load`; the daemon's messages are shown
 * (`quiet=1` off a terminal, as Docker asks).
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { displayJsonMessages } from '../stream/jsonmessage.js';

export const loadCommand: Command = {
  name: 'load', usage: '[OPTIONS]', short: 'Load an image from a tar archive or STDIN',
  aliasesHelp: 'berth image load, berth load', args: { max: 0 },
  flags: [
    { name: 'input', short: 'i', kind: 'string', usage: 'Read from tar archive file, instead of STDIN' },
    { name: 'platform', kind: 'string', usage: 'Load only the given platform variant. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the load output' },
  ],
  async run(ctx, f) {
    let body: Readable;
    const input = f.string('input');
    if (input) {
      body = createReadStream(input);
      await new Promise<void>((resolve, reject) => body.once('open', () => resolve()).once('error', reject)).catch((e: Error) => {
        throw new StatusError(1, `open ${input}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : e.message}`);
      });
    } else {
      if (ctx.in.isTTY) throw new StatusError(1, 'requested load from stdin, but stdin is empty');
      body = ctx.in;
    }
    const client = await ctx.client();
    const res = await client.request('POST', '/images/load', {
      query: { platform: f.string('platform') || undefined, quiet: f.bool('quiet') || !ctx.out.isTTY },
      headers: { 'Content-Type': 'application/x-tar' },
      body,
    });
    if (String(res.headers['content-type'] ?? '').includes('application/json')) {
      await displayJsonMessages(res, ctx.out, { isTerminal: Boolean(ctx.out.isTTY), width: ctx.out.columns });
    } else {
      for await (const chunk of res) ctx.out.write(chunk);
    }
  },
};
