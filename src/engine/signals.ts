/**
 * Signal names and numbers as Docker accepts them (`SIGTERM`, `TERM`, `15`).
 */
import { constants } from 'node:os';
import { InvalidParameterError } from '../errors.js';

export function signalNumber(sig: string | number): number {
  if (typeof sig === 'number') return sig;
  const s = sig.trim().toUpperCase();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n <= 0 || n > 64) throw new InvalidParameterError(`Invalid signal: ${sig}`);
    return n;
  }
  const name = (s.startsWith('SIG') ? s : `SIG${s}`) as keyof typeof constants.signals;
  const n = constants.signals[name];
  if (n === undefined) {
    const rt = /^SIGRTMIN(?:\+(\d+))?$/.exec(name);
    if (rt) return 34 + Number(rt[1] ?? 0);
    throw new InvalidParameterError(`Invalid signal: ${sig}`);
  }
  return n;
}
