/** `berth context show`: the name of the current context. */
import type { Command } from '../command.js';
import { currentName } from './current.js';

export const contextShowCommand: Command = {
  name: 'show', usage: '', short: 'Print the name of the current context', args: { max: 0 },
  async run(ctx) {
    ctx.out.write(`${currentName(ctx)}\n`);
  },
};
