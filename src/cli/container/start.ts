/**
 * `berth start`: plain starts for any number of containers, or — with `-a`
 * or `-i`, one container only — inspect → attach → wait → start and the
 * container's exit status, as Docker's start.go.
 */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { apiPath } from '../client.js';
import { monitorTtySize } from '../terminal/tty.js';
import { attachContainer, detachKeysFor } from './attach-stream.js';
import { inspectContainer } from './inspect-container.js';
import { proxySignals } from './signal-proxy.js';
import { beginWait } from './wait-status.js';

export const startCommand: Command = {
  name: 'start', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Start one or more stopped containers',
  aliasesHelp: 'berth container start, berth start', args: { min: 1 },
  flags: [
    { name: 'attach', short: 'a', kind: 'bool', usage: 'Attach STDOUT/STDERR and forward signals' },
    { name: 'checkpoint', kind: 'string', usage: 'Restore from this checkpoint' },
    { name: 'checkpoint-dir', kind: 'string', usage: 'Use a custom checkpoint storage directory', unsupported: 'berth keeps checkpoints with the container' },
    { name: 'detach-keys', kind: 'string', usage: 'Override the key sequence for detaching a container' },
    { name: 'interactive', short: 'i', kind: 'bool', usage: "Attach container's STDIN" },
  ],
  async run(ctx, f) {
    const client = await ctx.client();
    if (f.bool('attach') || f.bool('interactive')) {
      if (f.args.length > 1) throw new StatusError(1, 'you cannot start and attach multiple containers at once');
      const c = await inspectContainer(client, f.args[0]);
      const stopProxy = !c.Config.Tty ? proxySignals(client, c.Id, (l) => ctx.debug(l)) : () => {};
      try {
        const stdin = f.bool('interactive') && c.Config.OpenStdin;
        const session = await attachContainer(ctx, client, c.Id, { stdin, stdout: true, stderr: true }, c.Config.Tty, detachKeysFor(ctx, f.string('detach-keys')));
        const waitAbort = new AbortController();
        const wait = await beginWait(client, c.Id, c.HostConfig.AutoRemove ? 'removed' : 'next-exit', ctx.err, waitAbort.signal);
        try {
          await client.call('POST', apiPath`/containers/${c.Id}/start`, { query: { checkpoint: f.string('checkpoint') || undefined } });
        } catch (e) {
          session.cancel();
          await session.done.catch(() => undefined);
          if (c.HostConfig.AutoRemove) await wait.status;
          else waitAbort.abort();
          throw e;
        }
        const stopResize = c.Config.Tty && ctx.out.isTTY
          ? monitorTtySize(ctx.out, ctx.err, (h, w) => client.call('POST', apiPath`/containers/${c.Id}/resize`, { query: { h, w } }))
          : () => {};
        try {
          const r = await session.done;
          if (r.detached) {
            waitAbort.abort();
            return 0;
          }
        } finally {
          stopResize();
        }
        return await wait.status;
      } finally {
        stopProxy();
      }
    }
    const failed: string[] = [];
    for (const name of f.args) {
      try {
        await client.call('POST', apiPath`/containers/${name}/start`, { query: { checkpoint: f.string('checkpoint') || undefined } });
        ctx.out.write(`${name}\n`);
      } catch (e) {
        ctx.err.write(`${(e as Error).message}\n`);
        failed.push(name);
      }
    }
    if (failed.length) throw new StatusError(1, `Error: failed to start containers: ${failed.join(', ')}`);
    return 0;
  },
};

