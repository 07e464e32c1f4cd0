/**
 * URL → endpoint, per the OCI distribution spec v1.1 endpoint table
 * (end-1 … end-13) plus Docker's `_catalog`.
 *
 * `<name>` contains slashes, so each route is anchored on its fixed tail and
 * the name is whatever comes before; it is validated afterwards, so a bad
 * name gets `NAME_INVALID` rather than a 404. Upload routes are tried before
 * the blob route, since `blobs/uploads` would otherwise look like a blob.
 */

export type Endpoint =
  | { kind: 'base' }
  | { kind: 'catalog' }
  | { kind: 'tags'; name: string }
  | { kind: 'manifest'; name: string; reference: string }
  | { kind: 'uploads'; name: string }
  | { kind: 'upload'; name: string; uuid: string }
  | { kind: 'blob'; name: string; digest: string }
  | { kind: 'referrers'; name: string; digest: string };

/** Methods each endpoint answers; anything else is 405 `UNSUPPORTED`. */
export const METHODS: Record<Endpoint['kind'], readonly string[]> = {
  base: ['GET', 'HEAD'],
  catalog: ['GET'],
  tags: ['GET'],
  manifest: ['GET', 'HEAD', 'PUT', 'DELETE'],
  uploads: ['POST'],
  upload: ['GET', 'PATCH', 'PUT', 'DELETE'],
  blob: ['GET', 'HEAD', 'DELETE'],
  referrers: ['GET'],
};

const table: Array<{ re: RegExp; make: (m: string[]) => Endpoint }> = [
  { re: /^\/v2\/?$/, make: () => ({ kind: 'base' }) },
  { re: /^\/v2\/_catalog\/?$/, make: () => ({ kind: 'catalog' }) },
  { re: /^\/v2\/(.+)\/tags\/list\/?$/, make: (m) => ({ kind: 'tags', name: m[1] }) },
  { re: /^\/v2\/(.+)\/manifests\/([^/]+)$/, make: (m) => ({ kind: 'manifest', name: m[1], reference: m[2] }) },
  { re: /^\/v2\/(.+)\/blobs\/uploads\/?$/, make: (m) => ({ kind: 'uploads', name: m[1] }) },
  { re: /^\/v2\/(.+)\/blobs\/uploads\/([^/]+)$/, make: (m) => ({ kind: 'upload', name: m[1], uuid: m[2] }) },
  { re: /^\/v2\/(.+)\/blobs\/([^/]+)$/, make: (m) => ({ kind: 'blob', name: m[1], digest: m[2] }) },
  { re: /^\/v2\/(.+)\/referrers\/([^/]+)$/, make: (m) => ({ kind: 'referrers', name: m[1], digest: m[2] }) },
];

/** The endpoint for a URL path (still percent-encoded), or null for no route. */
export function matchEndpoint(pathname: string): Endpoint | null {
  for (const { re, make } of table) {
    const m = re.exec(pathname);
    if (!m) continue;
    try {
      return make(m.map((s) => (s === undefined ? s : decodeURIComponent(s))));
    } catch {
      return null; // malformed percent-encoding
    }
  }
  return null;
}
