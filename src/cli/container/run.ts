/**
 * `berth run`: create → attach (hijacked) → wait (headers first) → start,
 * then stream until the container's output ends and exit with its status —
 * the Docker 28 sequence (shared/notes/interfaces.md §5.2), so the daemon
 * sees identical traffic from `docker run` and `berth run`.
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError, UnsupportedFlagError } from '../errors.js';
import type { ParsedFlags } from '../flags.js';
import { apiPath } from '../client.js';
import { monitorTtySize, terminalSize } from '../terminal/tty.js';
import { attachContainer, detachKeysFor, type AttachHandle } from './attach-stream.js';
import { buildCreateRequest, ContainerOptionsError, type CreateRequest } from './create-config.js';
import { createContainer } from './create-container.js';
import { createFlagSpecs } from './create-flags.js';
import { toRunStatusError, withHelp } from './run-errors.js';
import { proxySignals } from './signal-proxy.js';
import { checkTty } from './tty-check.js';
import { beginWait } from './wait-status.js';

/** Builds the request or fails the way Docker does for bad options (125 + help hint). */
export function parseContainerFlags(ctx: CliContext, flags: ParsedFlags, command: 'run' | 'create'): CreateRequest {
  if (flags.changed('disable-content-trust') && !flags.bool('disable-content-trust')) {
    throw new UnsupportedFlagError('--disable-content-trust=false', 'berth does not verify image signatures (content trust)');
  }
  try {
    const req = buildCreateRequest(flags, {
      lookupEnv: (k) => ctx.env[k],
      consoleSize: terminalSize(ctx.out),
      defaultPlatform: ctx.env.DOCKER_DEFAULT_PLATFORM,
    });
    for (const w of req.warnings) ctx.err.write(`WARNING: ${w}\n`);
    return req;
  } catch (e) {
    if (e instanceof ContainerOptionsError) throw new StatusError(125, withHelp(e.message, command));
    throw e;
  }
}

async function run(ctx: CliContext, flags: ParsedFlags): Promise<number> {
  const req = parseContainerFlags(ctx, flags, 'run');
  const body = req.body;
  const detach = flags.bool('detach');
  if (!detach) {
    checkTty(ctx, body.AttachStdin, body.Tty);
  } else {
    if (flags.list('attach').length) throw new StatusError(1, 'conflicting options: cannot specify both --attach and --detach');
    body.AttachStdin = body.AttachStdout = body.AttachStderr = body.StdinOnce = false;
  }
  let client;
  try {
    client = await ctx.client();
  } catch (e) {
    // Docker reports even "Cannot connect…" as run's own failure: 125 with the help hint.
    throw new StatusError(125, withHelp((e as Error).message, 'run'));
  }
  let id: string;
  try {
    id = await createContainer(ctx, client, req);
  } catch (e) {
    throw toRunStatusError(e);
  }

  const attach = body.AttachStdin || body.AttachStdout || body.AttachStderr;
  const stopProxy = attach && !body.Tty && flags.bool('sig-proxy') ? proxySignals(client, id, (l) => ctx.debug(l)) : () => {};
  try {
    let session: AttachHandle | undefined;
    if (attach) {
      try {
        session = await attachContainer(ctx, client, id,
          { stdin: body.AttachStdin, stdout: body.AttachStdout, stderr: body.AttachStderr }, body.Tty, detachKeysFor(ctx, flags.string('detach-keys')));
      } catch (e) {
        throw toRunStatusError(e);
      }
    } else {
      // Printed before start, like Docker's waitDisplayID: scripts get the ID even if start fails.
      ctx.out.write(`${id}\n`);
    }

    const waitAbort = new AbortController();
    const wait = await beginWait(client, id, body.HostConfig.AutoRemove ? 'removed' : 'next-exit', ctx.err, waitAbort.signal);
    try {
      await client.call('POST', apiPath`/containers/${id}/start`);
    } catch (e) {
      if (session) {
        session.cancel();
        await session.done.catch(() => undefined);
      }
      if (body.HostConfig.AutoRemove) await wait.status;
      else waitAbort.abort();
      throw toRunStatusError(e);
    }

    let stopResize = () => {};
    if (attach && body.Tty && ctx.out.isTTY) {
      stopResize = monitorTtySize(ctx.out, ctx.err, (h, w) => client.call('POST', apiPath`/containers/${id}/resize`, { query: { h, w } }));
    }
    try {
      if (session) {
        const r = await session.done;
        if (r.detached) {
          waitAbort.abort();
          return 0;
        }
      }
    } finally {
      stopResize();
    }
    if (!body.AttachStdout && !body.AttachStderr) {
      waitAbort.abort();
      return 0;
    }
    return await wait.status;
  } finally {
    stopProxy();
  }
}

export function runCommand(env: NodeJS.ProcessEnv): Command {
  return {
    name: 'run',
    usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    short: 'Create and run a new container from an image',
    aliasesHelp: 'berth container run, berth run',
    group: 'common',
    interspersed: false,
    args: { min: 1 },
    flags: createFlagSpecs((k) => env[k], 'run'),
    run,
  };
}
