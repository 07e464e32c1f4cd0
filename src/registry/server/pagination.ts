/**
 * `n`/`last` pagination for `tags/list` and `_catalog`.
 *
 * OCI distribution spec v1.1 §"Listing Tags" (end-8a/8b): results are in
 * lexical order, `last` is exclusive, `n=0` gives an empty list and no `Link`,
 * fewer than `n` results are allowed only at the end or with a `Link` header
 * (RFC 5988, `rel="next"`). `_catalog` comes from the Docker registry API and
 * paginates the same way.
 */
import { DistributionError } from './errors.js';

/**
 * Upper bound on one page. A larger `n` is served in pages of this size with a
 * `Link`, which the spec allows ("MAY return fewer … when a Link header is provided").
 */
export const MAX_PAGE_SIZE = 10_000;

export interface PageRequest {
  /** Absent: the whole list. */
  n?: number;
  /** Absent: start at the beginning. */
  last?: string;
}

export interface Page<T> {
  items: T[];
  /** Set when more items follow; the value for the next request's `last`. */
  nextLast?: string;
}

/**
 * The spec's "lexical order (i.e. case-insensitive alphanumeric order)",
 * made total by breaking ties on the exact string, so `last` is unambiguous.
 */
export function lexicalCompare(a: string, b: string): number {
  const la = a.toLowerCase();
  const lb = b.toLowerCase();
  if (la !== lb) return la < lb ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Reads `n` and `last` from a query; a non-integer or negative `n` is a 400. */
export function parsePageRequest(query: URLSearchParams): PageRequest {
  const req: PageRequest = {};
  const n = query.get('n');
  if (n !== null && n !== '') {
    if (!/^[0-9]+$/.test(n)) {
      throw new DistributionError('UNSUPPORTED', { status: 400, message: `invalid pagination number: ${n}`, detail: { n } });
    }
    req.n = Number(n);
  }
  const last = query.get('last');
  if (last !== null && last !== '') req.last = last;
  return req;
}

/** One page of `all` (any order; it is sorted here). */
export function paginate(all: readonly string[], req: PageRequest): Page<string> {
  const sorted = [...all].sort(lexicalCompare);
  const after = req.last === undefined ? sorted : sorted.filter((s) => lexicalCompare(s, req.last!) > 0);
  const limit = req.n === undefined ? undefined : Math.min(req.n, MAX_PAGE_SIZE);
  if (limit === undefined && after.length <= MAX_PAGE_SIZE) return { items: after };
  const size = limit ?? MAX_PAGE_SIZE;
  if (size === 0) return { items: [] };
  const items = after.slice(0, size);
  return after.length > size ? { items, nextLast: items[items.length - 1] } : { items };
}

/**
 * `Link: <path?last=…&n=…>; rel="next"` (RFC 5988), relative to the registry
 * as docker-registry 2.8.2 writes it (`</v2/_catalog?last=probe%2Fa&n=1>`).
 */
export function nextLinkHeader(path: string, nextLast: string, n: number | undefined): string {
  const q = new URLSearchParams({ last: nextLast });
  q.set('n', String(n === undefined ? MAX_PAGE_SIZE : Math.min(n, MAX_PAGE_SIZE)));
  return `<${path}?${q.toString()}>; rel="next"`;
}
