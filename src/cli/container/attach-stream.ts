/**
 * Opening an attach connection and streaming it (`POST
 * /containers/{id}/attach?stream=1&stdin=…&stdout=…&stderr=…`, hijacked), as
 * run, start -a and attach share it. The detach keys come from the flag,
 * else config.json `detachKeys`, else ctrl-p,ctrl-q; only an explicit choice
 * is sent to the daemon, like Docker.
 */
import type { ApiClient } from '../client.js';
import { apiPath } from '../client.js';
import type { CliContext } from '../context.js';
import { streamHijacked, type HijackedIoResult } from '../stream/hijacked-io.js';
import { DEFAULT_DETACH_KEYS, parseDetachKeys } from '../terminal/detach-keys.js';

export interface AttachStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

export interface AttachHandle {
  /** Resolves when the output ended (or the user detached). */
  done: Promise<HijackedIoResult>;
  /** Cuts the connection (start failed). */
  cancel(): void;
}

export function detachKeysFor(ctx: CliContext, flagValue: string): string {
  return flagValue || ctx.config.data.detachKeys || '';
}

function keyBytes(ctx: CliContext, keys: string): number[] {
  try {
    return parseDetachKeys(keys || DEFAULT_DETACH_KEYS);
  } catch (e) {
    ctx.err.write(`WARN invalid detach escape keys, using default: ${(e as Error).message}\n`);
    return parseDetachKeys(DEFAULT_DETACH_KEYS);
  }
}

export async function attachContainer(ctx: CliContext, client: ApiClient, id: string, streams: AttachStreams, tty: boolean, detachKeys: string): Promise<AttachHandle> {
  const { socket, head } = await client.hijack('POST', apiPath`/containers/${id}/attach`, {
    query: { stream: true, stdin: streams.stdin, stdout: streams.stdout, stderr: streams.stderr, detachKeys: detachKeys || undefined },
    headers: { 'Content-Type': 'text/plain' },
  });
  const done = streamHijacked({
    socket, head, tty,
    stdin: streams.stdin ? ctx.in : undefined,
    stdout: streams.stdout ? ctx.out : undefined,
    stderr: streams.stderr ? ctx.err : undefined,
    detachKeys: keyBytes(ctx, detachKeys),
  });
  return { done, cancel: () => socket.destroy() };
}
