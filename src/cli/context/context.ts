/** `berth context …`: the contexts the Docker CLI keeps in ~/.docker/contexts (store.ts), shared with it. */
import type { Command } from '../command.js';
import { contextCreateCommand } from './create.js';
import { contextExportCommand } from './export.js';
import { contextImportCommand } from './import.js';
import { contextInspectCommand } from './inspect.js';
import { contextLsCommand } from './ls.js';
import { contextRmCommand } from './rm.js';
import { contextShowCommand } from './show.js';
import { contextUpdateCommand } from './update.js';
import { contextUseCommand } from './use.js';

export const contextCommand: Command = {
  name: 'context', short: 'Manage contexts', group: 'management',
  subcommands: [
    contextCreateCommand, contextExportCommand, contextImportCommand, contextInspectCommand, contextLsCommand,
    contextRmCommand, contextShowCommand, contextUpdateCommand, contextUseCommand,
  ],
};
