/**
 * `berth fault …`: network fault injection for running containers (berth's
 * own; the daemon side is engine/faults.ts). Each `add` command prints the
 * new fault's ID; `ls` lists, `rm` removes.
 *
 *   berth fault partition db1 db2 db3        db1 can neither reach nor hear db2, db3
 *   berth fault partition --reject db1 db2   … and connections are refused, not left to time out
 *   berth fault loss --direction both web 30%
 *   berth fault rate web 1mbit               web sends at most 1 Mbit/s
 *   berth fault rate --direction in web 1mbit  … receives at most 1 Mbit/s
 *   berth fault delay --jitter 10ms web 100ms
 *   berth fault dns web db                   web's lookups of db go unanswered
 *   berth fault ls [CONTAINER...]
 *   berth fault rm CONTAINER|FAULT...        containers (all their faults, and partitions naming them) and fault IDs, mixed
 *   berth fault heal [CONTAINER...]          every fault of these containers, or of all
 *   berth fault run [--seed N] SCHEDULE      a nemesis timeline (run.ts, schedule.ts)
 *   berth fault check HISTORY                did the store keep its promises? (history-check.ts)
 *
 * A CONTAINER may also be a pod (the CRI's or `kube play`'s) by name, or a
 * pod's container by its name in the pod: faults act on the pod's network
 * namespace, which berthd finds (engine/pods.ts).
 */
import { apiPath, type ApiClient } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import { formatFlag } from '../format/format-flag.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import type { Fault as FaultOfApi } from '../../network/fault-rules.js';
import { checkCommand } from './check.js';
import { runScheduleCommand } from './run.js';

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
    case 'rate': return `${f.Rate} ${f.Direction ?? 'out'}`;
    case 'delay': return `${f.Delay}${f.Jitter ? ` ±${f.Jitter}` : ''} ${f.Direction ?? 'out'}`;
    case 'dns': return `no answer for ${(f.Names ?? []).join(',')}`;
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
    const faults = await client.json<Fault[]>('GET', apiPath`/containers/${c}/faults`);
    // A pod's name (berthd resolves it to the pod's infra container) is no container's: it is shown as given.
    const name = await client.json<{ Name: string }>('GET', apiPath`/containers/${c}/json`).then((r) => r.Name.replace(/^\//, ''), () => c);
    for (const f of faults) out.push({ ContainerName: name, ...f });
  }
  return out;
}

const directionFlag = { name: 'direction', kind: 'string', default: 'out', defaultText: '"out"', usage: 'Packets the container sends (out), receives (in) or both' } as const;

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
    directionFlag,
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
  name: 'rate', usage: '[OPTIONS] CONTAINER RATE', args: { min: 2, max: 2 },
  short: 'Cap a container\'s bandwidth (RATE: 1mbit, 512kbit, 2mbps…)',
  flags: [directionFlag],
  async run(ctx, f) {
    await addFault(ctx, f.args[0], { Kind: 'rate', Rate: f.args[1], Direction: f.string('direction') });
  },
};

const delayCommand: Command = {
  name: 'delay', usage: '[OPTIONS] CONTAINER DELAY', args: { min: 2, max: 2 },
  short: 'Delay a container\'s packets (DELAY: 100ms)',
  flags: [{ name: 'jitter', kind: 'string', usage: 'Random variation of the delay, either way (e.g. 10ms)' }, directionFlag],
  async run(ctx, f) {
    await addFault(ctx, f.args[0], {
      Kind: 'delay', Delay: f.args[1], Direction: f.string('direction'), ...(f.string('jitter') ? { Jitter: f.string('jitter') } : {}),
    });
  },
};

const dnsCommand: Command = {
  name: 'dns', usage: 'CONTAINER NAME [NAME...]', args: { min: 2 },
  short: 'Lose a container\'s DNS queries for names (and the names a search domain makes of them): lookups time out',
  async run(ctx, f) {
    await addFault(ctx, f.args[0], { Kind: 'dns', Names: f.args.slice(1) });
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

/** Runs `fn` for each argument, printing it when done and its error otherwise; fails at the end if any failed (as `docker rm`). */
async function eachArgument(ctx: CliContext, args: string[], fn: (arg: string) => Promise<void>): Promise<void> {
  let failed = false;
  for (const arg of args) {
    try {
      await fn(arg);
      ctx.out.write(`${arg}\n`);
    } catch (e) {
      ctx.err.write(`${(e as Error).message}\n`);
      failed = true;
    }
  }
  if (failed) throw new StatusError(1, 'exit status 1');
}

const rmCommand: Command = {
  name: 'rm', aliases: ['remove'], usage: 'CONTAINER|FAULT [CONTAINER|FAULT...]', args: { min: 1 },
  short: 'Remove faults: a fault by ID, or every fault of a container (with the partitions that name it)',
  async run(ctx, f) {
    const client = await ctx.client();
    const ids = new Set((await client.json<Fault[]>('GET', '/faults')).map((x) => x.Id));
    // Fault IDs first: a container named with them loses the rest afterwards, and a fault it already lost is no error.
    const faults = f.args.filter((a) => ids.has(a));
    const containers = f.args.filter((a) => !ids.has(a));
    await eachArgument(ctx, [...faults, ...containers], async (arg) => {
      if (ids.has(arg)) {
        await client.call('DELETE', apiPath`/faults/${arg}`).catch((e: unknown) => {
          if (!(e instanceof Error && /No such fault/.test(e.message) && containers.length)) throw e;
        });
      } else {
        await client.call('DELETE', apiPath`/containers/${arg}/faults`);
      }
    });
  },
};

const healCommand: Command = {
  name: 'heal', usage: '[CONTAINER...]',
  short: 'Remove every fault of the containers (with the partitions that name them), or of all containers',
  async run(ctx, f) {
    const client = await ctx.client();
    if (!f.args.length) {
      await client.call('DELETE', '/faults');
      return;
    }
    await eachArgument(ctx, f.args, (c) => client.call('DELETE', apiPath`/containers/${c}/faults`).then(() => undefined));
  },
};

export const faultCommand: Command = {
  name: 'fault', short: 'Inject network faults into running containers', group: 'management',
  subcommands: [checkCommand, delayCommand, dnsCommand, healCommand, lossCommand, lsCommand, partitionCommand, rateCommand, rmCommand, runScheduleCommand],
};
