/**
 * `berth context rm NAME…`: removes contexts (metadata and TLS material);
 * the current one only with -f, which also makes "default" current again.
 * Docker 28's messages, one line per failed name; -f also passes over names
 * that do not exist.
 */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { configCurrentContext, currentName, storeOf } from './current.js';
import { DEFAULT_CONTEXT } from './store.js';

export const contextRmCommand: Command = {
  name: 'rm', aliases: ['remove'], usage: 'CONTEXT [CONTEXT...]', short: 'Remove one or more contexts',
  aliasesHelp: 'berth context rm, berth context remove', args: { min: 1 },
  flags: [{ name: 'force', short: 'f', kind: 'bool', usage: 'Force the removal of a context in use' }],
  async run(ctx, f) {
    const store = storeOf(ctx);
    const errors: string[] = [];
    const force = f.bool('force');
    // In use as the Docker CLI means it: whatever --context, DOCKER_CONTEXT or config.json make current.
    const current = currentName(ctx);
    for (const name of f.args) {
      if (name === DEFAULT_CONTEXT) { errors.push(`context "${name}" cannot be removed`); continue; }
      if (name === current) {
        if (!force) { errors.push(`context "${name}" is in use, set -f flag to force remove`); continue; }
        // Only the config's own choice is cleared (Docker clears it whichever context it names).
        if (configCurrentContext(ctx) === name) {
          delete ctx.config.data.currentContext;
          ctx.config.save();
        }
      }
      if (!force && !store.exists(name)) { errors.push(`context "${name}" does not exist`); continue; }
      store.remove(name);
      ctx.out.write(`${name}\n`);
    }
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};
