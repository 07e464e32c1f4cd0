/**
 * Docker's detach-key syntax (`detachKeys` of attach and exec create), read
 * as dockerd reads it (moby/term's `ToBytes`): a comma-separated list where
 * each item is one character, `ctrl-@` … `ctrl-_` (lower case, exactly as
 * written), or `DEL`. Nothing is trimmed: `ctrl-p, ctrl-q` is refused, as
 * dockerd refuses it.
 */

/** `ctrl-@` is 0, `ctrl-a` 1 … `ctrl-z` 26, then `ctrl-[` `ctrl-\` `ctrl-]` `ctrl-^` `ctrl-_` (27–31). */
const CTRL_KEYS = '@abcdefghijklmnopqrstuvwxyz[\\]^_';

/** The sequence's bytes, or null when `spec` is not valid detach-key syntax. */
export function detachKeyBytes(spec: string): number[] | null {
  const out: number[] = [];
  for (const key of spec.split(',')) {
    // One byte stands for itself; Go counts bytes, so `é` (two in UTF-8) is refused.
    if (Buffer.byteLength(key) === 1) {
      out.push(key.charCodeAt(0));
      continue;
    }
    const i = key.length === 6 && key.startsWith('ctrl-') ? CTRL_KEYS.indexOf(key[5]) : -1;
    if (i >= 0) out.push(i);
    else if (key === 'DEL') out.push(127);
    else return null;
  }
  return out;
}
