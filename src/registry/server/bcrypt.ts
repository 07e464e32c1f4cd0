/**
 * bcrypt password checks for htpasswd lines (`$2a$`, `$2b$`, `$2y$` hashes,
 * as `htpasswd -B` writes them and Debian's docker-registry requires).
 *
 * Node's crypto has no bcrypt, and a password hash is no place for code of
 * our own: the work is done by bcryptjs (a pure-JS port of OpenBSD's
 * bcrypt, no native build). Its minor versions differ only in bugs of old C
 * implementations (`$2x$`, refused by htpasswd.ts) that bcryptjs does not
 * reproduce, so `$2a$`, `$2b$` and `$2y$` hashes of one password and salt
 * agree past the version letter, as libxcrypt's do.
 */
import bcrypt from 'bcryptjs';

const HASH = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const SETTING = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{22}/;

/** The cost a setting or hash names, when bcrypt accepts it (4–31). */
function costOf(text: string, form: RegExp): number | undefined {
  const m = form.exec(text);
  const cost = m ? Number(m[1]) : NaN;
  return cost >= 4 && cost <= 31 ? cost : undefined;
}

/** Whether `text` has the shape of a bcrypt hash htpasswd may hold. */
export function isBcryptHash(text: string): boolean {
  return costOf(text, HASH) !== undefined;
}

/** The bcrypt hash of `password` with the version, cost and salt of `setting` (`$2b$05$<22 salt chars>`). */
export function bcryptHash(password: string, setting: string): string {
  if (costOf(setting, SETTING) === undefined) throw new Error('not a bcrypt setting');
  return bcrypt.hashSync(password, setting.slice(0, 29));
}

/** Whether `password` matches a bcrypt `hash` (compared in constant time by bcryptjs). */
export function bcryptVerify(password: string, hash: string): boolean {
  if (!isBcryptHash(hash)) return false;
  return bcrypt.compareSync(password, hash);
}
