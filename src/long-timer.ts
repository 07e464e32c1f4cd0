/**
 * A timer for any delay. Node's setTimeout keeps at most 2^31-1 ms (24.8
 * days) and fires a longer one at once, with a warning; a client's stop
 * timeout, an ExecSync timeout or an events `until` may lie further off, so
 * the delay is reached by re-arming on the way.
 */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer { clear(): void }

export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  const end = Date.now() + ms;
  let timer: NodeJS.Timeout;
  const arm = () => {
    const left = end - Date.now();
    if (left <= 0) fn();
    else timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  timer = setTimeout(arm, Math.max(0, Math.min(ms, MAX_TIMER_MS)));
  return { clear: () => clearTimeout(timer) };
}
