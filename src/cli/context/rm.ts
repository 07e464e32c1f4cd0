/** `berth context rm NAME…`: removes contexts (metadata and TLS material); the current one only with -f. */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { configCurrentContext, storeOf } from './current.js';
import { DEFAULT_CONTEXT } from './store.js';

export const contextRmCommand: Command = {
  name: 'rm', aliases: ['remove'], usage: 'CONTEXT [CONTEXT...]', short: 'Remove one or more contexts',
  aliasesHelp: 'berth context rm, berth context remove', args: { min: 1 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of a context in use' }],
  async run(ctx, f) {
    const store = storeOf(ctx);
    const errors: string[] = [];
    const current = configCurrentContext(ctx);
    for (const name of f.args) {
      if (name === DEFAULT_CONTEXT) { errors.push(`${name}: context "${name}" cannot be removed`); continue; }
      if (!store.exists(name)) { errors.push(`${name}: context "${name}": not found`); continue; }
      if (name === current) {
        if (!f.bool('force')) { errors.push(`${name}: context "${name}" is in use, set -f flag to force remove`); continue; }
        delete ctx.config.data.currentContext;
        ctx.config.save();
      }
      store.remove(name);
      ctx.out.write(`${name}\n`);
    }
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};
