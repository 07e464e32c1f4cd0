/**
 * The registry authentication flow, per registry client.
 *
 * 1. The registry says how it wants to be talked to in the `WWW-Authenticate`
 *    of a 401 (distribution spec v1.1 §"API Version Check"; fact sheet §4.2):
 *    the client learns it from its first `GET /v2/` and from any later 401.
 * 2. Bearer: a token for the request's scope set is taken from the cache or
 *    fetched from the realm (`token-service.ts`) and sent as
 *    `Authorization: Bearer`. Basic: `Authorization: Basic` with the user's
 *    credentials. A `registryToken` credential (Docker's `RegistryToken`) is
 *    sent as the Bearer token as is.
 * 3. On a 401 the client calls {@link Authenticator.challenged}: the cached
 *    token that failed is forgotten, and the scopes named by the challenge
 *    (`insufficient_scope` names what the request needs, e.g.
 *    `repository:a:pull,push`) are merged into the request's, so the one
 *    retry asks for enough. A second 401 is final: UnauthorizedError.
 *
 * Concurrent requests for the same token share one token request (a pull
 * starts many layer downloads at once).
 */
import { bearerChallenge, hasBasicChallenge, parseWwwAuthenticate } from './challenge.js';
import { formatScope, mergeScopes, type Scope } from './scope.js';
import { TokenCache } from './token-cache.js';
import { fetchToken, type TokenAnswer } from './token-service.js';
import type { RetryPolicy } from './retry.js';
import type { Transport } from './transport.js';

export interface RegistryCredentials {
  username?: string;
  password?: string;
  /** A refresh token from `docker login` (config.json `identitytoken`). */
  identityToken?: string;
  /** A bearer token to send as is (Docker's `registrytoken`). */
  registryToken?: string;
}

interface BearerRealm {
  realm: string;
  service?: string;
}

export interface AuthenticatorOptions {
  /** Shared across clients if given; keyed by registry anyway. */
  cache?: TokenCache;
  retry?: RetryPolicy;
  now?: () => number;
}

export class Authenticator {
  private bearer: BearerRealm | undefined;
  private basic = false;
  private readonly cache: TokenCache;
  private readonly inflight = new Map<string, Promise<string>>();
  private readonly now: () => number;
  /** A refresh token the token server issued (login with `offline`): Docker stores it as `identitytoken`. */
  refreshToken: string | undefined;

  constructor(
    private readonly registry: string,
    private readonly creds: RegistryCredentials,
    private readonly transport: Transport,
    private readonly opts: AuthenticatorOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.cache = opts.cache ?? new TokenCache(this.now);
  }

  /** Records the scheme a 401 asked for (the initial ping's challenge). */
  learn(wwwAuthenticate: string | string[] | undefined): void {
    const challenges = parseWwwAuthenticate(wwwAuthenticate);
    const b = bearerChallenge(challenges);
    if (b) this.bearer = { realm: b.realm, service: b.service };
    else if (hasBasicChallenge(challenges)) this.basic = true;
  }

  private hasPassword(): boolean {
    return this.creds.username !== undefined || this.creds.password !== undefined;
  }

  /** The `Authorization` value for a request needing `scopes`, or undefined when none is known to be needed. */
  async authorization(scopes: readonly Scope[], opts: { offline?: boolean } = {}): Promise<string | undefined> {
    if (this.creds.registryToken) return `Bearer ${this.creds.registryToken}`;
    if (this.bearer) return `Bearer ${await this.token(this.bearer, scopes.map(formatScope), opts.offline ?? false)}`;
    if (this.basic && this.hasPassword()) {
      return `Basic ${Buffer.from(`${this.creds.username ?? ''}:${this.creds.password ?? ''}`).toString('base64')}`;
    }
    return undefined;
  }

  /**
   * Handles a 401 to a request that carried `sent` for `scopes`. Returns the
   * scopes to retry with, or undefined when a retry cannot do better (no
   * credentials for a Basic registry, the same Basic credentials refused, an
   * unknown scheme).
   */
  challenged(wwwAuthenticate: string | string[] | undefined, scopes: readonly Scope[], sent: string | undefined): Scope[] | undefined {
    if (this.creds.registryToken) return undefined;
    const challenges = parseWwwAuthenticate(wwwAuthenticate);
    const b = bearerChallenge(challenges);
    if (b) {
      this.bearer = { realm: b.realm, service: b.service };
      const next = mergeScopes(scopes, b.scopes);
      this.cache.delete(this.key(this.bearer, scopes.map(formatScope)));
      this.cache.delete(this.key(this.bearer, next.map(formatScope)));
      return next;
    }
    if (hasBasicChallenge(challenges)) {
      this.basic = true;
      if (!this.hasPassword() || sent?.startsWith('Basic ')) return undefined;
      return [...scopes];
    }
    return undefined;
  }

  private key(b: BearerRealm, scopes: readonly string[]): string {
    return TokenCache.key(`${this.registry} ${b.realm}`, b.service, scopes);
  }

  private token(b: BearerRealm, scopes: string[], offline: boolean): Promise<string> {
    const key = this.key(b, scopes);
    const cached = this.cache.get(key);
    if (cached) return Promise.resolve(cached);
    const running = this.inflight.get(key);
    if (running) return running;
    const started = this.now();
    const p = fetchToken(this.transport, {
      realm: b.realm, service: b.service, scopes,
      username: this.creds.username, password: this.creds.password,
      identityToken: this.creds.identityToken,
      offline: offline && this.hasPassword(),
    }, this.opts.retry).then((answer: TokenAnswer) => {
      this.cache.set(key, answer.token, answer.expiresIn, started);
      if (answer.refreshToken) this.refreshToken = answer.refreshToken;
      return answer.token;
    }).finally(() => this.inflight.delete(key));
    this.inflight.set(key, p);
    return p;
  }
}
