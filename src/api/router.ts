/**
 * Method + path routing. Patterns are written like `/containers/:id/json`;
 * `:name*` takes the rest of the path including slashes (image names such as
 * `host:5000/a/b` arrive unescaped from some clients).
 */
import { InvalidParameterError } from '../errors.js';
import type { RequestContext } from './context.js';

export type Handler = (ctx: RequestContext) => Promise<void>;

interface Route { method: string; re: RegExp; keys: string[]; handler: Handler; hijack: boolean }

export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler, opts: { hijack?: boolean } = {}): void {
    const keys: string[] = [];
    const re = new RegExp('^' + pattern.replace(/:(\w+)(\*)?/g, (_m, k: string, star: string | undefined) => {
      keys.push(k);
      return star ? '(.+?)' : '([^/]+)';
    }) + '/?$');
    this.routes.push({ method, re, keys, handler, hijack: !!opts.hijack });
  }

  get(p: string, h: Handler, opts?: { hijack?: boolean }): void { this.add('GET', p, h, opts); }
  post(p: string, h: Handler, opts?: { hijack?: boolean }): void { this.add('POST', p, h, opts); }
  put(p: string, h: Handler): void { this.add('PUT', p, h); }
  head(p: string, h: Handler): void { this.add('HEAD', p, h); }
  delete(p: string, h: Handler): void { this.add('DELETE', p, h); }

  match(method: string, path: string): { handler: Handler; params: Record<string, string>; hijack: boolean } | 'method' | null {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== method && !(method === 'HEAD' && r.method === 'GET')) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => { params[k] = decodePathParam(m[i + 1]); });
      return { handler: r.handler, params, hijack: r.hijack };
    }
    return pathMatched ? 'method' : null;
  }
}

/** A malformed escape (`/containers/%zz/json`) is the client's error, a 400, never a 500. */
function decodePathParam(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new InvalidParameterError(`invalid URL escape in path: ${JSON.stringify(raw)}`);
  }
}
