/**
 * One CLI invocation from argv to exit status: global flags (parsed up to the
 * command name, like the Docker CLI's root command), command lookup, flag
 * parsing, argument checks, and Docker's way of reporting each kind of
 * failure. Kept apart from `main.ts` so tests can run whole command lines
 * against in-memory streams.
 */
import {
  PROGRAM, argsErrorText, checkArgs, commandFlags, findSubcommand, flagErrorText, helpText, loadCommand, rootHelpText,
  type Command, type Invocation,
} from './command.js';
import type { CliStreams, GlobalOptions } from './context.js';
import { ApiError, StatusError, UnsupportedFlagError } from './errors.js';
import { FlagError, parseFlags, type FlagSpec } from './flags.js';
import { rootCommand } from './root.js';
import { BERTH_CLI_VERSION } from './version-info.js';

export const GLOBAL_FLAGS: FlagSpec[] = [
  { name: 'config', kind: 'string', usage: 'Location of client config files (default "~/.docker")' },
  { name: 'context', short: 'c', kind: 'string', usage: 'Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with "berth context use")' },
  { name: 'debug', short: 'D', kind: 'bool', usage: 'Enable debug mode' },
  { name: 'host', short: 'H', kind: 'list', usage: 'Daemon socket to connect to' },
  { name: 'log-level', short: 'l', kind: 'string', default: 'info', defaultText: '"info"', usage: 'Set the logging level ("debug", "info", "warn", "error", "fatal")' },
  { name: 'tls', kind: 'bool', usage: 'Use TLS; implied by --tlsverify' },
  { name: 'tlscacert', kind: 'string', usage: 'Trust certs signed only by this CA (default "~/.docker/ca.pem")' },
  { name: 'tlscert', kind: 'string', usage: 'Path to TLS certificate file (default "~/.docker/cert.pem")' },
  { name: 'tlskey', kind: 'string', usage: 'Path to TLS key file (default "~/.docker/key.pem")' },
  { name: 'tlsverify', kind: 'bool', usage: 'Use TLS and verify the remote' },
  { name: 'version', short: 'v', kind: 'bool', usage: 'Print version information and quit' },
  { name: 'help', short: 'h', kind: 'bool', usage: 'Print usage', hidden: true },
];

function write(stream: CliStreams['out'], text: string): void {
  stream.write(text.endsWith('\n') ? text : `${text}\n`);
}

/** Refuses flags that are accepted for Docker compatibility but not implemented. */
export function refuseUnsupported(specs: readonly FlagSpec[], given: readonly string[]): void {
  for (const name of given) {
    const spec = specs.find((s) => s.name === name);
    if (spec?.unsupported) throw new UnsupportedFlagError(`--${spec.name}`, spec.unsupported);
  }
}

