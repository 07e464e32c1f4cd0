/** `berth builder …`: the build cache (Docker's `docker builder`). */
import type { Command } from '../command.js';
import { builderPruneCommand } from './prune.js';

export const builderCommand: Command = {
  name: 'builder', short: 'Manage builds', group: 'management',
  subcommands: [builderPruneCommand],
};
