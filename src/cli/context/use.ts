/**
 * `berth context use NAME`: the current context, kept in config.json
 * (`currentContext`, absent for "default"; the file is left alone when
 * nothing changes). With DOCKER_HOST (or BERTH_HOST) set, Docker 28's
 * warning that the variable still wins.
 */
import type { Command } from '../command.js';
import { storeOf } from './current.js';
import { DEFAULT_CONTEXT, validateContextName } from './store.js';

export const contextUseCommand: Command = {
  name: 'use', usage: 'CONTEXT', short: 'Set the current docker context', args: { min: 1, max: 1 },
  async run(ctx, f) {
    const name = f.args[0];
    if (name !== DEFAULT_CONTEXT) {
      validateContextName(name);
      storeOf(ctx).get(name);
    }
    const config = ctx.config;
    const value = name === DEFAULT_CONTEXT ? undefined : name;
    if (config.data.currentContext !== value) {
      if (value === undefined) delete config.data.currentContext;
      else config.data.currentContext = value;
      config.save();
    }
    ctx.out.write(`${name}\n`);
    ctx.err.write(`Current context is now "${name}"\n`);
    const override = ctx.env.DOCKER_HOST ? 'DOCKER_HOST' : ctx.env.BERTH_HOST ? 'BERTH_HOST' : '';
    if (name !== DEFAULT_CONTEXT && override) {
      ctx.err.write(`Warning: ${override} environment variable overrides the active context. ` +
        `To use "${name}", either set the global --context flag, or unset ${override} environment variable.\n`);
    }
  },
};
