/**
 * bcrypt password checks (`$2a$`, `$2b$`, `$2y$` hashes, as `htpasswd -B`
 * writes them and Debian's docker-registry requires), since Node's crypto
 * has no bcrypt. Provos and Mazières' EksBlowfish: Blowfish whose key
 * schedule is run 2^cost times over the password and salt, then used to
 * encrypt "OrpheanBeholderScryDoubt" 64 times.
 *
 * Blowfish's initial P-array and S-boxes are the fractional hex digits of
 * pi; rather than carry 1,042 constants, they are computed once (Machin's
 * formula in BigInt fixed point, ~100 ms) on the first check.
 */
import { timingSafeEqual } from 'node:crypto';

const WORDS = 18 + 4 * 256;

let piWords: Uint32Array | undefined;

/** arctan(1/x) · 2^bits, by its Taylor series. */
function arctanInverse(x: bigint, bits: bigint): bigint {
  const x2 = x * x;
  let term = (1n << bits) / x;
  let sum = term;
  for (let k = 1n; term !== 0n; k++) {
    term /= x2;
    const t = term / (2n * k + 1n);
    sum += k % 2n === 1n ? -t : t;
  }
  return sum;
}

/** The first `WORDS` 32-bit words of pi's fractional part (P-array, then the four S-boxes). */
function blowfishConstants(): Uint32Array {
  if (piWords) return piWords;
  const bits = BigInt(WORDS * 32 + 64);
  const pi = 16n * arctanInverse(5n, bits) - 4n * arctanInverse(239n, bits);
  const frac = (pi & ((1n << bits) - 1n)) >> 64n; // drop "3." and the guard bits
  const out = new Uint32Array(WORDS);
  for (let i = 0; i < WORDS; i++) out[i] = Number((frac >> BigInt((WORDS - 1 - i) * 32)) & 0xffffffffn);
  piWords = out;
  return out;
}

class EksBlowfish {
  readonly p: Uint32Array;
  readonly s: Uint32Array;

  constructor() {
    const c = blowfishConstants();
    this.p = c.slice(0, 18);
    this.s = c.slice(18);
  }

  private f(x: number): number {
    const s = this.s;
    return ((((s[x >>> 24] + s[256 + ((x >>> 16) & 0xff)]) >>> 0) ^ s[512 + ((x >>> 8) & 0xff)]) + s[768 + (x & 0xff)]) >>> 0;
  }

  /** Encrypts the block lr[off], lr[off+1] in place. */
  encipher(lr: Uint32Array, off: number): void {
    const p = this.p;
    let l = lr[off];
    let r = lr[off + 1];
    for (let i = 0; i < 16; i += 2) {
      l = (l ^ p[i]) >>> 0;
      r = (r ^ this.f(l)) >>> 0;
      r = (r ^ p[i + 1]) >>> 0;
      l = (l ^ this.f(r)) >>> 0;
    }
    lr[off] = (r ^ p[17]) >>> 0;
    lr[off + 1] = (l ^ p[16]) >>> 0;
  }

  /** Mixes `key` into the P-array, then re-encrypts P and S, XORing `salt` (if any) into the running block. */
  expand(key: Uint8Array, salt?: Uint8Array): void {
    let kpos = 0;
    const keyWord = () => {
      let w = 0;
      for (let i = 0; i < 4; i++) { w = ((w << 8) | key[kpos]) >>> 0; kpos = (kpos + 1) % key.length; }
      return w;
    };
    for (let i = 0; i < 18; i++) this.p[i] = (this.p[i] ^ keyWord()) >>> 0;
    let spos = 0;
    const saltWord = () => {
      if (!salt) return 0;
      let w = 0;
      for (let i = 0; i < 4; i++) { w = ((w << 8) | salt[spos]) >>> 0; spos = (spos + 1) % salt.length; }
      return w;
    };
    const lr = new Uint32Array(2);
    const fill = (arr: Uint32Array) => {
      for (let i = 0; i < arr.length; i += 2) {
        lr[0] ^= saltWord();
        lr[1] ^= saltWord();
        this.encipher(lr, 0);
        arr[i] = lr[0];
        arr[i + 1] = lr[1];
      }
    };
    fill(this.p);
    fill(this.s);
  }
}

const B64 = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function encode(bytes: Uint8Array): string {
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    const chars = i + 2 < bytes.length ? 4 : i + 1 < bytes.length ? 3 : 2;
    for (let j = 0; j < chars; j++) out += B64[(n >>> (18 - 6 * j)) & 63];
  }
  return out;
}

function decode(text: string, length: number): Uint8Array | undefined {
  const out = new Uint8Array(length);
  let bits = 0;
  let acc = 0;
  let n = 0;
  for (const ch of text) {
    const v = B64.indexOf(ch);
    if (v < 0) return undefined;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (n < length) out[n++] = (acc >>> bits) & 0xff;
    }
  }
  return n === length ? out : undefined;
}

const HASH = /^\$(2[aby])\$(\d\d)\$([./A-Za-z0-9]{22})([./A-Za-z0-9]{31})$/;

export function isBcryptHash(text: string): boolean {
  return HASH.test(text);
}

/** The bcrypt hash of `password` with the cost and salt of `setting` (`$2b$05$<22 salt chars>`). */
export function bcryptHash(password: string, setting: string): string {
  const m = /^\$(2[aby])\$(\d\d)\$([./A-Za-z0-9]{22})/.exec(setting);
  if (!m) throw new Error('not a bcrypt setting');
  const cost = Number(m[2]);
  if (cost < 4 || cost > 31) throw new Error(`bcrypt cost ${cost} out of range`);
  const salt = decode(m[3], 16);
  if (!salt) throw new Error('bad bcrypt salt');
  // The key is the password with its terminating NUL, at most 72 bytes ($2b$/$2y$ semantics).
  const pw = Buffer.from(password);
  const key = new Uint8Array(Math.min(pw.length + 1, 72));
  key.set(pw.subarray(0, Math.min(pw.length, 72)));
  const bf = new EksBlowfish();
  bf.expand(key, salt);
  for (let i = 2 ** cost; i > 0; i--) {
    bf.expand(key);
    bf.expand(salt);
  }
  const ctext = new Uint32Array(6);
  const magic = Buffer.from('OrpheanBeholderScryDoubt');
  for (let i = 0; i < 6; i++) ctext[i] = magic.readUInt32BE(i * 4);
  for (let round = 0; round < 64; round++) for (let i = 0; i < 6; i += 2) bf.encipher(ctext, i);
  const out = Buffer.alloc(24);
  for (let i = 0; i < 6; i++) out.writeUInt32BE(ctext[i], i * 4);
  return `$${m[1]}$${m[2]}$${m[3]}${encode(out.subarray(0, 23))}`;
}

/** Whether `password` matches a bcrypt `hash` (compared in constant time). */
export function bcryptVerify(password: string, hash: string): boolean {
  if (!HASH.test(hash)) return false;
  const got = Buffer.from(bcryptHash(password, hash));
  const want = Buffer.from(hash);
  return got.length === want.length && timingSafeEqual(got, want);
}
