/**
 * The HTTP entry point: auth, routing, error bodies, access log.
 *
 * Order per request: basic auth when configured (a 401 before anything else,
 * as docker-registry does for every `/v2/` route), then the endpoint, then
 * the method (405 `UNSUPPORTED`), then the repository name (`NAME_INVALID`).
 * Errors that are not {@link DistributionError}s become 500 `UNKNOWN`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RegistryContext } from './context.js';
import { Exchange } from './exchange.js';
import { DistributionError } from './errors.js';
import { checkRepositoryName } from './names.js';
import { METHODS, matchEndpoint, type Endpoint } from './routes.js';
import { authenticate } from './basic-auth.js';
import type { Credentials } from './htpasswd.js';
import { formatAccessLog } from './access-log.js';
import { deleteBlob, getBlob } from './blob-handlers.js';
import { cancelUpload, patchUpload, putUpload, startUpload, uploadStatus } from './upload-handlers.js';
import { deleteManifest, getManifest, putManifest } from './manifest-handlers.js';
import { listCatalog, listReferrers, listTags } from './listing-handlers.js';

export interface RequestHandlerOptions {
  credentials?: Credentials;
  log?: (line: string) => void;
}

async function dispatch(ctx: RegistryContext, ex: Exchange, e: Endpoint): Promise<void> {
  const m = ex.method;
  switch (e.kind) {
    case 'base':
      ex.json(200, {});
      return;
    case 'catalog':
      return listCatalog(ctx, ex);
    case 'tags':
      return listTags(ctx, ex, e.name);
    case 'manifest':
      if (m === 'PUT') return putManifest(ctx, ex, e.name, e.reference);
      if (m === 'DELETE') return deleteManifest(ctx, ex, e.name, e.reference);
      return getManifest(ctx, ex, e.name, e.reference);
    case 'uploads':
      return startUpload(ctx, ex, e.name);
    case 'upload':
      if (m === 'PATCH') return patchUpload(ctx, ex, e.name, e.uuid);
      if (m === 'PUT') return putUpload(ctx, ex, e.name, e.uuid);
      if (m === 'DELETE') return cancelUpload(ctx, ex, e.name, e.uuid);
      return uploadStatus(ctx, ex, e.name, e.uuid);
    case 'blob':
      if (m === 'DELETE') return deleteBlob(ctx, ex, e.name, e.digest);
      return getBlob(ctx, ex, e.name, e.digest);
    case 'referrers':
      return listReferrers(ctx, ex, e.name, e.digest);
  }
}

export function createRequestHandler(ctx: RegistryContext, opts: RequestHandlerOptions = {}) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const ex = new Exchange(req, res);
    const started = new Date();
    if (opts.log) {
      const log = opts.log;
      res.once('close', () => {
        const length = Number(res.getHeader('content-length') ?? 0);
        log(formatAccessLog({
          remoteAddress: req.socket.remoteAddress,
          user: ex.user,
          time: started,
          method: ex.method,
          url: req.url ?? '/',
          httpVersion: req.httpVersion,
          status: res.statusCode,
          bytes: ex.method === 'HEAD' ? 0 : length,
        }));
      });
    }
    void (async () => {
      try {
        if (opts.credentials) ex.user = authenticate(opts.credentials, req.headers.authorization);
        const endpoint = matchEndpoint(ex.url.pathname);
        if (!endpoint) throw new DistributionError('UNSUPPORTED', { status: 404, message: 'page not found' });
        const allowed = METHODS[endpoint.kind];
        if (!allowed.includes(ex.method)) {
          throw new DistributionError('UNSUPPORTED', { message: `${ex.method} not allowed`, headers: { Allow: allowed.join(', ') } });
        }
        if ('name' in endpoint) checkRepositoryName(endpoint.name);
        await dispatch(ctx, ex, endpoint);
      } catch (err) {
        if (req.destroyed && !req.complete) {
          res.destroy();
          return;
        }
        ex.error(err instanceof DistributionError
          ? err
          : new DistributionError('UNKNOWN', { message: err instanceof Error ? err.message : String(err) }));
      }
    })();
  };
}
