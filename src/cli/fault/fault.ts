/**
 * `berth fault …`: network fault injection for running containers (berth's
 * own; the daemon side is engine/faults.ts). Each `add` command prints the
 * new fault's ID; `ls` lists, `rm` removes.
 *
 *   berth fault partition db1 db2 db3        db1 can neither reach nor hear db2, db3
 *   berth fault partition --reject db1 db2   … and connections are refused, not left to time out
 *   berth fault loss --direction both web 30%
 *   berth fault rate web 1mbit               web sends at most 1 Mbit/s
 *   berth fault delay --jitter 10ms web 100ms
 *   berth fault ls [CONTAINER...]
 *   berth fault rm web [FAULT...]
 */
import { apiPath, type ApiClient } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import { formatFlag } from '../format/format-flag.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import type { Fault as FaultOfApi } from '../../network/fault-rules.js';

/** The API's fault, with the container it is on when `GET /faults` lists it (type only: nothing of the daemon is bundled). */
type Fault = FaultOfApi & { Container?: string; ContainerName?: string };

async function addFault(ctx: CliContext, container: string, body: Record<string, unknown>): Promise<void> {
  const client = await ctx.client();
  const f = await client.json<Fault>('POST', apiPath`/containers/${container}/faults`, { body });
  ctx.out.write(`${f.Id}\n`);
}

/** `30%` or `0.3` → 0.3. */
export function parseProbability(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  const p = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(p > 0 && p <= 1)) throw new StatusError(1, `invalid loss ${JSON.stringify(text)}: a percentage (30%) or a fraction (0.3) above 0 and at most 1`);
  return p;
}

/** What a fault does, in a few words. */
export function describeFault(f: Fault): string {
  const peers = f.Peers?.length ? `${f.Peers.join(',')}${f.Addresses?.length ? ` (${f.Addresses.join(',')})` : ''}` : '';
  switch (f.Kind) {
    case 'partition': return `from ${peers}${f.Reject ? ', rejected' : ''}`;
    case 'loss': return `${+(100 * (f.Probability ?? 0)).toFixed(4)}% ${f.Direction ?? 'out'}${peers ? ` to/from ${peers}` : ''}`;
    case 'rate': return `${f.Rate} out`;
    case 'delay': return `${f.Delay}${f.Jitter ? ` ±${f.Jitter}` : ''} out`;
    default: return '';
  }
}

const HEADERS: Record<string, string> = { Container: 'CONTAINER', ID: 'FAULT ID', Kind: 'KIND', Details: 'DETAILS' };

function faultContext(f: Fault): RowContext {
  return {
    Container: () => f.ContainerName ?? f.Container ?? '',
    ID: () => f.Id,
    Kind: () => f.Kind,
    Details: () => describeFault(f),
  };
}

async function listFaults(client: ApiClient, containers: string[]): Promise<Fault[]> {
  if (!containers.length) return client.json<Fault[]>('GET', '/faults');
  const out: Fault[] = [];
  for (const c of containers) {
    const name = (await client.json<{ Name: string }>('GET', apiPath`/containers/${c}/json`)).Name.replace(/^\//, '');
    for (const f of await client.json<Fault[]>('GET', apiPath`/containers/${c}/faults`)) out.push({ ContainerName: name, ...f });
  }
  return out;
}

const partitionCommand: Command = {
  name: 'partition', usage: '[OPTIONS] CONTAINER PEER [PEER...]', args: { min: 2 },
  short: 'Cut a container off from other containers or addresses, both ways',
  flags: [{ name: 'reject', kind: 'bool', usage: 'Refuse the packets (TCP reset, ICMP unreachable) instead of dropping them: clients fail at once' }],
  async run(ctx, f) {
    await addFault(ctx, f.args[0], { Kind: 'partition', Peers: f.args.slice(1), ...(f.bool('reject') ? { Reject: true } : {}) });
  },
};

const lossCommand: Command = {
  name: 'loss', usage: '[OPTIONS] CONTAINER LOSS', args: { min: 2, max: 2 },
  short: 'Drop a share of a container\'s packets (LOSS: 30% or 0.3)',
  flags: [
    { name: 'direction', kind: 'string', default: 'out', defaultText: '"out"', usage: 'Packets the container sends (out), receives (in) or both' },
    { name: 'peer', kind: 'list', usage: 'Only packets to/from this container or address' },
  ],
  async run(ctx, f) {
    await addFault(ctx, f.args[0], {
      Kind: 'loss', Probability: parseProbability(f.args[1]), Direction: f.string('direction'),
      ...(f.list('peer').length ? { Peers: f.list('peer') } : {}),
    });
  },
};

const rateCommand: Command = {
  name: 'rate', usage: 'CONTAINER RATE', args: { min: 2, max: 2 },
  short: 'Cap a container\'s outgoing bandwidth (RATE: 1mbit, 512kbit, 2mbps…)',
  async run(ctx, f) {
    await addFault(ctx, f.args[0], { Kind: 'rate', Rate: f.args[1] });
  },
};

const delayCommand: Command = {
  name: 'delay', usage: '[OPTIONS] CONTAINER DELAY', args: { min: 2, max: 2 },
  short: 'Delay a container\'s outgoing packets (DELAY: 100ms; needs the kernel\'s netem)',
  flags: [{ name: 'jitter', kind: 'string', usage: 'Random variation of the delay (e.g. 10ms)' }],
  async run(ctx, f) {
    await addFault(ctx, f.args[0], { Kind: 'delay', Delay: f.args[1], ...(f.string('jitter') ? { Jitter: f.string('jitter') } : {}) });
  },
};

const lsCommand: Command = {
  name: 'ls', aliases: ['list'], usage: '[OPTIONS] [CONTAINER...]', short: 'List the faults of running containers',
  flags: [formatFlag(), { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only display fault IDs' }],
  async run(ctx, f) {
    const faults = await listFaults(await ctx.client(), f.args);
    let format = f.string('format');
    if (f.bool('quiet')) format = '{{.ID}}';
    else if (format === '' || format === 'table') format = 'table {{.Container}}\t{{.ID}}\t{{.Kind}}\t{{.Details}}';
    ctx.out.write(formatRows(format, faults.map(faultContext), HEADERS));
  },
};

const rmCommand: Command = {
  name: 'rm', aliases: ['remove'], usage: 'CONTAINER [FAULT...]', args: { min: 1 },
  short: 'Remove faults from a container (all of them when none is named)',
  async run(ctx, f) {
    const client = await ctx.client();
    const [container, ...ids] = f.args;
    if (!ids.length) {
      await client.call('DELETE', apiPath`/containers/${container}/faults`);
      return;
    }
    let failed = false;
    for (const id of ids) {
      try {
        await client.call('DELETE', apiPath`/containers/${container}/faults/${id}`);
        ctx.out.write(`${id}\n`);
      } catch (e) {
        ctx.err.write(`${(e as Error).message}\n`);
        failed = true;
      }
    }
    if (failed) throw new StatusError(1, 'exit status 1');
  },
};

export const faultCommand: Command = {
  name: 'fault', short: 'Inject network faults into running containers', group: 'management',
  subcommands: [delayCommand, lossCommand, lsCommand, partitionCommand, rateCommand, rmCommand],
};
