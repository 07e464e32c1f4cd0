/**
 * `berth exec`: inspect first (so "No such container" wins and no exec
 * instance leaks on a tty error), create the exec, then either start it
 * detached (plain 200) or hijack `POST /exec/{id}/start`, stream, and exit
 * with `GET /exec/{id}/json`'s ExitCode — Docker's exec.go sequence.
 * ConsoleSize goes in both bodies with `-t` from API 1.42.
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import type { ParsedFlags } from '../flags.js';
import { apiPath } from '../client.js';
import { readKvStrings, validateEnv } from '../opts/kvfile.js';
import { streamHijacked } from '../stream/hijacked-io.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../terminal/detach-keys.js';
import { monitorTtySize, terminalSize } from '../terminal/tty.js';
import { inspectContainer } from './inspect-container.js';
import { checkTty } from './tty-check.js';

export interface ExecCreateBody {
  User: string;
  Privileged: boolean;
  Tty: boolean;
  ConsoleSize?: [number, number];
  AttachStdin: boolean;
  AttachStderr: boolean;
  AttachStdout: boolean;
  Detach: boolean;
  DetachKeys: string;
  Env: string[] | null;
  WorkingDir: string;
  Cmd: string[];
}

/** The exec create body for the flags (parseExec), in Docker's field order. */
export function buildExecBody(f: ParsedFlags, detachKeysDefault: string, lookupEnv: (k: string) => string | undefined): ExecCreateBody {
  const detach = f.bool('detach');
  const env = readKvStrings(f.list('env-file'), f.list('env'), lookupEnv);
  return {
    User: f.string('user'),
    Privileged: f.bool('privileged'),
    Tty: f.bool('tty'),
    AttachStdin: !detach && f.bool('interactive'),
    AttachStderr: !detach,
    AttachStdout: !detach,
    Detach: detach,
    DetachKeys: f.string('detach-keys') || detachKeysDefault,
    Env: env.length ? env : null,
    WorkingDir: f.string('workdir'),
    Cmd: f.args.slice(1),
  };
}

async function exec(ctx: CliContext, f: ParsedFlags): Promise<number> {
  const container = f.args[0];
  const body = buildExecBody(f, ctx.config.data.detachKeys ?? '', (k) => ctx.env[k]);
  const client = await ctx.client();
  await inspectContainer(client, container);
  if (!body.Detach) checkTty(ctx, body.AttachStdin, body.Tty);
  const withConsoleSize = body.Tty && client.versionAtLeast('1.42');
  const create: ExecCreateBody = withConsoleSize
    ? { User: body.User, Privileged: body.Privileged, Tty: body.Tty, ConsoleSize: terminalSize(ctx.out), AttachStdin: body.AttachStdin, AttachStderr: body.AttachStderr, AttachStdout: body.AttachStdout, Detach: body.Detach, DetachKeys: body.DetachKeys, Env: body.Env, WorkingDir: body.WorkingDir, Cmd: body.Cmd }
    : body;
  const { Id: execId } = await client.json<{ Id: string }>('POST', apiPath`/containers/${container}/exec`, { body: create });
  if (!execId) throw new StatusError(1, 'exec ID empty');
  const startBody: Record<string, unknown> = { Detach: body.Detach, Tty: body.Tty };
  if (withConsoleSize) startBody.ConsoleSize = create.ConsoleSize;
  if (body.Detach) {
    await client.call('POST', apiPath`/exec/${execId}/start`, { body: startBody });
    return 0;
  }
  const { socket, head } = await client.hijack('POST', apiPath`/exec/${execId}/start`, { body: startBody });
  let keys: number[];
  try {
    keys = parseDetachKeys(body.DetachKeys || DEFAULT_DETACH_KEYS);
  } catch {
    keys = parseDetachKeys(DEFAULT_DETACH_KEYS);
  }
  const done = streamHijacked({
    socket, head, tty: body.Tty,
    stdin: body.AttachStdin ? ctx.in : undefined,
    stdout: ctx.out,
    stderr: ctx.err,
    detachKeys: keys,
  });
  const stopResize = body.Tty && ctx.out.isTTY
    ? monitorTtySize(ctx.out, ctx.err, (h, w) => client.call('POST', apiPath`/exec/${execId}/resize`, { query: { h, w } }))
    : () => {};
  try {
    const r = await done;
    if (r.detached) return 0;
  } finally {
    stopResize();
  }
  const info = await client.json<{ ExitCode: number | null; Running: boolean }>('GET', apiPath`/exec/${execId}/json`);
  return info.ExitCode ?? 0;
}

export function execCommand(env: NodeJS.ProcessEnv): Command {
  return {
    name: 'exec', usage: '[OPTIONS] CONTAINER COMMAND [ARG...]', short: 'Execute a command in a running container',
    aliasesHelp: 'berth container exec, berth exec', group: 'common', interspersed: false, args: { min: 2 },
    flags: [
      { name: 'detach', short: 'd', kind: 'bool', usage: 'Detached mode: run command in the background' },
      { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
      { name: 'env', short: 'e', kind: 'list', usage: 'Set environment variables', parse: (v) => validateEnv(v, (k) => env[k]) },
      { name: 'env-file', kind: 'list', usage: 'Read in a file of environment variables' },
      { name: 'interactive', short: 'i', kind: 'bool', usage: 'Keep STDIN open even if not attached' },
      { name: 'privileged', kind: 'bool', usage: 'Give extended privileges to the command' },
      { name: 'tty', short: 't', kind: 'bool', usage: 'Allocate a pseudo-TTY' },
      { name: 'user', short: 'u', kind: 'string', usage: 'Username or UID (format: "<name|uid>[:<group|gid>]")' },
      { name: 'workdir', short: 'w', kind: 'string', usage: 'Working directory inside the container' },
    ],
    run: exec,
  };
}
