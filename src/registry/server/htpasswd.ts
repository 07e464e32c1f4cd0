/**
 * htpasswd files for basic auth, limited to what Node's built-in crypto can check.
 *
 * Debian's docker-registry reads Apache htpasswd files and only accepts bcrypt
 * lines (`htpasswd -B`). Node has no bcrypt, and berth takes no dependency for
 * it, so this reader supports:
 * - `user:{SHA}<base64 sha1>` (`htpasswd -s`),
 * - `user:<password>` in plain text (`htpasswd -p`),
 * and REFUSES bcrypt (`$2a$`, `$2b$`, `$2y$`), APR1-MD5 (`$apr1$`) and crypt(3)
 * SHA (`$5$`, `$6$`) lines with an error naming the user and line, rather than
 * treating the hash as a plain password (which would let nobody in, silently).
 * Re-create such users with `htpasswd -s` or `-p`.
 */
import crypto from 'node:crypto';

export class HtpasswdError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HtpasswdError';
  }
}

/** Compared against for unknown users so they take as long as known ones. */
const UNKNOWN_USER_DIGEST = crypto.createHash('sha256').update('berth: no such user').digest();

type Verifier = { scheme: 'sha1'; hash: Buffer } | { scheme: 'plain'; password: string };

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
      const unsupported = /^\$(2[abxy]|apr1|5|6)\$/.exec(secret);
      if (unsupported) {
        const scheme = unsupported[1] === 'apr1' ? 'APR1-MD5' : unsupported[1].startsWith('2') ? 'bcrypt' : 'crypt SHA';
        throw new HtpasswdError(
          `${source}:${i + 1}: user "${user}" has a ${scheme} password, which berth cannot check ` +
          '(Node has no bcrypt); re-create it with `htpasswd -s` ({SHA}) or `htpasswd -p` (plain)',
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
    return crypto.timingSafeEqual(given, crypto.createHash('sha256').update(v.password).digest());
  }
}
