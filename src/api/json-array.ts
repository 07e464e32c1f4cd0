/**
 * A large JSON array encoded a slice of elements per turn of the event loop.
 * `JSON.stringify` of a whole list of thousands of containers takes tens of
 * milliseconds in one go, during which berthd answers nothing else; in
 * slices, requests that arrive meanwhile are served between them. The text
 * is the same as `JSON.stringify(rows) + '\n'`.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** Elements per slice: a few milliseconds of work for the largest rows berth sends (a container's ps row). */
const ELEMENTS_PER_TURN = 250;

/**
 * The rows must not change while they are encoded (build them afresh for
 * the answer): later slices are encoded on later turns.
 */
export async function encodeJsonArray(rows: readonly unknown[]): Promise<Buffer> {
  const parts: string[] = [];
  for (let i = 0; i < rows.length; i += ELEMENTS_PER_TURN) {
    if (i > 0) await nextTurn();
    // JSON.stringify of an array writes `null` for undefined and functions; so does encoding each alone, as `null`.
    parts.push(rows.slice(i, i + ELEMENTS_PER_TURN).map((r) => JSON.stringify(r) ?? 'null').join(','));
  }
  return Buffer.from(`[${parts.join(',')}]\n`);
}
