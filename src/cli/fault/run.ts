/**
 * `berth fault run SCHEDULE`: plays a nemesis schedule (schedule.ts) against
 * running containers — network faults through the fault API, pause through
 * pause/unpause, kill through kill/start — and undoes every fault it applied
 * at the end, or at once on Ctrl-C (SIGINT) or SIGTERM (exit status 130).
 *
 * Every applied and undone fault is one line of the event log on stdout,
 * stamped like `berth logs -t` (RFC 3339, UTC, nine fractional digits) so
 * the two line up when merged and sorted:
 *
 *   2026-12-06T23:20:01.118000000Z apply partition db1 from db2,db3 fault=1f0c…
 *   2026-12-06T23:20:11.121000000Z undo partition db1 from db2,db3 fault=1f0c…
 *
 * `--dry-run` prints the timeline the seed gives without applying anything.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { apiPath, type ApiClient } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { ApiError, StatusError } from '../errors.js';
import { describeStep, resolveSchedule, type Step, type Timeline } from './schedule.js';

/** `2026-12-06T23:20:01.118000000Z`: the format of `berth logs -t` (milliseconds, padded). */
export function eventTime(d = new Date()): string {
  return d.toISOString().replace(/\.(\d{3})Z$/, '.$1000000Z');
}

function seconds(ms: number): string {
  return `${+(ms / 1000).toFixed(3)}s`;
}

