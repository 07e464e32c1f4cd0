/** `berth context …`: the contexts the Docker CLI keeps in ~/.docker/contexts (store.ts), shared with it. */
import type { Command } from '../command.js';
import { contextCreateCommand } from './create.js';
import { contextInspectCommand } from './inspect.js';
import { contextLsCommand } from './ls.js';
import { contextRmCommand } from './rm.js';
import { contextShowCommand } from './show.js';
import { contextUseCommand } from './use.js';

export const contextCommand: Command = {
  name: 'context', short: 'Manage contexts', group: 'management',
  subcommands: [contextCreateCommand, contextInspectCommand, contextLsCommand, contextRmCommand, contextShowCommand, contextUseCommand],
};
