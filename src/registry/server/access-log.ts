/**
 * Request logging in the Common Log Format (NCSA / Apache `%h %l %u %t "%r" %>s %b`),
 * the format docker-registry's access log uses, so the same tools read both:
 *
 *   127.0.0.1 - alice [10/Oct/2000:13:55:36 -0700] "GET /v2/ HTTP/1.1" 200 2
 */

export interface AccessLogEntry {
  remoteAddress: string | undefined;
  user: string | undefined;
  time: Date;
  method: string;
  url: string;
  httpVersion: string;
  status: number;
  /** Body bytes sent; undefined or 0 prints `-`. */
  bytes: number | undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** `[10/Oct/2000:13:55:36 -0700]` in the local time zone. */
export function clfTimestamp(d: Date): string {
  const off = -d.getTimezoneOffset();
  const sign = off >= 0 ? '+' : '-';
  const abs = Math.abs(off);
  return `[${pad(d.getDate())}/${MONTHS[d.getMonth()]}/${d.getFullYear()}:${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}${pad(abs % 60)}]`;
}

/** Quotes in the request line are escaped so the line stays parseable. */
export function formatAccessLog(e: AccessLogEntry): string {
  const host = e.remoteAddress?.replace(/^::ffff:/, '') || '-';
  const user = e.user ? e.user.replace(/\s/g, '_') : '-';
  const request = `${e.method} ${e.url} HTTP/${e.httpVersion}`.replace(/["\\]/g, (c) => `\\${c}`);
  return `${host} - ${user} ${clfTimestamp(e.time)} "${request}" ${e.status} ${e.bytes ? e.bytes : '-'}`;
}
