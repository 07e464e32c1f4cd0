/**
 * The swarm endpoints (Docker Engine API v1.50 `/swarm…`, `/services…`,
 * `/nodes…`, `/tasks…`, `/secrets…`, `/configs…`) of a node that is not in a
 * swarm. berth has no swarm mode, so it answers every one of them as a
 * dockerd that never joined one does (moby `daemon/server/router/swarm` over
 * `daemon/cluster`): each request's own input is checked first, in the
 * handler's order and with its wording (a malformed body or query is still a
 * 400), then the cluster's verdict is a 503 —
 *
 * - `POST /swarm/leave`: "This node is not part of a swarm" (`errNoSwarm`);
 *   docker-py's `leave_swarm(force=True)` counts that 503 as done, and the
 *   docker CLI prints it for `docker swarm leave`;
 * - everything that needs a manager (inspect, update, unlock, unlockkey,
 *   services, nodes, tasks, secrets, configs): `errNoManager` for a node
 *   without a swarm, which `docker node ls` and `docker service ls` print.
 *
 * The one difference: `POST /swarm/init` and `/swarm/join` would make dockerd
 * a swarm node. berth cannot be one, so they fail loudly with a 501 that says
 * so, rather than a 503 that would suggest retrying.
 */
import { InvalidParameterError, NotImplementedError, UnavailableError } from '../errors.js';
import { parseFilters } from '../engine/container-views.js';
import { boolParam, readJson, versionAtLeast, type RequestContext } from './context.js';
import type { Handler, Router } from './router.js';

/** cluster `errNoSwarm`. */
const NOT_IN_SWARM = 'This node is not part of a swarm';
/** cluster `errNoManager` for a node with no swarm node running. */
const NOT_A_MANAGER = 'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to connect this node to swarm and try again.';
const NO_SWARM_MODE = 'berth does not support swarm mode: this node cannot initialize or join a swarm (services, secrets and configs need one)';

function notAManager(): never {
  throw new UnavailableError(NOT_A_MANAGER);
}

