/**
 * `Link: <url>; rel="next"` (RFC 8288), which registries send on a page of
 * `tags/list` or `_catalog` that has more after it (distribution spec v1.1
 * §"Listing Tags"). docker-registry writes the target relative to the host
 * (`</v2/_catalog?last=a&n=1>`), so it is resolved against the request URL.
 */

/** The `rel="next"` target of a Link header, resolved against `base`; undefined when none. */
export function nextLink(header: string | string[] | undefined, base: URL): URL | undefined {
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const value of values) {
    for (const m of value.matchAll(/<([^>]*)>((?:\s*;\s*[^;,]+)*)/g)) {
      const params = m[2];
      const rel = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i.exec(params);
      const rels = (rel?.[1] ?? rel?.[2] ?? '').toLowerCase().split(/\s+/);
      if (!rels.includes('next')) continue;
      try {
        return new URL(m[1], base);
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
