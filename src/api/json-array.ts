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

const OPEN = Buffer.from('[');
const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']\n');

/**
 * The rows must not change while they are encoded (build them afresh for
 * the answer): later slices are encoded on later turns.
 *
 * Each slice is one `JSON.stringify` of an array, its brackets cut off the
 * bytes, and the slices are joined as Buffers: a call per row with the
 * strings joined cost twice as much from the second slice on (a list of
 * 1000 containers: 12–15 → 7 ms of CPU for full rows, 5 → 2 ms for brief
 * ones; the same for one slice).
 */
export async function encodeJsonArray(rows: readonly unknown[]): Promise<Buffer> {
  const parts: Buffer[] = [OPEN];
  for (let i = 0; i < rows.length; i += ELEMENTS_PER_TURN) {
    if (i > 0) {
      await nextTurn();
      parts.push(COMMA);
    }
    // An array writes `null` for undefined and functions, as JSON.stringify of the whole list would.
    const slice = Buffer.from(JSON.stringify(rows.slice(i, i + ELEMENTS_PER_TURN)));
    parts.push(slice.subarray(1, slice.length - 1));
  }
  parts.push(CLOSE);
  return Buffer.concat(parts);
}
