/**
 * `berth logs`: inspect for `Config.Tty` (raw vs multiplexed), then
 * `GET /containers/{id}/logs?stderr=1&stdout=1&tail=all[&follow=1]…`, copied
 * to stdout/stderr; with `-f` it ends when the container stops.
 */
import type { Command } from '../command.js';
import { apiPath } from '../client.js';
import { getTimestamp } from '../opts/timestamp.js';
import { StdcopyDemuxer, writeFrames } from '../stream/stdcopy.js';
import { inspectContainer } from './inspect-container.js';

export const logsCommand: Command = {
  name: 'logs', usage: '[OPTIONS] CONTAINER', short: 'Fetch the logs of a container',
  aliasesHelp: 'berth container logs, berth logs', args: { min: 1, max: 1 },
  flags: [
    { name: 'details', kind: 'bool', usage: 'Show extra details provided to logs' },
    { name: 'follow', short: 'f', kind: 'bool', usage: 'Follow log output' },
    { name: 'since', kind: 'string', usage: 'Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
    { name: 'tail', short: 'n', kind: 'string', default: 'all', defaultText: '"all"', usage: 'Number of lines to show from the end of the logs' },
    { name: 'timestamps', short: 't', kind: 'bool', usage: 'Show timestamps' },
    { name: 'until', kind: 'string', usage: 'Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)' },
  ],
  async run(ctx, f) {
    const client = await ctx.client();
    const c = await inspectContainer(client, f.args[0]);
    const now = new Date();
    const since = f.string('since') ? getTimestamp(f.string('since'), now) : undefined;
    const until = f.string('until') ? getTimestamp(f.string('until'), now) : undefined;
    const res = await client.request('GET', apiPath`/containers/${c.Id}/logs`, {
      query: {
        details: f.bool('details'), follow: f.bool('follow'), since, stderr: true, stdout: true,
        tail: f.string('tail'), timestamps: f.bool('timestamps'), until,
      },
    });
    const demux = c.Config.Tty ? undefined : new StdcopyDemuxer();
    for await (const chunk of res) {
      if (!demux) {
        if (!ctx.out.write(chunk)) await new Promise((r) => ctx.out.once('drain', r));
        continue;
      }
      const written = writeFrames(demux.push(chunk as Buffer), ctx.out, ctx.err);
      if (written.error) throw written.error;
      for (const w of written.full) await new Promise((r) => w.once('drain', r));
    }
  },
};
