/**
 * The detach sequence (Docker default ctrl-p ctrl-q): parsed like moby's
 * `term.ToBytes` and recognised in the keyboard input of a tty session like
 * `term.NewEscapeProxy` — bytes that start the sequence are held back, and
 * sent on if the sequence breaks off.
 */

export const DEFAULT_DETACH_KEYS = 'ctrl-p,ctrl-q';

/** `ctrl-p,ctrl-q` → [16, 17]; single characters stand for themselves. */
export function parseDetachKeys(keys: string): number[] {
  const out: number[] = [];
  for (const raw of keys.split(',')) {
    const key = raw.trim();
    if (key.length > 1 && key.startsWith('ctrl-')) {
      const c = key.slice(5).toLowerCase();
      if (c.length !== 1) throw new Error(`Unknown character: '${key}'`);
      const code = c.charCodeAt(0);
      if (c >= 'a' && c <= 'z') out.push(code - 96);
      else if (c === '@') out.push(0);
      else if (c === '[') out.push(27);
      else if (c === '\\') out.push(28);
      else if (c === ']') out.push(29);
      else if (c === '^') out.push(30);
      else if (c === '_') out.push(31);
      else throw new Error(`Unknown character: '${key}'`);
    } else if (key.length === 1) {
      out.push(key.charCodeAt(0));
    } else {
      throw new Error(`Unknown character: '${key}'`);
    }
  }
  return out;
}

/** Scans keyboard input for the detach sequence. */
export class DetachScanner {
  private matched = 0;
  constructor(private readonly keys: readonly number[]) {}

  /**
   * Returns the bytes to forward, and whether the sequence completed (in which
   * case nothing after it is forwarded).
   */
  push(chunk: Buffer): { forward: Buffer; detached: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (this.keys.length > 0 && b === this.keys[this.matched]) {
        this.matched++;
        if (this.matched === this.keys.length) return { forward: Buffer.from(out), detached: true };
        continue;
      }
      if (this.matched > 0) {
        // The sequence broke off: the held-back bytes were real input.
        out.push(...this.keys.slice(0, this.matched));
        this.matched = 0;
        if (b === this.keys[0]) { this.matched = 1; continue; }
      }
      out.push(b);
    }
    return { forward: Buffer.from(out), detached: false };
  }
}
