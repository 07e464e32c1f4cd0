/**
 * Docker's yes/no question before destructive commands (prune):
 * `…\nAre you sure you want to continue? [y/N] `, true only for y/Y.
 * Reads one line from stdin; end of input means no.
 */
import type { CliContext } from './context.js';

export async function confirm(ctx: CliContext, message: string): Promise<boolean> {
  ctx.out.write(`${message}\nAre you sure you want to continue? [y/N] `);
  const line = await readLine(ctx);
  return line.trim().toLowerCase() === 'y';
}

/** Reads up to the first newline (or the end of stdin). */
export function readLine(ctx: CliContext): Promise<string> {
  return new Promise((resolve) => {
    let buf = '';
    const onData = (d: Buffer | string) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) finish(buf.slice(0, nl));
    };
    const onEnd = () => finish(buf);
    const finish = (s: string) => {
      ctx.in.off('data', onData);
      ctx.in.off('end', onEnd);
      ctx.in.off('error', onEnd);
      ctx.in.pause();
      resolve(s.replace(/\r$/, ''));
    };
    ctx.in.on('data', onData);
    ctx.in.on('end', onEnd);
    ctx.in.on('error', onEnd);
    ctx.in.resume();
  });
}
