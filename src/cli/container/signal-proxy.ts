/**
 * `--sig-proxy`: signals the CLI receives while attached to a non-tty
 * container are sent to the container with `POST /containers/{id}/kill`,
 * like Docker's ForwardAllSignals (with a tty the terminal delivers ctrl-c
 * itself). Docker names the signal without its `SIG` prefix.
 */
import type { ApiClient } from '../client.js';
import { apiPath } from '../client.js';

const FORWARDED: NodeJS.Signals[] = ['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR2', 'SIGALRM'];

/** Starts forwarding; returns the function that stops it. */
export function proxySignals(client: ApiClient, id: string, debug?: (l: string) => void): () => void {
  const handlers = FORWARDED.map((sig) => {
    const h = () => {
      void client.call('POST', apiPath`/containers/${id}/kill`, { query: { signal: sig.slice(3) } })
        .catch((e: Error) => debug?.(`error sending signal: ${e.message}`));
    };
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => { for (const [sig, h] of handlers) process.off(sig, h); };
}
