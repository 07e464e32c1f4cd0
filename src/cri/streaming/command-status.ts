/**
 * How an exec or attach ended, and how each version of the
 * `channel.k8s.io` protocol reports it on its error stream
 * (k8s.io/apimachinery remotecommand): v4 and later send a metav1.Status
 * as JSON — Success, or Failure with reason NonZeroExitCode and the code
 * as the message of an ExitCode cause, which clients turn into their own
 * exit code — while v1–v3 send only the text of a failure.
 */
export type CommandOutcome =
  | { kind: 'success' }
  | { kind: 'exit'; code: number; cmd: string[] }
  | { kind: 'error'; message: string };

/** Whether the protocol's error stream carries JSON statuses (v4 and later). */
export function statusIsJson(protocol: string): boolean {
  const v = /^v(\d+)\./.exec(protocol);
  return !!v && Number(v[1]) >= 4;
}

/** The bytes for the error stream (empty: nothing to write). */
export function encodeOutcome(o: CommandOutcome, protocol: string): Buffer {
  const json = statusIsJson(protocol);
  switch (o.kind) {
    case 'success':
      return json ? Buffer.from(JSON.stringify({ metadata: {}, status: 'Success' })) : Buffer.alloc(0);
    case 'exit': {
      // kubelet's wording: the code is in the cause; the message is for people.
      const message = `command terminated with non-zero exit code: error executing command ${JSON.stringify(o.cmd)}, exit code ${o.code}`;
      if (!json) return Buffer.from(message);
      return Buffer.from(JSON.stringify({
        metadata: {}, status: 'Failure', message, reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: String(o.code) }] },
      }));
    }
    case 'error': {
      // apierrors.NewInternalError, as kubelet reports an exec or attach that could not run.
      const message = `Internal error occurred: ${o.message}`;
      if (!json) return Buffer.from(message);
      return Buffer.from(JSON.stringify({
        metadata: {}, status: 'Failure', message, reason: 'InternalError', details: { causes: [{ message: o.message }] }, code: 500,
      }));
    }
  }
}

/** A terminal size from a resize message (`{"Width":80,"Height":24}`), or null when it is not one. */
export function parseTerminalSize(text: string): { width: number; height: number } | null {
  let v: unknown;
  try { v = JSON.parse(text); } catch { return null; }
  if (!v || typeof v !== 'object') return null;
  const { Width: width, Height: height } = v as Record<string, unknown>;
  const ok = (n: unknown): n is number => typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 0xffff;
  return ok(width) && ok(height) ? { width, height } : null;
}
