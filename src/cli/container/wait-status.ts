/**
 * Waiting for a container's exit the way `run`, `start -a` and `attach` do
 * (waitExitOrRemoved in Docker's run.go): the `wait` request must have its
 * response headers before the container is started — that is how the
 * daemon knows to report the next exit — and its body arrives at exit.
 */
import type { ApiClient } from '../client.js';
import { apiPath, readAll } from '../client.js';

export interface WaitResponse {
  StatusCode: number;
  Error?: { Message: string } | null;
}

/** A wait whose headers arrived; `status` settles when the container exits. (An object, because a promise of a promise would flatten.) */
export interface PendingWait<T> {
  status: Promise<T>;
}

/**
 * Sends `POST /containers/{id}/wait[?condition=…]` and resolves once the
 * daemon has answered with headers; `status` resolves to the exit code, or
 * 125 (with a message on stderr) when waiting fails, as Docker does.
 */
export async function beginWait(client: ApiClient, id: string, condition: 'next-exit' | 'removed' | '', err: NodeJS.WritableStream, signal?: AbortSignal): Promise<PendingWait<number>> {
  const res = await client.request('POST', apiPath`/containers/${id}/wait`, { query: { condition: condition || undefined }, signal });
  const status = readAll(res).then((buf) => {
    const w = JSON.parse(buf.toString('utf8') || '{}') as WaitResponse;
    if (w.Error?.Message) {
      err.write(`error waiting for container: ${w.Error.Message}\n`);
      return 125;
    }
    return w.StatusCode;
  }, (e: Error) => {
    if (signal?.aborted) return 0;
    err.write(`error waiting for container: ${e.message}\n`);
    return 125;
  });
  return { status };
}

/** `attach`'s getExitStatus: the raw wait result, errors surfaced as they are. */
export async function waitResult(client: ApiClient, id: string): Promise<PendingWait<WaitResponse>> {
  // Headers first, like Docker; but a failing wait surfaces only at the end, after the attach had its say.
  let status: Promise<WaitResponse>;
  try {
    const res = await client.request('POST', apiPath`/containers/${id}/wait`);
    status = readAll(res).then((buf) => JSON.parse(buf.toString('utf8') || '{}') as WaitResponse);
  } catch (e) {
    status = Promise.reject(e);
  }
  void status.catch(() => undefined);
  return { status };
}
