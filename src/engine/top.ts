/**
 * `docker top`: the host's `ps` output restricted to the container's
 * processes (the runtime lists their pids), as dockerd does it.
 */
import { CommandError, SystemError } from '../errors.js';
import { runCommand } from '../run-command.js';

export async function topProcesses(pids: number[], psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
  const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : ['-ef'];
  const out = await runCommand(['ps', ...args], { maxBuffer: 64 << 20 }).catch((e: unknown) => {
    // dockerd's words: "ps: " and the first line of what ps said (its usage text is not the client's business).
    if (e instanceof CommandError) throw new SystemError(`ps: ${e.stderr.split('\n')[0] || `exit status ${e.exitCode}`}`, { cause: e });
    throw e;
  });
  const lines = out.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) return { Titles: [], Processes: [] };
  const titles = lines[0].trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw new SystemError(`Couldn't find PID field in ps output`);
  const want = new Set(pids);
  const processes: string[][] = [];
  for (const line of lines.slice(1)) {
    const fields = line.trim().split(/\s+/);
    const pid = Number(fields[pidCol]);
    if (!want.has(pid)) continue;
    // The last column (CMD/COMMAND) may contain spaces: keep it whole.
    const head = fields.slice(0, titles.length - 1);
    head.push(fields.slice(titles.length - 1).join(' '));
    processes.push(head);
  }
  return { Titles: titles, Processes: processes };
}
