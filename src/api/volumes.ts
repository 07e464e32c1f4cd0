/**
 * `/volumes/…` endpoints.
 */
import type { Engine } from '../engine/engine.js';
import { boolFilter, parseFilters } from '../engine/container-views.js';
import { matchLabel, volumeView as view } from '../engine/volumes.js';
import { boolParam, need, readJson, sendJson, sendNoContent, versionAtLeast } from './context.js';
import type { Router } from './router.js';
import { InvalidParameterError } from '../errors.js';

/** moby `withPrune`: one `all` value at most, a Go bool. */
function pruneAll(values: string[] | undefined): boolean {
  if (!values || values.length === 0) return false;
  if (values.length > 1) throw new InvalidParameterError(`invalid filter 'all=[${values.join(' ')}]': only one value is expected`);
  const v = values[0];
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new InvalidParameterError(`invalid filter 'all': strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

export function registerVolumeRoutes(r: Router, engine: Engine): void {
  const vs = engine.volumes;
  r.get('/volumes', async (ctx) => {
    const f = parseFilters(ctx.query.get('filters'));
    for (const k of Object.keys(f)) if (!['dangling', 'driver', 'label', 'name'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    const danglingOnly = f.dangling ? boolFilter(f, 'dangling', false) : undefined;
    const list = vs.list().filter((v) => {
      if (f.name && !f.name.some((n) => v.Name.includes(n))) return false;
      if (f.driver && !f.driver.includes(v.Driver)) return false;
      if (f.label && !f.label.every((l) => matchLabel(v.Labels, l))) return false;
      if (danglingOnly !== undefined && danglingOnly !== (vs.users(v.Name).length === 0)) return false;
      return true;
    });
    sendJson(need(ctx), 200, { Volumes: list.map(view), Warnings: null });
  });
  r.post('/volumes/create', async (ctx) => {
    const body = await readJson(ctx.req, 'VolumeCreate');
    sendJson(need(ctx), 201, view(await vs.create(body)));
  });
  r.post('/volumes/prune', async (ctx) => {
    const f = parseFilters(ctx.query.get('filters'));
    for (const k of Object.keys(f)) if (!['label', 'label!', 'all'].includes(k)) throw new InvalidParameterError(`invalid filter '${k}'`);
    // API 1.42 made prune spare named volumes unless `all`; older clients
    // (docker-py 5 asking for 1.41) still get every unused volume pruned
    // (moby `postVolumesPrune`, `withPrune`).
    const all = !versionAtLeast(ctx.version, '1.42') || pruneAll(f.all);
    sendJson(need(ctx), 200, await vs.prune({ all, label: f.label, labelNot: f['label!'] }));
  });
  r.get('/volumes/:name', async (ctx) => sendJson(need(ctx), 200, view(vs.inspect(ctx.params.name))));
  r.delete('/volumes/:name', async (ctx) => {
    await vs.remove(ctx.params.name, boolParam(ctx.query, 'force'));
    sendNoContent(need(ctx));
  });
}
