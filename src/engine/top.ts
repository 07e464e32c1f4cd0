/**
 * `docker top`: the host's `ps` output restricted to the container's
 * processes (the runtime lists their pids), as dockerd does it.
 */
import { execFile } from 'node:child_process';
import { CommandError, InvalidParameterError } from '../errors.js';

export async function topProcesses(pids: number[], psArgs = '-ef'): Promise<{ Titles: string[]; Processes: string[][] }> {
  const args = psArgs.trim() ? psArgs.trim().split(/\s+/) : ['-ef'];
  const out = await new Promise<string>((resolve, reject) => {
    execFile('ps', args, { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new CommandError(['ps', ...args], null, stderr)); else resolve(stdout);
    });
  });
  const lines = out.split('\n').filter((l) => l.length > 0);
  if (lines.length === 0) return { Titles: [], Processes: [] };
  const titles = lines[0].trim().split(/\s+/);
  const pidCol = titles.indexOf('PID');
  if (pidCol < 0) throw new InvalidParameterError(`Couldn't find PID field in ps output`);
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
