/**
 * The TLS side of berthd's TCP listeners, from dockerd's flags
 * (tls-flags.ts): Node's `tls` module does all the cryptography; this module
 * only decides what a setup may be.
 *
 * - `--tlsverify`: mutual TLS. The CA (`--tlscacert`) is required and is the
 *   only trust root for client certificates; a client without a certificate
 *   signed by it is refused during the handshake, before any HTTP is read.
 * - `--tls` alone: the server is authenticated, clients are not — as
 *   unauthenticated as plain TCP (listeners.ts treats it so).
 * - TLS 1.2 at least, as dockerd (go-connections' tlsconfig).
 *
 * Errors name the files, never their contents: a key is never logged.
 */
import { readFileSync } from 'node:fs';
import tls from 'node:tls';
import { InvalidParameterError } from '../errors.js';
import type { TlsFlags } from './tls-flags.js';

export interface ServerTls {
  /** Options for tls.createServer. */
  options: tls.TlsOptions;
  /** Client certificates are required and verified against the CA. */
  verifyClients: boolean;
}

function readPem(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InvalidParameterError(`Could not read ${what} "${path}": ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** True when TLS is on: `--tls` or `--tlsverify` given (and not `=false`). */
export function tlsEnabled(f: TlsFlags): boolean {
  return f.tls === true || f.tlsVerify === true;
}

/** The server's TLS set-up, or undefined when TLS is off; throws on a setup that cannot be what was asked for. */
export function serverTls(f: TlsFlags): ServerTls | undefined {
  if (!tlsEnabled(f)) return undefined;
  const verifyClients = f.tlsVerify === true;
  const cert = readPem('TLS certificate', f.certFile);
  const key = readPem('TLS key', f.keyFile);
  const ca = verifyClients ? readPem('CA certificate', f.caFile) : undefined;
  const options: tls.TlsOptions = {
    cert, key, ...(ca ? { ca } : {}),
    minVersion: 'TLSv1.2',
    requestCert: verifyClients,
    rejectUnauthorized: verifyClients,
    // A hijacked attach half-closes its side when stdin ends and still reads the container's output.
    allowHalfOpen: true,
  };
  try {
    // Built once here so a key that does not match its certificate, or a file that is no PEM, stops
    // berthd at start-up rather than failing every handshake. OpenSSL's reason names no key material.
    tls.createSecureContext(options);
  } catch (e) {
    throw new InvalidParameterError(`Could not load X509 key pair (cert: "${f.certFile}", key: "${f.keyFile}"): ${(e as Error).message}`);
  }
  if (ca) {
    try {
      // A CA file must hold at least one certificate: an empty trust root would refuse everyone, silently.
      if (!/-----BEGIN CERTIFICATE-----/.test(ca.toString('latin1'))) throw new Error('no certificate found');
      tls.createSecureContext({ ca });
    } catch (e) {
      throw new InvalidParameterError(`failed to append certificates from PEM file: "${f.caFile}": ${(e as Error).message}`);
    }
  }
  return { options, verifyClients };
}
