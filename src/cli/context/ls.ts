/**
 * `berth context ls`: NAME (current marked `*`), DESCRIPTION, DOCKER
 * ENDPOINT, ERROR, as Docker 28 lists them (cli/command/context/list.go):
 * a current context that does not exist is listed with the error saying
 * so, and DOCKER_HOST (or BERTH_HOST) set earns the warning that it
 * overrides the context. `--format json` and `{{json .}}` give the keys in
 * Go's (sorted) order.
 */
import type { Command } from '../command.js';
import { formatFlag } from '../format/format-flag.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import { currentName, defaultContext, storeOf } from './current.js';
import { naturalCompare } from '../format/natural-sort.js';
import { ellipsis } from '../format/truncate.js';
import { DEFAULT_CONTEXT, type ContextMeta } from './store.js';

const HEADERS: Record<string, string> = { Name: 'NAME', Description: 'DESCRIPTION', DockerEndpoint: 'DOCKER ENDPOINT', Error: 'ERROR', Current: 'CURRENT' };

/** Docker shows this much of an error (cli/command/formatter/context.go maxErrLength). */
const MAX_ERROR_LENGTH = 45;

/** A row, its keys in the order Go's encoding/json writes a map's. */
function row(name: string, current: boolean, description = '', endpoint = '', error = ''): RowContext {
  return { Current: current, Description: description, DockerEndpoint: endpoint, Error: ellipsis(error, MAX_ERROR_LENGTH), Name: name };
}

function rowOf(meta: ContextMeta, current: boolean): RowContext {
  const description = typeof meta.Metadata.Description === 'string' ? meta.Metadata.Description : '';
  const docker = meta.Endpoints.docker;
  if (!docker) return row(meta.Name, current, description, '', 'cannot find docker endpoint in context');
  return row(meta.Name, current, description, docker.Host ?? '');
}

export const contextLsCommand: Command = {
  name: 'ls', aliases: ['list'], usage: '[OPTIONS]', short: 'List contexts', aliasesHelp: 'berth context ls, berth context list', args: { max: 0 },
  flags: [formatFlag(), { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show context names' }],
  async run(ctx, f) {
    const current = currentName(ctx);
    const store = storeOf(ctx);
    const rows = [rowOf(defaultContext(ctx), current === DEFAULT_CONTEXT), ...store.list().map((m) => rowOf(m, m.Name === current))];
    if (!rows.some((r) => r.Current)) {
      // The current context (DOCKER_CONTEXT, --context or config.json) names none: listed with why.
      let error = '';
      try { store.get(current); } catch (e) { error = (e as Error).message; }
      rows.push(row(current, true, '', '', error));
    }
    // Sorted by name, "default" among the others, as Docker sorts them.
    rows.sort((a, b) => naturalCompare(String(a.Name), String(b.Name)));
    let format = f.string('format');
    if (f.bool('quiet')) format = '{{.Name}}';
    else if (format === '' || format === 'table') {
      // The table marks the current context in its NAME column, as Docker does.
      for (const r of rows) if (r.Current) r.Name = `${String(r.Name)} *`;
      format = 'table {{.Name}}\t{{.Description}}\t{{.DockerEndpoint}}\t{{.Error}}';
    }
    ctx.out.write(formatRows(format, rows, HEADERS));
    const override = ctx.env.DOCKER_HOST ? 'DOCKER_HOST' : ctx.env.BERTH_HOST ? 'BERTH_HOST' : '';
    if (override) {
      ctx.err.write(`Warning: ${override} environment variable overrides the active context. ` +
        `To use a context, either set the global --context flag, or unset ${override} environment variable.\n`);
    }
  },
};
