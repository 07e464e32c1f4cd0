/**
 * `berth events`: the daemon's event stream (`GET /events`), printed as
 * Docker does — `<RFC3339Nano time> <type> <action> <id> (attr=value, …)` —
 * or through `--format`; ends at `--until` or on interrupt.
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import type { ParsedFlags } from '../flags.js';
import { inspectFormatFlag } from '../format/format-flag.js';
import { goMarshal } from '../format/formatter.js';
import { Template, TemplateError } from '../format/template.js';
import { rfc3339NanoFixed } from '../format/time.js';
import { StatusError } from '../errors.js';
import { filterFlag, filtersQuery } from '../opts/filters.js';
import { getTimestamp } from '../opts/timestamp.js';
import { jsonValues } from '../stream/jsonmessage.js';

export interface EventMessage {
  Type: string;
  Action: string;
  Actor: { ID: string; Attributes?: Record<string, string> | null };
  scope?: string;
  time?: number;
  timeNano?: number;
  status?: string;
  id?: string;
  from?: string;
}

export function formatEvent(e: EventMessage): string {
  let s = '';
  // Through the decimal text, as Go reads the JSON number (a float would shift the last digits).
  if (e.timeNano) s += `${rfc3339NanoFixed(BigInt(String(Math.round(e.timeNano))))} `;
  else if (e.time) s += `${rfc3339NanoFixed(BigInt(e.time) * 1000000000n)} `;
  s += `${e.Type} ${e.Action} ${e.Actor.ID}`;
  const attrs = e.Actor.Attributes ?? {};
  const keys = Object.keys(attrs).sort();
  if (keys.length) s += ` (${keys.map((k) => `${k}=${attrs[k]}`).join(', ')})`;
  return `${s}\n`;
}

async function events(ctx: CliContext, f: ParsedFlags): Promise<void> {
  const format = f.string('format');
  let tmpl: Template | undefined;
  if (format && format !== 'json') {
    try {
      tmpl = new Template(format);
    } catch (e) {
      throw new StatusError(64, `template parsing error: ${(e as Error).message}`);
    }
  }
  const now = new Date();
  const client = await ctx.client();
  const res = await client.request('GET', '/events', {
    query: {
      filters: filtersQuery(f.list('filter')),
      since: f.string('since') ? getTimestamp(f.string('since'), now) : undefined,
      until: f.string('until') ? getTimestamp(f.string('until'), now) : undefined,
    },
  });
  for await (const v of jsonValues(res)) {
    const e = v as EventMessage;
    if (format === 'json') ctx.out.write(`${goMarshal(e)}\n`);
    else if (tmpl) {
      try {
        ctx.out.write(`${tmpl.execute(e)}\n`);
      } catch (err) {
        throw new StatusError(1, err instanceof TemplateError ? err.message : (err as Error).message);
      }
    } else ctx.out.write(formatEvent(e));
  }
}

export const eventsCommand: Command = {
  name: 'events', usage: '[OPTIONS]', short: 'Get real time events from the server',
  aliasesHelp: 'berth system events, berth events', args: { max: 0 },
  flags: [
    filterFlag('Filter output based on conditions provided'),
    { ...inspectFormatFlag(), short: undefined },
    { name: 'since', kind: 'string', usage: 'Show all events created since timestamp' },
    { name: 'until', kind: 'string', usage: 'Stream events until this timestamp' },
  ],
  run: events,
};
