/**
 * dockerd's TLS flags, parsed: `--tls`, `--tlsverify` (both booleans that
 * may be given as `--tls=false`, which dockerd takes as the explicit "yes, I
 * mean an unauthenticated TCP socket"), and the PEM files `--tlscacert`,
 * `--tlscert`, `--tlskey`, whose defaults are dockerd's: `ca.pem`,
 * `cert.pem` and `key.pem` in `$DOCKER_CERT_PATH`, else `~/.docker`.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { InvalidParameterError } from '../errors.js';

export interface TlsFlags {
  /** `--tls`: undefined when not given (so an explicit `--tls=false` can be told apart). */
  tls?: boolean;
  /** `--tlsverify`: require and verify client certificates; implies `--tls`. */
  tlsVerify?: boolean;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export const TLS_USAGE = `      --tls                     Use TLS; implied by --tlsverify
      --tlscacert string        Trust certs signed only by this CA (default "~/.docker/ca.pem")
      --tlscert string          Path to TLS certificate file (default "~/.docker/cert.pem")
      --tlskey string           Path to TLS key file (default "~/.docker/key.pem")
      --tlsverify               Use TLS and verify the remote
`;

export function defaultTlsFlags(env: NodeJS.ProcessEnv = process.env): TlsFlags {
  const dir = env.DOCKER_CERT_PATH || join(homedir(), '.docker');
  return { caFile: join(dir, 'ca.pem'), certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'key.pem') };
}

/** Go's strconv.ParseBool, which `--flag=value` of a boolean goes through. */
function parseBool(name: string, v: string): boolean {
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(v)) return false;
  throw new InvalidParameterError(`invalid argument "${v}" for "${name}" flag: strconv.ParseBool: parsing "${v}": invalid syntax`);
}

/**
 * Takes one TLS flag into `f`; false when `name` is not a TLS flag.
 * `inline` is the value after `=`; `next()` takes the following argument.
 */
export function parseTlsFlag(f: TlsFlags, name: string, inline: string | undefined, next: () => string | undefined): boolean {
  switch (name) {
    case '--tls': f.tls = inline === undefined ? true : parseBool(name, inline); return true;
    case '--tlsverify': f.tlsVerify = inline === undefined ? true : parseBool(name, inline); return true;
    case '--tlscacert': case '--tlscert': case '--tlskey': {
      const v = inline ?? next();
      if (v === undefined || v === '') throw new InvalidParameterError(`flag needs an argument: ${name}`);
      if (name === '--tlscacert') f.caFile = v;
      else if (name === '--tlscert') f.certFile = v;
      else f.keyFile = v;
      return true;
    }
    default: return false;
  }
}