/** Go's strconv.ParseBool, for query values dockerd parses with it. */
function parseGoBool(v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

/** Go's strconv.ParseUint(v, 10, 64) error text, or '' when `v` is a valid uint64. */
function uintSyntaxError(v: string): string {
  if (!/^\d+$/.test(v)) return `strconv.ParseUint: parsing ${JSON.stringify(v)}: invalid syntax`;
  if (BigInt(v) > 0xffffffffffffffffn) return `strconv.ParseUint: parsing ${JSON.stringify(v)}: value out of range`;
  return '';
}

/** The `version` query parameter of an update (`invalid swarm version '': …`). */
function checkVersion(ctx: RequestContext, message: (raw: string, err: string) => string): void {
  const raw = ctx.query.get('version') ?? '';
  const err = uintSyntaxError(raw);
  if (err) throw new InvalidParameterError(message(raw, err));
}

/** A boolean query parameter dockerd parses with strconv.ParseBool. */
function checkBool(ctx: RequestContext, name: string, wrap: (v: string, err: string) => string): void {
  const v = ctx.query.get(name);
  if (!v) return;
  try {
    parseGoBool(v);
  } catch (e) {
    throw new InvalidParameterError(wrap(v, (e as Error).message));
  }
}

/** router.WithMinimumAPIVersion: older clients get a 400 naming the route. */
function since(min: string, method: string, path: string, h: Handler): Handler {
  return async (ctx) => {
    if (!versionAtLeast(ctx.version, min)) throw new InvalidParameterError(`${method} ${path} requires minimum API version ${min}`);
    return h(ctx);
  };
}

/** `GET /services/{id}/logs` and `/tasks/{id}/logs`: swarmLogs checks its arguments before it looks the service up. */
async function logs(ctx: RequestContext): Promise<void> {
  if (!boolParam(ctx.query, 'stdout') && !boolParam(ctx.query, 'stderr')) {
    throw new InvalidParameterError("must specify at least one of 'stdout' or 'stderr'");
  }
  const s = ctx.query.get('since');
  if (s && !/^[-+]?\d+(\.\d{0,20})?$/.test(s)) throw new InvalidParameterError(`invalid value for "since": invalid timestamp ${JSON.stringify(s)}`);
  notAManager();
}

export function registerSwarmRoutes(r: Router): void {
  // ------------------------------------------------------------ the swarm itself
  r.post('/swarm/init', async (ctx) => {
    await readJson(ctx.req);
    throw new NotImplementedError(NO_SWARM_MODE);
  });
  r.post('/swarm/join', async (ctx) => {
    await readJson(ctx.req);
    throw new NotImplementedError(NO_SWARM_MODE);
  });
  r.post('/swarm/leave', async () => {
    // With or without force: there is no swarm to leave.
    throw new UnavailableError(NOT_IN_SWARM);
  });
  r.get('/swarm', async () => notAManager());
  r.get('/swarm/unlockkey', async () => notAManager());
  r.post('/swarm/update', async (ctx) => {
    await readJson(ctx.req);
    checkVersion(ctx, (raw, err) => `invalid swarm version '${raw}': ${err}`);
    for (const flag of ['rotateWorkerToken', 'rotateManagerToken', 'rotateManagerUnlockKey']) {
      checkBool(ctx, flag, (v) => `invalid value for ${flag}: ${v}`);
    }
    notAManager();
  });
  r.post('/swarm/unlock', async (ctx) => {
    await readJson(ctx.req);
    notAManager();
  });

  // ------------------------------------------------------------ services
  r.get('/services', async (ctx) => {
    parseFilters(ctx.query.get('filters'));
    if (versionAtLeast(ctx.version, '1.41')) checkBool(ctx, 'status', (v, err) => `invalid value for status: ${v}: ${err}`);
    notAManager();
  });
  r.post('/services/create', async (ctx) => {
    await readJson(ctx.req);
    notAManager();
  });
  r.get('/services/:id/logs', logs);
  r.post('/services/:id/update', async (ctx) => {
    await readJson(ctx.req);
    checkVersion(ctx, (raw, err) => `invalid service version '${raw}': ${err}`);
    const from = ctx.query.get('registryAuthFrom');
    if (from && from !== 'spec' && from !== 'previous-spec') throw new InvalidParameterError(`invalid registryAuthFrom '${from}'`);
    notAManager();
  });
  r.get('/services/:id', async (ctx) => {
    checkBool(ctx, 'insertDefaults', (v, err) => `invalid value for insertDefaults: ${v}: ${err}`);
    notAManager();
  });
  r.delete('/services/:id', async () => notAManager());

  // ------------------------------------------------------------ nodes and tasks
  r.get('/nodes', async (ctx) => {
    parseFilters(ctx.query.get('filters'));
    notAManager();
  });
  r.post('/nodes/:id/update', async (ctx) => {
    await readJson(ctx.req);
    checkVersion(ctx, (raw, err) => `invalid node version '${raw}': ${err}`);
    notAManager();
  });
  r.get('/nodes/:id', async () => notAManager());
  r.delete('/nodes/:id', async () => notAManager());
  r.get('/tasks', async (ctx) => {
    parseFilters(ctx.query.get('filters'));
    notAManager();
  });
  r.get('/tasks/:id/logs', logs);
  r.get('/tasks/:id', async () => notAManager());

  // ------------------------------------------------------------ secrets (API 1.25) and configs (API 1.30)
  for (const [kind, min] of [['secrets', '1.25'], ['configs', '1.30']] as const) {
    const noun = kind.slice(0, -1);
    r.get(`/${kind}`, since(min, 'GET', `/${kind}`, async (ctx) => {
      parseFilters(ctx.query.get('filters'));
      notAManager();
    }));
    r.post(`/${kind}/create`, since(min, 'POST', `/${kind}/create`, async (ctx) => {
      const spec = await readJson(ctx.req);
      if (spec.Templating != null && !versionAtLeast(ctx.version, '1.37')) {
        throw new InvalidParameterError(`${noun} templating is not supported on the specified API version: ${ctx.version}`);
      }
      notAManager();
    }));
    r.post(`/${kind}/:id/update`, since(min, 'POST', `/${kind}/{id}/update`, async (ctx) => {
      await readJson(ctx.req);
      checkVersion(ctx, () => `invalid ${noun} version`);
      notAManager();
    }));
    r.get(`/${kind}/:id`, since(min, 'GET', `/${kind}/{id}`, async () => notAManager()));
    r.delete(`/${kind}/:id`, since(min, 'DELETE', `/${kind}/{id}`, async () => notAManager()));
  }
}
