/** `berth volume …`: the volume management commands. */
import type { Command } from '../command.js';
import { volumeCreateCommand } from './create.js';
import { volumeInspectCommand } from './inspect.js';
import { volumeLsCommand } from './ls.js';
import { volumePruneCommand } from './prune.js';
import { volumeRmCommand } from './rm.js';

export const volumeCommand: Command = {
  name: 'volume', short: 'Manage volumes', group: 'management',
  subcommands: [volumeCreateCommand, volumeInspectCommand, volumeLsCommand, volumePruneCommand, volumeRmCommand],
};