/** A container name for a container or a compose service (its only container). */
async function resolveTarget(client: ApiClient, name: string): Promise<string> {
  try {
    await client.json('GET', apiPath`/containers/${name}/json`);
    return name;
  } catch (e) {
    if (!(e instanceof ApiError && e.statusCode === 404)) throw e;
  }
  const list = await client.json<{ Names: string[] }[]>('GET', '/containers/json', {
    query: { filters: JSON.stringify({ label: [`com.docker.compose.service=${name}`] }) },
  });
  if (list.length === 1) return list[0].Names[0].replace(/^\//, '');
  if (list.length > 1) throw new StatusError(1, `service ${name} has ${list.length} containers: name one of them`);
  throw new StatusError(1, `No such container or service: ${name}`);
}

interface Applied { step: Step; target: string; faultId?: string }

class Player {
  private readonly active = new Map<number, Applied>();
  failed = false;

  constructor(private readonly ctx: CliContext, private readonly client: ApiClient, private readonly names: Map<string, string>) {}

  private log(action: string, step: Step, target: string, extra = ''): void {
    const what = describeStep(step);
    this.ctx.out.write(`${eventTime()} ${action} ${step.kind} ${target}${what ? ` ${what}` : ''}${extra}\n`);
  }

  private fail(action: string, step: Step, target: string, e: unknown): void {
    this.failed = true;
    this.ctx.err.write(`${eventTime()} error ${action} ${step.kind} ${target}: ${(e as Error).message}\n`);
  }

  async apply(scheduled: Step): Promise<void> {
    let step = scheduled;
    const target = this.names.get(step.target)!;
    try {
      // The peers by the container names they resolved to (a service's container), in the request and in the log.
      const peers = step.body?.Peers as string[] | undefined;
      if (peers) step = { ...step, body: { ...step.body, Peers: peers.map((p) => this.names.get(p) ?? p) } };
      const applied: Applied = { step, target };
      if (step.kind === 'pause') {
        await this.client.call('POST', apiPath`/containers/${target}/pause`);
      } else if (step.kind === 'kill') {
        await this.client.call('POST', apiPath`/containers/${target}/kill`, { query: { signal: step.signal! } });
      } else {
        applied.faultId = (await this.client.json<{ Id: string }>('POST', apiPath`/containers/${target}/faults`, { body: step.body })).Id;
      }
      this.active.set(step.index, applied);
      this.log('apply', step, target, applied.faultId ? ` fault=${applied.faultId}` : '');
    } catch (e) {
      this.fail('apply', step, target, e);
    }
  }

  async undo(step: Step): Promise<void> {
    const a = this.active.get(step.index);
    if (!a) return; // never applied (it failed, or the run ended first)
    this.active.delete(step.index);
    try {
      if (a.step.kind === 'pause') {
        await this.client.call('POST', apiPath`/containers/${a.target}/unpause`);
      } else if (a.step.kind === 'kill') {
        // The signal may take a moment to end the container; start it once it has.
        for (let i = 0; i < 100; i++) {
          const s = await this.client.json<{ State: { Running: boolean } }>('GET', apiPath`/containers/${a.target}/json`);
          if (!s.State.Running) break;
          await sleep(100);
        }
        await this.client.call('POST', apiPath`/containers/${a.target}/start`);
      } else {
        await this.client.call('DELETE', apiPath`/faults/${a.faultId!}`).catch((e: unknown) => {
          if (!(e instanceof ApiError && e.statusCode === 404)) throw e; // gone with its container, or removed by hand
        });
      }
      this.log('undo', a.step, a.target, a.faultId ? ` fault=${a.faultId}` : '');
    } catch (e) {
      this.fail('undo', a.step, a.target, e);
    }
  }

  /** Undoes what is still applied, latest first. */
  async undoAll(): Promise<void> {
    for (const a of [...this.active.values()].reverse()) await this.undo(a.step);
  }
}

async function play(ctx: CliContext, timeline: Timeline): Promise<number> {
  const client = await ctx.client();
  const names = new Map<string, string>();
  for (const e of timeline.events) {
    for (const n of [e.step.target, ...((e.step.body?.Peers as string[] | undefined) ?? [])]) {
      if (!names.has(n)) names.set(n, await resolveTarget(client, n));
    }
  }
  const player = new Player(ctx, client, names);
  const abort = new AbortController();
  let interrupted = false;
  const onSignal = () => { interrupted = true; abort.abort(); };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    ctx.out.write(`${eventTime()} start seed=${timeline.seed} end=${seconds(timeline.end)}\n`);
    const start = Date.now();
    for (const e of [...timeline.events, null]) {
      const t = e ? e.t : timeline.end;
      try {
        await sleep(Math.max(0, start + t - Date.now()), undefined, { signal: abort.signal });
      } catch {
        break; // interrupted
      }
      if (!e) break;
      if (e.action === 'apply') await player.apply(e.step);
      else await player.undo(e.step);
      if (interrupted) break;
    }
    await player.undoAll();
    ctx.out.write(`${eventTime()} ${interrupted ? 'interrupted' : 'end'}\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  if (interrupted) return 130;
  return player.failed ? 1 : 0;
}

export const runScheduleCommand: Command = {
  name: 'run', usage: '[OPTIONS] SCHEDULE', args: { min: 1, max: 1 },
  short: 'Play a nemesis schedule (YAML or JSON; - for stdin); every fault is undone at the end or on Ctrl-C',
  flags: [
    { name: 'seed', kind: 'string', usage: 'Seed for the schedule\'s random choices (overrides the file\'s)' },
    { name: 'dry-run', kind: 'bool', usage: 'Print the timeline without applying it' },
  ],
  async run(ctx, f) {
    const path = f.args[0];
    let text: string;
    try {
      text = readFileSync(path === '-' ? 0 : path, 'utf8');
    } catch (e) {
      throw new StatusError(1, `reading ${path}: ${(e as Error).message}`);
    }
    const seedText = f.string('seed');
    if (seedText !== '' && !/^\d+$/.test(seedText)) throw new StatusError(1, `invalid --seed ${JSON.stringify(seedText)}: an integer from 0 to 4294967295`);
    const timeline = resolveSchedule(text, seedText === '' ? undefined : Number(seedText));
    if (f.bool('dry-run')) {
      ctx.out.write(`seed=${timeline.seed} end=${seconds(timeline.end)}\n`);
      for (const e of timeline.events) {
        const what = describeStep(e.step);
        ctx.out.write(`${seconds(e.t)} ${e.action} ${e.step.kind} ${e.step.target}${what ? ` ${what}` : ''}\n`);
      }
      return 0;
    }
    return play(ctx, timeline);
  },
};
