/**
 * Bearer tokens kept per (registry, service, scope set) until they expire.
 *
 * The token spec (distribution v2.8.2 `docs/spec/auth/token.md`) says a
 * token is valid for `expires_in` seconds (60 when absent; Docker also raises
 * shorter lifetimes to 60) from `issued_at`. Expiry is computed from the
 * local clock at the time the token request was sent, not from the server's
 * `issued_at`: a skewed registry clock must not make every token look stale
 * (or immortal). A margin keeps a token from expiring in flight.
 */

export interface CachedToken {
  token: string;
  /** Epoch milliseconds (local clock) after which the token is not used. */
  expiresAt: number;
}

/** Lifetime assumed when the token response has none (token.md: "defaults to 60 seconds"). */
export const DEFAULT_TOKEN_LIFETIME_S = 60;
/** Tokens are dropped this long before their expiry. */
export const EXPIRY_MARGIN_MS = 5_000;

export class TokenCache {
  private readonly entries = new Map<string, CachedToken>();
  constructor(private readonly now: () => number = Date.now) {}

  static key(registry: string, service: string | undefined, scopes: readonly string[]): string {
    return JSON.stringify([registry, service ?? '', [...scopes].sort()]);
  }

  get(key: string): string | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (this.now() >= e.expiresAt - EXPIRY_MARGIN_MS) {
      this.entries.delete(key);
      return undefined;
    }
    return e.token;
  }

  /** Stores a token fetched at `fetchedAt` (local ms) that the server said lives `expiresIn` seconds. */
  set(key: string, token: string, expiresIn: number | undefined, fetchedAt: number = this.now()): void {
    const lifetime = Math.max(expiresIn && expiresIn > 0 ? expiresIn : DEFAULT_TOKEN_LIFETIME_S, DEFAULT_TOKEN_LIFETIME_S);
    this.entries.set(key, { token, expiresAt: fetchedAt + lifetime * 1000 });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
