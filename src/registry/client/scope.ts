/**
 * Token scopes (distribution v2.8.2 `docs/spec/auth/scope.md`):
 * `resourcetype[(class)]:resourcename:action[,action…]`, e.g.
 * `repository:library/busybox:pull` or `registry:catalog:*`. The resource
 * name may contain colons (a `host:port` prefix), so the type ends at the
 * first colon and the actions start after the last one.
 *
 * A request's scope set is kept merged per resource (pull + push on one
 * repository is one `repository:x:pull,push` scope, as Docker asks for it)
 * and sorted, so equal sets have one canonical text for the token cache.
 */

export interface Scope {
  /** `repository`, `repository(plugin)`, `registry`… */
  type: string;
  name: string;
  actions: string[];
}

export function parseScope(s: string): Scope | undefined {
  const first = s.indexOf(':');
  const last = s.lastIndexOf(':');
  if (first <= 0 || last === first) return undefined;
  const actions = s.slice(last + 1).split(',').filter(Boolean);
  const name = s.slice(first + 1, last);
  if (!name) return undefined;
  return { type: s.slice(0, first), name, actions };
}

export function formatScope(s: Scope): string {
  return `${s.type}:${s.name}:${s.actions.join(',')}`;
}

/** The scope a repository operation needs: pull for reads, pull+push for writes. */
export function repositoryScope(repo: string, ...actions: Array<'pull' | 'push' | 'delete' | '*'>): Scope {
  return { type: 'repository', name: repo, actions: actions.length ? actions : ['pull'] };
}

/** Merges scope sets (objects or scope strings) into one canonical, sorted list. */
export function mergeScopes(...sets: ReadonlyArray<ReadonlyArray<Scope | string>>): Scope[] {
  const byResource = new Map<string, Scope>();
  for (const set of sets) {
    for (const item of set) {
      const s = typeof item === 'string' ? parseScope(item) : item;
      if (!s) continue;
      const key = `${s.type}:${s.name}`;
      const have = byResource.get(key);
      if (have) {
        for (const a of s.actions) if (!have.actions.includes(a)) have.actions.push(a);
      } else {
        byResource.set(key, { type: s.type, name: s.name, actions: [...new Set(s.actions)] });
      }
    }
  }
  const out = [...byResource.values()];
  for (const s of out) s.actions.sort();
  out.sort((a, b) => (formatScope(a) < formatScope(b) ? -1 : 1));
  return out;
}

/** True when every action of every scope in `need` is granted by `have`. */
export function scopesCover(have: readonly Scope[], need: readonly Scope[]): boolean {
  return need.every((n) => {
    const h = have.find((x) => x.type === n.type && x.name === n.name);
    return !!h && (h.actions.includes('*') || n.actions.every((a) => h.actions.includes(a)));
  });
}
