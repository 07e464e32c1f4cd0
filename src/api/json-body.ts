/**
 * Reading a JSON request body with a size limit.
 *
 * The limit is 2 MiB (`MAX_JSON_BODY_BYTES`). dockerd has none for most
 * endpoints, but what its bodies describe is small: the docker CLI's create
 * body is a few KB, and the largest part a body can legitimately carry, a
 * command line and its environment, must pass execve(2), whose whole
 * argv + envp is bounded by ARG_MAX (2 MiB on Linux with the default 8 MiB
 * stack). A body bigger than that describes nothing that could run. The
 * limit also bounds the time JSON.parse holds the event loop (about 40 ms for
 * 2 MiB on a busy 2-core host; a 100 MB body held it for seconds).
 *
 * Over the limit the answer is 413 and the connection closes: reading stops
 * at once (a declared Content-Length over the limit is refused before a byte
 * is read; a chunked body at the first byte past it), and the unread rest is
 * never drained, so an endless upload costs nothing. `sendJson` adds
 * `Connection: close` to every 413 for that reason.
 */
import type { IncomingMessage } from 'node:http';
import { PayloadTooLargeError } from '../errors.js';

export const MAX_JSON_BODY_BYTES = 2 * 1024 * 1024;

function tooLarge(limit: number): PayloadTooLargeError {
  return new PayloadTooLargeError(`request body is too large: the limit for a JSON body is ${limit} bytes`);
}

/** Refuses (413) a request whose declared Content-Length is over `limit`, before a byte is read. */
export function checkDeclaredLength(req: IncomingMessage, limit = MAX_JSON_BODY_BYTES): void {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
}

/**
 * The body as text, at most `limit` bytes. On overflow the request is left
 * paused (not destroyed: the 413 must still go out on its socket).
 */
export function readBodyText(req: IncomingMessage, limit = MAX_JSON_BODY_BYTES): Promise<string> {
  try {
    checkDeclaredLength(req, limit);
  } catch (e) {
    req.pause();
    return Promise.reject(e);
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (c: Buffer) => {
      size += c.length;
      if (size > limit) {
        done();
        req.pause();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(c);
    };
    const onEnd = () => { done(); resolve(Buffer.concat(chunks, size).toString('utf8')); };
    const onError = (e: Error) => { done(); reject(e); };
    // A client that goes away mid-body: the request closes without 'end'.
    const onClose = () => { done(); reject(new Error('request aborted: the client closed the connection before the body ended')); };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
