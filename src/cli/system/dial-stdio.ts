/**
 * `berth system dial-stdio`: what the far side of an ssh:// connection runs
 * (Docker's connhelper starts `docker system dial-stdio` there; berth's CLI
 * starts `berth system dial-stdio`). It connects to the daemon as any command
 * would (-H, DOCKER_HOST, the context) and copies stdin to the connection and
 * the connection to stdout, with Docker's half-close semantics
 * (cli/command/system/dial_stdio.go):
 *
 * - stdin's end half-closes the connection (the daemon sees the client's
 *   EOF, as an attach whose stdin ended), while the daemon's answer still
 *   flows back;
 * - the daemon's end of the connection ends stdout, and the command: that
 *   is the whole conversation, whether or not stdin ended.
 */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { dial } from '../transport.js';

export const dialStdioCommand: Command = {
  name: 'dial-stdio', short: 'Proxy the stdio stream to the daemon connection. Should not be invoked manually.',
  hidden: true, args: { max: 0 },
  async run(ctx) {
    const addr = ctx.address;
    ctx.debug(`dial-stdio: connecting to ${addr.host}`);
    const conn = dial(addr);
    const stdin = ctx.in;
    await new Promise<void>((resolve, reject) => {
      conn.once('error', (e: NodeJS.ErrnoException) => reject(new StatusError(1, `dial-stdio: ${addr.host}: ${e.message}`)));
      // Backpressure both ways: a slow daemon slows the ssh client, and the other way round.
      stdin.pipe(conn);
      conn.pipe(ctx.out, { end: false });
      conn.once('end', () => resolve());
      conn.once('close', () => resolve());
    });
    stdin.unpipe(conn);
    stdin.pause();
    conn.destroy();
  },
};
