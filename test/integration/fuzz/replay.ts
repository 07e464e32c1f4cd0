/**
 * Replays a request the fuzzer saved (BERTH_FUZZ_SAVE) against a berthd:
 *   node dist/test/integration/fuzz/replay.js /path/to/berth.sock failure-1-req205.http
 * and prints what came back, as the fuzzer classifies it.
 */
import { readFileSync } from 'node:fs';
import { rawExchange } from '../../helpers/raw-http.js';

const [socket, file] = process.argv.slice(2);
if (!socket || !file) {
  process.stderr.write('usage: replay.js <socket> <saved request>\n');
  process.exit(2);
}
const o = await rawExchange(socket, readFileSync(file), { head: readFileSync(file).subarray(0, 5).toString() === 'HEAD ', headerTimeoutMs: 30_000 });
if (o.kind === 'response') process.stdout.write(`${o.res.status} after ${o.ms} ms: ${o.res.body.toString('utf8').slice(0, 2000)}\n`);
else process.stdout.write(`${JSON.stringify(o)}\n`);
