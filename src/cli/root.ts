/**
 * The whole command tree, wired explicitly in one place: Docker's common
 * commands, management groups and top-level shortcuts (`berth ps` is
 * `berth container ls`), each pointing at the same Command objects.
 */
import type { Command } from './command.js';
import { attachCommand } from './container/attach.js';
import { commitCommand } from './container/commit.js';
import { containerCommand } from './container/container.js';
import { cpCommand } from './container/cp.js';
import { createCommand } from './container/create.js';
import { diffCommand } from './container/diff.js';
import { execCommand } from './container/exec.js';
import { exportCommand } from './container/export.js';
import { killCommand } from './container/kill.js';
import { logsCommand } from './container/logs.js';
import { pauseCommand, unpauseCommand } from './container/pause.js';
import { portCommand } from './container/port.js';
import { topLevelPsCommand } from './container/ps.js';
import { renameCommand } from './container/rename.js';
import { rmCommand } from './container/rm.js';
import { runCommand } from './container/run.js';
import { startCommand } from './container/start.js';
import { statsCommand } from './container/stats.js';
import { restartCommand, stopCommand } from './container/stop.js';
import { topCommand } from './container/top.js';
import { updateCommand } from './container/update.js';
import { waitCommand } from './container/wait.js';
import { buildCommand } from './image/build.js';
import { historyCommand } from './image/history.js';
import { imageCommand } from './image/image.js';
import { topLevelImagesCommand } from './image/images.js';
import { importCommand } from './image/import.js';
import { loadCommand } from './image/load.js';
import { pullCommand } from './image/pull.js';
import { pushCommand } from './image/push.js';
import { topLevelRmiCommand } from './image/rmi.js';
import { saveCommand } from './image/save.js';
import { tagCommand } from './image/tag.js';
import { inspectCommand } from './inspect.js';
import { networkCommand } from './network/network.js';
import { loginCommand, logoutCommand } from './registry/login.js';
import { eventsCommand } from './system/events.js';
import { infoCommand } from './system/info.js';
import { systemCommand } from './system/system.js';
import { versionCommand } from './system/version.js';
import { volumeCommand } from './volume/volume.js';
import { registryCommand } from './registry/serve.js';

export function rootCommand(env: NodeJS.ProcessEnv = process.env): Command {
  const run = runCommand(env);
  const exec = execCommand(env);
  return {
    name: 'berth',
    short: 'A Docker-compatible container engine',
    subcommands: [
      // Common commands
      run, exec, topLevelPsCommand, buildCommand, pullCommand, pushCommand, topLevelImagesCommand, loginCommand, logoutCommand,
      versionCommand, infoCommand,
      // Management commands
      containerCommand(env), imageCommand, networkCommand, registryCommand, systemCommand, volumeCommand,
      // Shortcuts
      attachCommand, commitCommand, cpCommand, createCommand(env), diffCommand, eventsCommand, exportCommand, historyCommand,
      importCommand, inspectCommand, killCommand, loadCommand, logsCommand, pauseCommand, portCommand, renameCommand,
      restartCommand, rmCommand, topLevelRmiCommand, saveCommand, startCommand, statsCommand, stopCommand, tagCommand,
      topCommand, unpauseCommand, updateCommand, waitCommand,
    ],
  };
}
