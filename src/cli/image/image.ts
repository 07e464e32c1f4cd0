/** `berth image …`: the image commands. */
import type { Command } from '../command.js';
import { buildCommand } from './build.js';
import { historyCommand } from './history.js';
import { imagesCommand } from './images.js';
import { importCommand } from './import.js';
import { imageInspectCommand } from './inspect.js';
import { loadCommand } from './load.js';
import { microCommand } from './micro.js';
import { imagePruneCommand } from './prune.js';
import { pullCommand } from './pull.js';
import { pushCommand } from './push.js';
import { rmiCommand } from './rmi.js';
import { saveCommand } from './save.js';
import { tagCommand } from './tag.js';

export const imageCommand: Command = {
  name: 'image', short: 'Manage images', group: 'management',
  subcommands: [
    buildCommand, historyCommand, importCommand, imageInspectCommand, loadCommand, imagesCommand, microCommand, imagePruneCommand,
    pullCommand, pushCommand, rmiCommand, saveCommand, tagCommand,
  ],
};
