/**
 * Where `export` and `save` write their tar: `-o FILE` (written aside and
 * renamed into place, so a failed download leaves no half file), or stdout
 * — but never a terminal, as Docker refuses ("cowardly refusing…").
 */
import { createWriteStream, renameSync, rmSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { OutStream } from '../context.js';
import { StatusError } from '../errors.js';

export function refuseTerminal(out: OutStream, output: string): void {
  if (!output && out.isTTY) throw new StatusError(1, `cowardly refusing to save to a terminal. Use the -o flag or redirect`);
}

export async function writeArchive(body: Readable, out: OutStream, output: string): Promise<void> {
  if (!output) {
    await pipeline(body, out, { end: false });
    return;
  }
  const tmp = join(dirname(output), `.${basename(output)}.berth-tmp-${process.pid}`);
  try {
    await pipeline(body, createWriteStream(tmp, { mode: 0o600 }));
    renameSync(tmp, output);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new Error(`failed to save archive to ${output}: ${(e as Error).message}`);
  }
}
