/** `berth network …`: the network management commands. */
import type { Command } from '../command.js';
import { networkConnectCommand, networkDisconnectCommand } from './connect.js';
import { networkCreateCommand } from './create.js';
import { networkInspectCommand } from './inspect.js';
import { networkLsCommand } from './ls.js';
import { networkPruneCommand } from './prune.js';
import { networkRmCommand } from './rm.js';

export const networkCommand: Command = {
  name: 'network', short: 'Manage networks', group: 'management',
  subcommands: [networkConnectCommand, networkCreateCommand, networkDisconnectCommand, networkInspectCommand, networkLsCommand, networkPruneCommand, networkRmCommand],
};
