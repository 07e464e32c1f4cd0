/** `berth context use NAME`: the current context, kept in config.json (`currentContext`, absent for "default"). */
import type { Command } from '../command.js';
import { HOST_OVERRIDE_WARNING, hostEnvOverrides, storeOf } from './current.js';
import { DEFAULT_CONTEXT } from './store.js';

export const contextUseCommand: Command = {
  name: 'use', usage: 'CONTEXT', short: 'Set the current docker context', args: { min: 1, max: 1 },
  async run(ctx, f) {
    const name = f.args[0];
    if (name !== DEFAULT_CONTEXT) storeOf(ctx).get(name);
    const config = ctx.config;
    if (name === DEFAULT_CONTEXT) delete config.data.currentContext;
    else config.data.currentContext = name;
    config.save();
    ctx.out.write(`${name}\n`);
    ctx.err.write(`Current context is now "${name}"\n`);
    if (hostEnvOverrides(ctx)) ctx.err.write(HOST_OVERRIDE_WARNING);
  },
};
