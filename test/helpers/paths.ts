/**
 * Where the test helpers find the checkout they test. Compiled helpers live
 * in `dist/test/helpers/`, three levels below the repository root.
 */
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, '');
export const berthBin = join(repoRoot, 'bin', 'berth');
export const berthdBin = join(repoRoot, 'bin', 'berthd');
export const scriptsDir = join(repoRoot, 'scripts');
