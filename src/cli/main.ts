/**
 * `berth` entry point (bin/berth runs the bundle made from this file, or the
 * compiled file itself). Runs one command line, then exits with its status
 * once stdout and stderr have drained — Node writes to pipes asynchronously,
 * and exiting early would cut the output of `berth ps | …`.
 *
 * No top-level await: the bundle is a CommonJS file (scripts/bundle-cli.mjs).
 */
import { runCli } from './run-cli.js';

function drain(stream: NodeJS.WriteStream): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed || !stream.writable) return resolve();
    stream.write('', () => resolve());
  });
}

// A reader that goes away (`berth logs … | head -1`) ends us like SIGPIPE ends a Go program.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(141);
    throw e;
  });
}

const streams = {
  // Opening stdin costs several milliseconds (a pipe becomes a net.Socket): only commands that read it pay.
  get in() { return process.stdin; },
  out: process.stdout,
  err: process.stderr,
};

void runCli(process.argv.slice(2), streams, process.env)
  .catch((e: unknown) => {
    process.stderr.write(`${(e as Error)?.stack ?? e}\n`);
    return 1;
  })
  .then(async (status) => {
    await Promise.all([drain(process.stdout), drain(process.stderr)]);
    process.exit(status);
  });
