/**
 * `berth context import NAME FILE|-`: a context from an archive `context
 * export` wrote (berth's or the Docker CLI's), under a new name. The
 * archive is checked whole before anything is stored (archive.ts); a
 * refused one leaves the store as it was.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { storeOf } from './current.js';
import { osErrorText } from './os-error.js';
import { readContextArchive } from './archive.js';
import { validateContextName } from './store.js';

/** The file, opened before reading so a missing one says so as Docker does ("open FILE: no such file or directory"). */
async function openSource(path: string): Promise<Readable> {
  const stream = createReadStream(path);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e: NodeJS.ErrnoException) => reject(new StatusError(1, osErrorText('open', path, e))));
  });
  return stream;
}

export const contextImportCommand: Command = {
  name: 'import', usage: 'CONTEXT FILE|-', short: 'Import a context from a tar file', args: { min: 2, max: 2 },
  async run(ctx, f) {
    const [name, source] = f.args;
    validateContextName(name);
    const store = storeOf(ctx);
    if (store.exists(name)) throw new StatusError(1, `context "${name}" already exists`);
    const input = source === '-' ? ctx.in : await openSource(source);
    let parsed;
    try {
      parsed = await readContextArchive(input, name);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.syscall) throw new StatusError(1, osErrorText(err.syscall, source === '-' ? '/dev/stdin' : source, err));
      throw e;
    } finally {
      if (source !== '-') input.destroy();
    }
    // Another import of the same name may have finished meanwhile.
    if (store.exists(name)) throw new StatusError(1, `context "${name}" already exists`);
    store.save(parsed.meta, parsed.tls);
    ctx.out.write(`${name}\n`);
    ctx.err.write(`Successfully imported context "${name}"\n`);
  },
};
