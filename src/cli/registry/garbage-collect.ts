/**
 * `berth registry garbage-collect` (alias `gc`): deletes the blobs of a
 * `registry serve` storage root that no manifest references, like
 * docker-registry's `registry garbage-collect` (same `-d`/`--dry-run` and
 * `-m`/`--delete-untagged` flags, same "blob eligible for deletion" lines).
 * It runs in the foreground on the root itself, no daemon involved, and
 * refuses while a server uses that root.
 */
import type { Command } from '../command.js';
import { collectGarbage } from '../../registry/server/garbage-collect.js';
import { DEFAULT_ROOT } from '../../registry/server/main.js';

export const registryGarbageCollectCommand: Command = {
  name: 'garbage-collect',
  aliases: ['gc'],
  aliasesHelp: 'berth registry garbage-collect, berth registry gc',
  usage: '[OPTIONS]',
  short: 'Delete blobs that no manifest references',
  long: 'Delete the blobs of a registry storage directory that no manifest references.\n'
    + 'Refuses while `berth registry serve` uses the directory: stop the server first.',
  flags: [
    { name: 'root', kind: 'string', usage: 'Storage directory', defaultText: `"${DEFAULT_ROOT}"`, aliases: ['storage'] },
    { name: 'dry-run', short: 'd', kind: 'bool', usage: 'Print what would be deleted, delete nothing' },
    { name: 'delete-untagged', short: 'm', kind: 'bool', usage: 'Also delete manifests no tag reaches (an index keeps its manifests, a manifest its referrers)' },
  ],
  args: { max: 0 },
  run: async (ctx, f) => {
    await collectGarbage(f.changed('root') ? f.string('root') : DEFAULT_ROOT, {
      dryRun: f.bool('dry-run'),
      deleteUntagged: f.bool('delete-untagged'),
      out: (line) => ctx.out.write(`${line}\n`),
      warn: (line) => ctx.err.write(`${line}\n`),
    });
    return 0;
  },
};
