/**
 * `berth attach`: wait first (so the exit code is not missed), check the
 * container runs, attach stdin only when it was created with `-i`, stream,
 * then exit with the container's status (Docker's attach.go). Detaching
 * with the keys ends with Docker's `read escape sequence`.
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import type { ParsedFlags } from '../flags.js';
import { StatusError } from '../errors.js';
import type { ApiClient } from '../client.js';
import { apiPath } from '../client.js';
import { monitorTtySize, terminalSize } from '../terminal/tty.js';
import { attachContainer, detachKeysFor } from './attach-stream.js';
import { inspectContainer, type ContainerInspect } from './inspect-container.js';
import { proxySignals } from './signal-proxy.js';
import { checkTty } from './tty-check.js';
import { waitResult } from './wait-status.js';

async function runningContainer(client: ApiClient, name: string): Promise<ContainerInspect> {
  const c = await inspectContainer(client, name);
  if (!c.State.Running) throw new StatusError(1, 'You cannot attach to a stopped container, start it first');
  if (c.State.Paused) throw new StatusError(1, 'You cannot attach to a paused container, unpause it first');
  if (c.State.Restarting) throw new StatusError(1, 'You cannot attach to a restarting container, wait until it is running');
  return c;
}

async function attach(ctx: CliContext, f: ParsedFlags): Promise<number> {
  const name = f.args[0];
  const client = await ctx.client();
  const pending = await waitResult(client, name);
  const c = await runningContainer(client, name);
  checkTty(ctx, !f.bool('no-stdin'), c.Config.Tty);
  const stdin = !f.bool('no-stdin') && c.Config.OpenStdin;
  const stopProxy = f.bool('sig-proxy') && !c.Config.Tty ? proxySignals(client, name, (l) => ctx.debug(l)) : () => {};
  try {
    const session = await attachContainer(ctx, client, name, { stdin, stdout: true, stderr: true }, c.Config.Tty, detachKeysFor(ctx, f.string('detach-keys')));
    await runningContainer(client, name);
    let stopResize = () => {};
    if (c.Config.Tty && ctx.out.isTTY) {
      // Resize one larger first so a re-attached shell redraws its prompt, then follow the real size (Docker's resizeTTY).
      const resize = (h: number, w: number) => client.call('POST', apiPath`/containers/${name}/resize`, { query: { h, w } });
      const [h, w] = terminalSize(ctx.out);
      await resize(h + 1, w + 1).catch(() => undefined);
      stopResize = monitorTtySize(ctx.out, ctx.err, resize);
    }
    try {
      const r = await session.done;
      if (r.detached) throw new StatusError(1, 'read escape sequence');
    } finally {
      stopResize();
    }
  } finally {
    stopProxy();
  }
  const w = await pending.status;
  if (w.Error?.Message) throw new StatusError(1, w.Error.Message);
  return w.StatusCode;
}

export const attachCommand: Command = {
  name: 'attach', usage: '[OPTIONS] CONTAINER', short: 'Attach local standard input, output, and error streams to a running container',
  aliasesHelp: 'berth container attach, berth attach', args: { min: 1, max: 1 },
  flags: [
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { name: 'no-stdin', kind: 'bool', usage: 'Do not attach STDIN' },
    { name: 'sig-proxy', kind: 'bool', default: true, defaultText: 'true', usage: 'Proxy all received signals to the process' },
  ],
  run: attach,
};
