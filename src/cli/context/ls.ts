/** `berth context ls`: NAME (current marked `*`), DESCRIPTION, DOCKER ENDPOINT, ERROR; `--format json` as Docker's. */
import type { Command } from '../command.js';
import { formatFlag } from '../format/format-flag.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import { currentName, defaultContext, HOST_OVERRIDE_WARNING, hostEnvOverrides, storeOf } from './current.js';
import { naturalCompare } from '../format/natural-sort.js';
import type { ContextMeta } from './store.js';

const HEADERS: Record<string, string> = { Name: 'NAME', Description: 'DESCRIPTION', DockerEndpoint: 'DOCKER ENDPOINT', Error: 'ERROR', Current: 'CURRENT' };

function row(meta: ContextMeta, current: boolean): RowContext {
  return {
    Name: meta.Name,
    Description: typeof meta.Metadata.Description === 'string' ? meta.Metadata.Description : '',
    DockerEndpoint: meta.Endpoints.docker?.Host ?? '',
    Current: current,
    Error: '',
  };
}

export const contextLsCommand: Command = {
  name: 'ls', aliases: ['list'], usage: '[OPTIONS]', short: 'List contexts', aliasesHelp: 'berth context ls, berth context list', args: { max: 0 },
  flags: [formatFlag(), { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show context names' }],
  async run(ctx, f) {
    const current = currentName(ctx);
    // Sorted by name, "default" among the others, as Docker sorts them.
    const rows = [row(defaultContext(ctx), current === 'default'), ...storeOf(ctx).list().map((m) => row(m, m.Name === current))]
      .sort((a, b) => naturalCompare(String(a.Name), String(b.Name)));
    let format = f.string('format');
    if (f.bool('quiet')) format = '{{.Name}}';
    else if (format === '' || format === 'table') {
      // The table marks the current context in its NAME column, as Docker does.
      for (const r of rows) if (r.Current) r.Name = `${String(r.Name)} *`;
      format = 'table {{.Name}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}';
    }
    ctx.out.write(formatRows(format, rows, HEADERS));
    if (hostEnvOverrides(ctx) && current === 'default' && (ctx.env.DOCKER_CONTEXT || ctx.config.data.currentContext)) ctx.err.write(HOST_OVERRIDE_WARNING);
  },
};
