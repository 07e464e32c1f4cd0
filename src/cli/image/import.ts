/**
 * `berth import file|URL|- [REPOSITORY[:TAG]]`: a root filesystem tarball
 * becomes an image — `POST /images/create?fromSrc=-` with the tar as body
 * (or `fromSrc=<URL>` for the daemon to fetch), `-c` Dockerfile changes and
 * `-m` message; the daemon's progress ends with the new image ID.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { displayJsonMessages } from '../stream/jsonmessage.js';
import { normalizeImageRef } from './pull-image.js';

export const importCommand: Command = {
  name: 'import', usage: '[OPTIONS] file|URL|- [REPOSITORY[:TAG]]', short: 'Import the contents from a tarball to create a filesystem image',
  aliasesHelp: 'berth image import, berth import', args: { min: 1, max: 2 },
  flags: [
    { name: 'change', short: 'c', kind: 'list', usage: 'Apply Dockerfile instruction to the created image' },
    { name: 'message', short: 'm', kind: 'string', usage: 'Set commit message for imported image' },
    { name: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable' },
  ],
  async run(ctx, f) {
    const [source, ref = ''] = f.args;
    if (ref) {
      try {
        normalizeImageRef(ref);
      } catch (e) {
        throw new StatusError(1, (e as Error).message);
      }
    }
    let fromSrc = '-';
    let body: Readable | undefined;
    if (source === '-') body = ctx.in;
    else if (/^https?:\/\//.test(source)) fromSrc = source;
    else {
      body = createReadStream(source);
      await new Promise<void>((resolve, reject) => body!.once('open', () => resolve()).once('error', reject)).catch((e: Error) => {
        throw new StatusError(1, `open ${source}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : e.message}`);
      });
    }
    const client = await ctx.client();
    const res = await client.request('POST', '/images/create', {
      query: { changes: f.list('change'), fromSrc, message: f.string('message') || undefined, platform: f.string('platform') || undefined, repo: ref || undefined },
      headers: body ? { 'Content-Type': 'application/x-tar' } : {},
      body,
    });
    await displayJsonMessages(res, ctx.out, { isTerminal: Boolean(ctx.out.isTTY), width: ctx.out.columns });
  },
};
