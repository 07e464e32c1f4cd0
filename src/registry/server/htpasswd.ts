/**
 * htpasswd files for basic auth. Supported lines:
 * - `user:$2y$…` bcrypt (`htpasswd -B`, the only kind Debian's docker-registry
 *   accepts), checked by bcrypt.ts;
 * - `user:{SHA}<base64 sha1>` (`htpasswd -s`);
 * - `user:<password>` in plain text (`htpasswd -p`).
 * APR1-MD5 (`$apr1$`) and crypt(3) SHA (`$5$`, `$6$`) lines are REFUSED with
 * an error naming the user and line, rather than treated as a plain password
 * (which would let nobody in, silently).
 *
 * A bcrypt check costs tens of milliseconds by design, and clients send the
 * password with every request: a password that passed is remembered (as a
 * SHA-256, per user) so later requests cost one hash.
 */
import crypto from 'node:crypto';
import { bcryptVerify, isBcryptHash } from './bcrypt.js';

export class HtpasswdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HtpasswdError';
  }
}

/** Compared against for unknown users so they take as long as known ones. */
const UNKNOWN_USER_DIGEST = crypto.createHash('sha256').update('berth: no such user').digest();

type Verifier =
  | { scheme: 'sha1'; hash: Buffer }
  | { scheme: 'plain'; password: string }
  | { scheme: 'bcrypt'; hash: string; verified?: Buffer };

/** Users and how to check their passwords. */
export class Credentials {
  private readonly users = new Map<string, Verifier>();

  static fromHtpasswd(text: string, source = 'htpasswd'): Credentials {
    const c = new Credentials();
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (!line || line.startsWith('#')) return;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new HtpasswdError(`${source}:${i + 1}: expected user:password`);
      const user = line.slice(0, colon);
      const secret = line.slice(colon + 1);
      if (/^\$2[aby]\$/.test(secret)) {
        if (!isBcryptHash(secret)) throw new HtpasswdError(`${source}:${i + 1}: user "${user}": malformed bcrypt hash`);
        c.users.set(user, { scheme: 'bcrypt', hash: secret });
        return;
      }
      const unsupported = /^\$(2x|apr1|5|6)\$/.exec(secret);
      if (unsupported) {
        const scheme = unsupported[1] === 'apr1' ? 'APR1-MD5' : unsupported[1] === '2x' ? 'bcrypt $2x$' : 'crypt SHA';
        throw new HtpasswdError(
          `${source}:${i + 1}: user "${user}" has a ${scheme} password, which berth cannot check; ` +
          're-create it with `htpasswd -B` (bcrypt), `-s` ({SHA}) or `-p` (plain)',
        );
      }
      if (secret.startsWith('{SHA}')) {
        const hash = Buffer.from(secret.slice(5), 'base64');
        if (hash.length !== 20) throw new HtpasswdError(`${source}:${i + 1}: user "${user}": malformed {SHA} hash`);
        c.users.set(user, { scheme: 'sha1', hash });
      } else {
        c.users.set(user, { scheme: 'plain', password: secret });
      }
    });
    return c;
  }

  static fromMap(users: Record<string, string>): Credentials {
    const c = new Credentials();
    for (const [user, password] of Object.entries(users)) c.users.set(user, { scheme: 'plain', password });
    return c;
  }

  /** Adds the other file's users; later entries win. */
  merge(other: Credentials): this {
    for (const [u, v] of other.users) this.users.set(u, v);
    return this;
  }

  get size(): number {
    return this.users.size;
  }

  /** Constant-time for a known user; an unknown user costs the same hashing. */
  verify(user: string, password: string): boolean {
    const v = this.users.get(user);
    const given = crypto.createHash('sha256').update(password).digest();
    if (!v) {
      crypto.timingSafeEqual(given, UNKNOWN_USER_DIGEST);
      return false;
    }
    if (v.scheme === 'sha1') {
      return crypto.timingSafeEqual(crypto.createHash('sha1').update(password).digest(), v.hash);
    }
    if (v.scheme === 'bcrypt') {
      if (v.verified && crypto.timingSafeEqual(given, v.verified)) return true;
      if (!bcryptVerify(password, v.hash)) return false;
      v.verified = given;
      return true;
    }
    return crypto.timingSafeEqual(given, crypto.createHash('sha256').update(v.password).digest());
  }
}
