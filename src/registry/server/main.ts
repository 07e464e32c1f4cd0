/**
 * `berth registry serve`: runs the registry until SIGINT/SIGTERM (or `signal`).
 *
 *   berth registry serve [--addr :5000] [--root DIR] [--htpasswd FILE]
 *                        [--user NAME:PASSWORD]... [--tls-cert PEM --tls-key PEM]
 *                        [--no-delete]
 *
 * Prints the URL on stdout once listening; access log lines (Common Log
 * Format) go to stderr, as docker-registry writes its log. The storage root
 * is locked while the server runs (`root-lock.ts`): a second server or a
 * `registry garbage-collect` on it is refused.
 */
import { InvalidParameterError } from '../../errors.js';
import { startRegistryServer, type RegistryServerOptions } from './index.js';

export const REGISTRY_SERVE_USAGE = `Usage:  berth registry serve [OPTIONS]

Run an OCI distribution (Docker registry v2) server

Options:
      --addr string        Listen address, host:port or :port (default ":5000")
      --root string        Storage directory (default "/var/lib/berth/registry"); alias --storage
      --htpasswd string    htpasswd file for basic auth (bcrypt, {SHA} or plain lines)
      --user name:password Allow this user (repeatable)
      --tls-cert string    PEM certificate: serve HTTPS
      --tls-key string     PEM private key for --tls-cert
      --no-delete          Refuse DELETE of manifests, tags and blobs
  -h, --help               Print usage
`;

export const DEFAULT_ADDR = ':5000';
export const DEFAULT_ROOT = '/var/lib/berth/registry';

export interface RegistryServeFlags {
  help: boolean;
  options: RegistryServerOptions;
}

/** Parses `--flag value` and `--flag=value`; unknown flags are an error. */
export function parseRegistryServeArgs(argv: readonly string[]): RegistryServeFlags {
  const o: RegistryServerOptions = { addr: DEFAULT_ADDR, root: DEFAULT_ROOT };
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    const value = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const v = argv[++i];
      if (v === undefined) throw new InvalidParameterError(`flag needs an argument: ${flag}`);
      return v;
    };
    switch (flag) {
      case '-h': case '--help': help = true; break;
      case '--addr': o.addr = value(); break;
      case '--root': case '--storage': o.root = value(); break;
      case '--htpasswd': o.htpasswd = value(); break;
      case '--user': {
        const v = value();
        const colon = v.indexOf(':');
        if (colon <= 0) throw new InvalidParameterError(`--user wants name:password, got "${v}"`);
        o.basicAuth = { ...o.basicAuth, [v.slice(0, colon)]: v.slice(colon + 1) };
        break;
      }
      case '--tls-cert': o.tlsCert = value(); break;
      case '--tls-key': o.tlsKey = value(); break;
      case '--no-delete': o.deleteEnabled = false; break;
      default: throw new InvalidParameterError(`unknown flag: ${flag}\nSee 'berth registry serve --help'.`);
    }
  }
  if (!!o.tlsCert !== !!o.tlsKey) throw new InvalidParameterError('--tls-cert and --tls-key go together');
  return { help, options: o };
}

export interface RegistryServeIo {
  out?: (line: string) => void;
  err?: (line: string) => void;
  /** Stops the server like SIGTERM does (tests). */
  signal?: AbortSignal;
}

/** Resolves once the server has stopped after SIGINT/SIGTERM or `io.signal`. */
export async function runRegistryServe(argv: string[], io: RegistryServeIo = {}): Promise<void> {
  const out = io.out ?? ((l: string) => process.stdout.write(`${l}\n`));
  const err = io.err ?? ((l: string) => process.stderr.write(`${l}\n`));
  const flags = parseRegistryServeArgs(argv);
  if (flags.help) {
    out(REGISTRY_SERVE_USAGE.trimEnd());
    return;
  }
  const registry = await startRegistryServer({ ...flags.options, log: err });
  out(`berth registry listening on ${registry.url} (storage ${flags.options.root})`);
  await new Promise<void>((resolve) => {
    const stop = (why: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      io.signal?.removeEventListener('abort', onAbort);
      err(`berth registry: ${why}, shutting down`);
      registry.close().then(resolve, resolve);
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    const onAbort = () => stop('stopped');
    process.once('SIGINT', onInt);
    process.once('SIGTERM', onTerm);
    if (io.signal?.aborted) onAbort();
    else io.signal?.addEventListener('abort', onAbort, { once: true });
  });
}
