/**
 * `berth stop` / `berth restart`: `POST /containers/{id}/stop|restart`
 * with `t` only when `--time` was given (the daemon's StopTimeout applies
 * otherwise) and `signal` when set.
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import { apiPath } from '../client.js';
import { runForEach } from './parallel.js';

const flags: FlagSpec[] = [
  { name: 'signal', short: 's', kind: 'string', usage: 'Signal to send to the container' },
  { name: 'timeout', short: 't', kind: 'int', aliases: ['time'], usage: 'Seconds to wait before killing the container' },
];

function action(verb: 'stop' | 'restart') {
  return async (ctx: CliContext, f: ParsedFlags) => {
    const client = await ctx.client();
    const query = { t: f.changed('timeout') ? f.number('timeout') : undefined, signal: f.string('signal') || undefined };
    await runForEach(ctx, f.args, (name) => client.call('POST', apiPath`/containers/${name}/${verb}`, { query }));
  };
}

export const stopCommand: Command = {
  name: 'stop', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Stop one or more running containers',
  aliasesHelp: 'berth container stop, berth stop', args: { min: 1 }, flags, run: action('stop'),
};

export const restartCommand: Command = {
  name: 'restart', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Restart one or more containers',
  aliasesHelp: 'berth container restart, berth restart', args: { min: 1 }, flags, run: action('restart'),
};