export async function runCli(argv: readonly string[], streams: CliStreams, env: NodeJS.ProcessEnv): Promise<number> {
  const root = rootCommand(env);
  const rootInv: Invocation = { path: PROGRAM, command: root };
  let gflags;
  try {
    gflags = parseFlags(GLOBAL_FLAGS, argv, { interspersed: false });
    refuseUnsupported(GLOBAL_FLAGS, gflags.given());
  } catch (e) {
    if (e instanceof FlagError) {
      write(streams.err, `${e.message}\n\nUsage:  ${PROGRAM} [OPTIONS] COMMAND\n\nRun '${PROGRAM} --help' for more information`);
      return 125;
    }
    write(streams.err, (e as Error).message);
    return 1;
  }
  const globals: GlobalOptions = {
    hosts: gflags.list('host'),
    debug: gflags.bool('debug') || gflags.string('log-level') === 'debug',
    logLevel: gflags.string('log-level'),
    configDir: gflags.changed('config') ? gflags.string('config') : undefined,
    context: gflags.string('context') || undefined,
    tls: {
      ...(gflags.changed('tls') ? { tls: gflags.bool('tls') } : {}),
      ...(gflags.changed('tlsverify') ? { tlsVerify: gflags.bool('tlsverify') } : {}),
      ...(gflags.string('tlscacert') ? { caFile: gflags.string('tlscacert') } : {}),
      ...(gflags.string('tlscert') ? { certFile: gflags.string('tlscert') } : {}),
      ...(gflags.string('tlskey') ? { keyFile: gflags.string('tlskey') } : {}),
    },
  };
  if (gflags.bool('version')) {
    write(streams.out, `Berth version ${BERTH_CLI_VERSION}`);
    return 0;
  }
  let args = gflags.args;
  if (gflags.bool('help') || args.length === 0) {
    streams.out.write(rootHelpText(root, GLOBAL_FLAGS));
    return 0;
  }
  if (args[0] === 'help') {
    args = [...args.slice(1), '--help'];
    if (args.length === 1) {
      streams.out.write(rootHelpText(root, GLOBAL_FLAGS));
      return 0;
    }
  }

  // Walk down the tree: `container ls`, `image rm`, `volume create`…
  let inv = rootInv;
  while (args.length > 0 && inv.command.subcommands) {
    const found = findSubcommand(inv.command, args[0]);
    if (!found) break;
    inv = { path: `${inv.path} ${args[0]}`, command: await loadCommand(found) };
    args = args.slice(1);
  }
  const cmd: Command = inv.command;
  if (inv === rootInv) {
    write(streams.err, `${PROGRAM}: unknown command: ${PROGRAM} ${args[0]}\n\nRun '${PROGRAM} --help' for more information`);
    return 1;
  }
  if (!cmd.run) {
    // A management command (`berth volume`): help, or an unknown subcommand.
    if (args.length === 0) {
      streams.err.write(helpText(inv));
      return 0;
    }
    if (args[0] === '--help' || args[0] === '-h') {
      streams.out.write(helpText(inv));
      return 0;
    }
    write(streams.err, `${PROGRAM}: unknown command: ${inv.path} ${args[0]}\n\nUsage:  ${inv.path} COMMAND\n\nRun '${inv.path} --help' for more information`);
    return 1;
  }

  // The daemon connection and client configuration: not needed, so not loaded, for help and usage errors.
  const { CliContext } = await import('./context.js');
  const ctx = new CliContext(streams, globals, env);
  try {
    const specs = commandFlags(cmd);
    let flags;
    try {
      flags = parseFlags(specs, args, { interspersed: cmd.interspersed ?? true });
    } catch (e) {
      if (e instanceof FlagError) {
        write(streams.err, flagErrorText(inv, e));
        return 125;
      }
      throw e;
    }
    if (flags.bool('help')) {
      streams.out.write(helpText(inv));
      return 0;
    }
    const bad = checkArgs(inv, flags.args);
    if (bad) {
      write(streams.err, argsErrorText(inv, bad[0], bad[1]));
      return 1;
    }
    refuseUnsupported(specs, flags.given());
    const status = await cmd.run(ctx, flags, inv);
    return status ?? 0;
  } catch (e) {
    return reportError(streams, inv, e);
  } finally {
    ctx.close();
  }
}

/** Prints a command's failure the way the Docker CLI does and returns the exit status. */
function reportError(streams: CliStreams, inv: Invocation, e: unknown): number {
  if (e instanceof StatusError) {
    if (e.message) write(streams.err, e.message);
    return e.status === 0 ? 1 : e.status;
  }
  if (e instanceof FlagError) {
    write(streams.err, flagErrorText(inv, e));
    return 125;
  }
  if (e instanceof UnsupportedFlagError) {
    write(streams.err, `${PROGRAM}: ${e.message}\n\nRun '${inv.path} --help' for more information`);
    return 125;
  }
  if (e instanceof ApiError) {
    write(streams.err, e.message);
    return 1;
  }
  const msg = e instanceof Error ? e.message : String(e);
  write(streams.err, msg);
  return 1;
}
