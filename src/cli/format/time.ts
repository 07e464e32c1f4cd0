/**
 * Go time layouts the Docker CLI prints, in the local time zone like Go's
 * `time.Local`: `RFC3339NanoFixed` (events, `logs -t` are daemon-made), and
 * `Time.String()` (`2024-05-01 10:00:00 +0200 CEST`, the CreatedAt fields).
 */

function pad(n: number, w = 2): string {
  return String(n).padStart(w, '0');
}

function offset(d: Date, colon: boolean, zForUtc: boolean): string {
  const off = -d.getTimezoneOffset();
  if (off === 0 && zForUtc) return 'Z';
  const sign = off < 0 ? '-' : '+';
  const a = Math.abs(off);
  return `${sign}${pad(Math.trunc(a / 60))}${colon ? ':' : ''}${pad(a % 60)}`;
}

/** jsonmessage.RFC3339NanoFixed: `2006-01-02T15:04:05.000000000Z07:00`, from nanoseconds since the epoch. */
export function rfc3339NanoFixed(unixNano: bigint | number): string {
  const ns = BigInt(unixNano);
  const ms = Number(ns / 1000000n);
  const frac = ns % 1000000000n;
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
    `.${frac.toString().padStart(9, '0')}${offset(d, true, true)}`;
}

/** The zone abbreviation Go prints; `UTC` or the numeric offset when the platform has no name. */
function zoneName(d: Date): string {
  if (d.getTimezoneOffset() === 0 && (process.env.TZ === undefined || /^(UTC|Etc\/UTC|GMT|)$/.test(process.env.TZ ?? ''))) return 'UTC';
  const m = /\(([^)]+)\)$/.exec(d.toString());
  const name = m?.[1] ?? '';
  const abbr = /^[A-Z]{2,5}$/.test(name) ? name : name.split(' ').filter(Boolean).map((w) => w[0]).join('');
  return /^[A-Z]{3,5}$/.test(abbr) ? abbr : offset(d, false, false);
}

/** Go's Time.String() for a unix time in seconds: `2006-01-02 15:04:05 -0700 MST`. */
export function goTimeString(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ` +
    `${offset(d, false, false)} ${zoneName(d)}`;
}

/** RFC 3339 in local time without fractions (`history --human=false`): `2006-01-02T15:04:05Z07:00`. */
export function rfc3339(unixSeconds: number): string {
  const d = new Date(unixSeconds * 1000);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${offset(d, true, true)}`;
}
