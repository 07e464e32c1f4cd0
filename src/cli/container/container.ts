/** `berth container …`: every container command under one roof, as in Docker. */
import type { Command } from '../command.js';
import { attachCommand } from './attach.js';
import { commitCommand } from './commit.js';
import { cpCommand } from './cp.js';
import { createCommand } from './create.js';
import { diffCommand } from './diff.js';
import { execCommand } from './exec.js';
import { exportCommand } from './export.js';
import { containerInspectCommand } from './inspect.js';
import { killCommand } from './kill.js';
import { logsCommand } from './logs.js';
import { pauseCommand, unpauseCommand } from './pause.js';
import { portCommand } from './port.js';
import { containerPruneCommand } from './prune.js';
import { psCommand } from './ps.js';
import { renameCommand } from './rename.js';
import { rmCommand } from './rm.js';
import { runCommand } from './run.js';
import { startCommand } from './start.js';
import { statsCommand } from './stats.js';
import { restartCommand, stopCommand } from './stop.js';
import { topCommand } from './top.js';
import { updateCommand } from './update.js';
import { waitCommand } from './wait.js';

export function containerCommand(env: NodeJS.ProcessEnv): Command {
  return {
    name: 'container', short: 'Manage containers', group: 'management',
    subcommands: [
      attachCommand, commitCommand, cpCommand, createCommand(env), diffCommand, execCommand(env), exportCommand,
      containerInspectCommand, killCommand, logsCommand, psCommand, pauseCommand, portCommand, containerPruneCommand,
      renameCommand, restartCommand, rmCommand, runCommand(env), startCommand, statsCommand, stopCommand, topCommand,
      unpauseCommand, updateCommand, waitCommand,
    ],
  };
}
