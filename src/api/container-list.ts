/**
 * `GET /containers/json` (ps). Requests with the same query that arrive
 * together share one list (shared-replies.ts), encoded in slices
 * (json-array.ts): many clients listing many containers at once must not
 * hold the event loop away from every other request.
 */
import type { Engine } from '../engine/engine.js';
import { filterContainers, linkNamesByChild, parseFilters, summaryView, type Filters } from '../engine/container-views.js';
import { containerLayerSizes } from '../engine/container-size.js';
import { atoiParam, boolParam, COMMON_HEADERS, need, type RequestContext } from './context.js';
import { encodeJsonArray } from './json-array.js';
import { SharedReplies } from './shared-replies.js';

export interface ListQuery {
  all: boolean;
  limit: number;
  filters: Filters;
  /** berth's `brief=1`: rows without HostConfig, NetworkSettings and Mounts. */
  brief: boolean;
  /** `size=1`: each row's SizeRw and SizeRootFs (a walk of every writable layer). */
  size: boolean;
}

/**
 * The rows of a list, built afresh (they are encoded over several turns).
 * `system df` lists its containers through here too, as dockerd's does
 * (Containers with All and Size).
 */
export async function listRows(engine: Engine, q: ListQuery): Promise<Record<string, unknown>[]> {
  const cs = engine.containers;
  const all = cs.store.all();
  let list = all;
  if (!q.all && !q.filters.status && q.limit <= 0) list = list.filter((c) => c.State.Running || c.State.Restarting || c.State.Paused);
  list = filterContainers(list, q.filters, {
    lookup: (n) => { try { return cs.lookup(n); } catch { return undefined; } },
    imageMatches: (a, imageId) => engine.images.tryResolve(a)?.id === imageId,
    networksOf: (c) => engine.endpoints.networksOf(c),
  });
  list.sort((a, b) => (a.Created < b.Created ? 1 : a.Created > b.Created ? -1 : 0));
  if (q.limit > 0) list = list.slice(0, q.limit);
  const linkNames = linkNamesByChild(all);
  const rows = list.map((c) => summaryView(c, c.Image, engine.endpoints.summaryView(c), q.brief, linkNames.get(c.Name)));
  if (q.size) {
    for (const [i, c] of list.entries()) {
      const { SizeRw, SizeRootFs } = await containerLayerSizes(engine.paths, c, (id) => engine.images.sizeById(id));
      // Both are omitempty in dockerd's ContainerSummary: a zero is left out.
      if (SizeRw) rows[i].SizeRw = SizeRw;
      if (SizeRootFs) rows[i].SizeRootFs = SizeRootFs;
    }
  }
  return rows;
}

export function listContainersHandler(engine: Engine): (ctx: RequestContext) => Promise<void> {
  const shared = new SharedReplies<Buffer>();
  return async (ctx) => {
    // Malformed parameters fail this request alone, before it joins a batch.
    const q: ListQuery = {
      all: boolParam(ctx.query, 'all'),
      limit: atoiParam(ctx.query, 'limit') ?? -1,
      filters: parseFilters(ctx.query.get('filters')),
      // The berth CLI asks for brief rows for its default table: `ps -a` of 1000 containers is then a third as big.
      brief: boolParam(ctx.query, 'brief'),
      size: boolParam(ctx.query, 'size'),
    };
    const key = JSON.stringify([q.all, q.limit, q.filters, q.brief, q.size]);
    const body = await shared.get(key, async () => encodeJsonArray(await listRows(engine, q)));
    const res = need(ctx);
    res.writeHead(200, { ...COMMON_HEADERS, 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  };
}
