/**
 * The whole command tree, wired explicitly in one place: Docker's common
 * commands, management groups and top-level shortcuts (`berth ps` is
 * `berth container ls`), each pointing at the same Command objects.
 *
 * The top level holds stubs — name, aliases, one-line description, help
 * group: all that `berth --help` and command lookup need — and each stub's
 * `load()` imports the module with the real command (flags, help, `run`,
 * subcommands) only when that command runs. A command line thus loads one
 * command's code and dependencies, not all of them (tar-stream for `cp`, the
 * registry server for `registry serve`…), which is most of the CLI's start-up
 * time. test/unit/cli/root.test.ts checks each stub against what it loads.
 */
import type { Command } from './command.js';

type Group = Command['group'];

function stub(name: string, short: string, group: Group, load: () => Promise<Command>, aliases?: string[]): Command {
  return { name, short, ...(group ? { group } : {}), ...(aliases ? { aliases } : {}), load };
}

export function rootCommand(env: NodeJS.ProcessEnv = process.env): Command {
  return {
    name: 'berth',
    short: 'A Docker-compatible container engine',
    subcommands: [
      // Common commands
      stub('run', 'Create and run a new container from an image', 'common',
        async () => (await import('./container/run.js')).runCommand(env)),
      stub('exec', 'Execute a command in a running container', 'common',
        async () => (await import('./container/exec.js')).execCommand(env)),
      stub('ps', 'List containers', 'common', async () => (await import('./container/ps.js')).topLevelPsCommand, []),
      stub('build', 'Build an image from a Dockerfile', 'common', async () => (await import('./image/build.js')).buildCommand),
      stub('pull', 'Download an image from a registry', 'common', async () => (await import('./image/pull.js')).pullCommand),
      stub('push', 'Upload an image to a registry', 'common', async () => (await import('./image/push.js')).pushCommand),
      stub('images', 'List images', 'common', async () => (await import('./image/images.js')).topLevelImagesCommand, []),
      stub('login', 'Authenticate to a registry', 'common', async () => (await import('./registry/login.js')).loginCommand),
      stub('logout', 'Log out from a registry', 'common', async () => (await import('./registry/login.js')).logoutCommand),
      stub('version', 'Show the berth version information', 'common',
        async () => (await import('./system/version.js')).versionCommand),
      stub('info', 'Display system-wide information', 'common', async () => (await import('./system/info.js')).infoCommand),
      // Management commands
      stub('container', 'Manage containers', 'management',
        async () => (await import('./container/container.js')).containerCommand(env)),
      stub('builder', 'Manage builds', 'management', async () => (await import('./builder/builder.js')).builderCommand),
      stub('checkpoint', 'Manage checkpoints', 'management', async () => (await import('./checkpoint/checkpoint.js')).checkpointCommand),
      stub('context', 'Manage contexts', 'management', async () => (await import('./context/context.js')).contextCommand),
      stub('fault', 'Inject network faults into running containers', 'management',
        async () => (await import('./fault/fault.js')).faultCommand),
      stub('image', 'Manage images', 'management', async () => (await import('./image/image.js')).imageCommand),
      stub('kube', 'Play and generate Kubernetes YAML', 'management', async () => (await import('./kube/kube.js')).kubeCommand),
      stub('network', 'Manage networks', 'management', async () => (await import('./network/network.js')).networkCommand),
      stub('registry', 'Run a registry server', 'management',
        async () => (await import('./registry/serve.js')).registryCommand),
      stub('system', 'Manage berth', 'management', async () => (await import('./system/system.js')).systemCommand),
      stub('volume', 'Manage volumes', 'management', async () => (await import('./volume/volume.js')).volumeCommand),
      // Shortcuts
      stub('attach', 'Attach local standard input, output, and error streams to a running container', undefined,
        async () => (await import('./container/attach.js')).attachCommand),
      stub('commit', "Create a new image from a container's changes", undefined,
        async () => (await import('./container/commit.js')).commitCommand),
      stub('cp', 'Copy files/folders between a container and the local filesystem', undefined,
        async () => (await import('./container/cp.js')).cpCommand),
      stub('create', 'Create a new container', undefined,
        async () => (await import('./container/create.js')).createCommand(env)),
      stub('diff', "Inspect changes to files or directories on a container's filesystem", undefined,
        async () => (await import('./container/diff.js')).diffCommand),
      stub('events', 'Get real time events from the server', undefined,
        async () => (await import('./system/events.js')).eventsCommand),
      stub('export', "Export a container's filesystem as a tar archive", undefined,
        async () => (await import('./container/export.js')).exportCommand),
      stub('history', 'Show the history of an image', undefined,
        async () => (await import('./image/history.js')).historyCommand),
      stub('import', 'Import the contents from a tarball to create a filesystem image', undefined,
        async () => (await import('./image/import.js')).importCommand),
      stub('inspect', 'Return low-level information on berth objects', undefined,
        async () => (await import('./inspect.js')).inspectCommand),
      stub('kill', 'Kill one or more running containers', undefined,
        async () => (await import('./container/kill.js')).killCommand),
      stub('load', 'Load an image from a tar archive or STDIN', undefined,
        async () => (await import('./image/load.js')).loadCommand),
      stub('logs', 'Fetch the logs of a container', undefined,
        async () => (await import('./container/logs.js')).logsCommand),
      stub('pause', 'Pause all processes within one or more containers', undefined,
        async () => (await import('./container/pause.js')).pauseCommand),
      stub('port', 'List port mappings or a specific mapping for the container', undefined,
        async () => (await import('./container/port.js')).portCommand),
      stub('rename', 'Rename a container', undefined,
        async () => (await import('./container/rename.js')).renameCommand),
      stub('restart', 'Restart one or more containers', undefined,
        async () => (await import('./container/stop.js')).restartCommand),
      stub('rm', 'Remove one or more containers', undefined,
        async () => (await import('./container/rm.js')).rmCommand, ['remove']),
      stub('rmi', 'Remove one or more images', undefined, async () => (await import('./image/rmi.js')).topLevelRmiCommand, []),
      stub('save', 'Save one or more images to a tar archive (streamed to STDOUT by default)', undefined,
        async () => (await import('./image/save.js')).saveCommand),
      stub('start', 'Start one or more stopped containers', undefined,
        async () => (await import('./container/start.js')).startCommand),
      stub('stats', "Display a live stream of container(s) resource usage statistics", undefined,
        async () => (await import('./container/stats.js')).statsCommand),
      stub('stop', 'Stop one or more running containers', undefined,
        async () => (await import('./container/stop.js')).stopCommand),
      stub('tag', 'Create a tag TARGET_IMAGE that refers to SOURCE_IMAGE', undefined,
        async () => (await import('./image/tag.js')).tagCommand),
      stub('top', 'Display the running processes of a container', undefined,
        async () => (await import('./container/top.js')).topCommand),
      stub('unpause', 'Unpause all processes within one or more containers', undefined,
        async () => (await import('./container/pause.js')).unpauseCommand),
      stub('update', 'Update configuration of one or more containers', undefined,
        async () => (await import('./container/update.js')).updateCommand),
      stub('wait', 'Block until one or more containers stop, then print their exit codes', undefined,
        async () => (await import('./container/wait.js')).waitCommand),
    ],
  };
}
