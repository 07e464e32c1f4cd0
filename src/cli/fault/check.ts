/**
 * `berth fault check HISTORY`: runs the checker (history-check.ts) on a
 * history a client recorded during a fault run ("-" for stdin), prints its
 * short report and exits 1 on a violation.
 */
import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { checkHistory, formatReport } from './history-check.js';

export const checkCommand: Command = {
  name: 'check', usage: 'HISTORY', args: { min: 1, max: 1 },
  short: 'Check a history recorded against a replicated key-value store during a fault run',
  async run(ctx, f) {
    let text: string;
    try {
      text = readFileSync(f.args[0] === '-' ? 0 : f.args[0], 'utf8');
    } catch (e) {
      throw new StatusError(1, `reading ${f.args[0]}: ${(e as Error).message}`);
    }
    let result;
    try {
      result = checkHistory(text);
    } catch (e) {
      throw new StatusError(1, (e as Error).message);
    }
    ctx.out.write(formatReport(result));
    return result.ok ? 0 : 1;
  },
};
