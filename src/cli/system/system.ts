/** `berth system …`: daemon-wide commands. */
import type { Command } from '../command.js';
import { dfCommand } from './df.js';
import { dialStdioCommand } from './dial-stdio.js';
import { eventsCommand } from './events.js';
import { infoCommand } from './info.js';
import { systemPruneCommand } from './prune.js';

export const systemCommand: Command = {
  name: 'system', short: 'Manage berth', group: 'management',
  subcommands: [dfCommand, { ...eventsCommand }, { ...infoCommand, group: undefined }, systemPruneCommand, dialStdioCommand],
};
