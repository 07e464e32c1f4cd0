/**
 * Shortening rules of Docker's tables: 12-character IDs and `…` ellipses.
 */

/** stringid.TruncateID: drop an algorithm prefix (`sha256:`), keep 12 characters. */
export function truncateId(id: string): string {
  const colon = id.indexOf(':');
  const hex = colon >= 0 ? id.slice(colon + 1) : id;
  return hex.slice(0, 12);
}

/** East Asian wide characters take two columns, as go-runewidth counts them. */
function charWidth(cp: number): number {
  if ((cp >= 0x1100 && cp <= 0x115f) || (cp >= 0x2e80 && cp <= 0xa4cf) || (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) || (cp >= 0xfe30 && cp <= 0xfe4f) || (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) || (cp >= 0x1f300 && cp <= 0x1faff) || (cp >= 0x20000 && cp <= 0x3fffd)) return 2;
  return 1;
}

function allNarrow(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x1100) return false;
  return true;
}

/** formatter.Ellipsis: fit `s` in `max` display columns, ending with `…` when cut. */
export function ellipsis(s: string, max: number): string {
  if (max <= 0) return '';
  // Short and narrow (every UTF-16 unit below the first wide range): fits as it is. The common case, taken
  // without splitting into runes — `ps` calls this for every row.
  if (s.length <= max && allNarrow(s)) return s;
  const runes = [...s];
  if (max === 1) return runes[0] ?? '';
  const widths = runes.map((r) => charWidth(r.codePointAt(0) ?? 0));
  const total = widths.reduce((a, b) => a + b, 0);
  if (total <= max) return s;
  let acc = 0;
  let i = 0;
  for (; i < runes.length; i++) {
    if (acc + widths[i] > max - 1) break;
    acc += widths[i];
  }
  return runes.slice(0, i).join('') + '…';
}
