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

/**
 * A kill's `signal` as dockerd reads it (moby/sys/signal's ParseSignal, then
 * ValidSignalForPlatform): a number or a (SIG)NAME, in any case; 0 and
 * unknown names are "Invalid signal", a number Linux has no signal for
 * (32, 33, above 64, negative) is not supported.
 */
export function killSignal(raw: string): number {
  if (/^[+-]?\d+$/.test(raw)) {
    const n = Number(raw);
    if (n === 0) throw new InvalidParameterError(`Invalid signal: ${raw}`);
    // SIGRTMIN is 34 in Go's table (glibc keeps 32 and 33 for itself).
    if (n < 1 || n > 64 || n === 32 || n === 33) throw new InvalidParameterError(`the linux daemon does not support signal ${n}`);
    return n;
  }
  return signalNumber(raw);
}
