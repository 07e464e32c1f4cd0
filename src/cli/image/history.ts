/** `berth history`: the image's layers, newest first, from `GET /images/{name}/history`. */
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { formatFlag } from '../format/format-flag.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import { rfc3339 } from '../format/time.js';
import { ellipsis, truncateId } from '../format/truncate.js';
import { humanSizeWithPrecision, timeAgo } from '../format/units.js';

export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

const HEADERS: Record<string, string> = { ID: 'IMAGE', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT', CreatedBy: 'CREATED BY', Size: 'SIZE', Comment: 'COMMENT' };

export function historyContext(h: HistoryItem, trunc: boolean, human: boolean, now = Date.now()): RowContext {
  return {
    ID: () => (trunc ? (h.Id === '<missing>' ? h.Id : truncateId(h.Id)) : h.Id),
    CreatedAt: () => rfc3339(h.Created),
    CreatedSince: () => (human ? timeAgo(h.Created, now) : rfc3339(h.Created)),
    CreatedBy: () => {
      const by = h.CreatedBy.replace(/\t/g, ' ');
      return trunc ? ellipsis(by, 45) : by;
    },
    Size: () => (human ? humanSizeWithPrecision(h.Size, 3) : String(h.Size)),
    Comment: () => h.Comment,
  };
}

export const historyCommand: Command = {
  name: 'history', usage: '[OPTIONS] IMAGE', short: 'Show the history of an image',
  aliasesHelp: 'berth image history, berth history', args: { min: 1, max: 1 },
  flags: [
    formatFlag(),
    { name: 'human', short: 'H', kind: 'bool', default: true, defaultText: 'true', usage: 'Print sizes and dates in human readable format' },
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'platform', kind: 'string', usage: 'Show history for the given platform. Formatted as "os[/arch[/variant]]" (e.g., "linux/amd64")' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
  ],
  async run(ctx, f) {
    const client = await ctx.client();
    const items = await client.json<HistoryItem[]>('GET', apiPath`/images/${f.args[0]}/history`, { query: { platform: f.string('platform') || undefined } });
    let format = f.string('format');
    if (format === '' || format === 'table') {
      format = f.bool('quiet') ? '{{.ID}}'
        : f.bool('human') ? 'table {{.ID}}\t{{.CreatedSince}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}'
          : 'table {{.ID}}\t{{.CreatedAt}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}';
    }
    else if (f.bool('quiet')) format = '{{.ID}}';
    const now = Date.now();
    ctx.out.write(formatRows(format, (items ?? []).map((h) => historyContext(h, !f.bool('no-trunc'), f.bool('human'), now)), HEADERS));
  },
};
