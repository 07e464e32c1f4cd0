/**
 * `node --import <this file>`: at exit, writes V8's young generation (new
 * space) size at start and at exit to stderr as one JSON line
 * (`{"youngGenerationAtStart":…,"youngGenerationAtExit":…}`).
 */
import { getHeapSpaceStatistics } from 'node:v8';

const newSpaceSize = () => getHeapSpaceStatistics().find((s) => s.space_name === 'new_space')?.space_size ?? -1;
const atStart = newSpaceSize();
process.on('exit', () => {
  process.stderr.write(`${JSON.stringify({ youngGenerationAtStart: atStart, youngGenerationAtExit: newSpaceSize() })}\n`);
});
