/**
 * `berth context create NAME --docker host=…,ca=…,cert=…,key=…,skip-tls-verify=…`:
 * a new context in the shared store. The PEM files are copied into the
 * store (0600 in a 0700 directory), as the Docker CLI does; without
 * `--docker` (or with `--from`) the endpoint is copied from a context.
 */
import { readFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { parseHost } from '../host.js';
import { currentName, defaultContext, storeOf } from './current.js';
import { DEFAULT_CONTEXT, validateContextName, type ContextMeta, type TlsMaterial } from './store.js';

const DOCKER_KEYS = ['from', 'host', 'ca', 'cert', 'key', 'skip-tls-verify'];

/** `--docker`'s comma-separated key=value list (Docker parses it as CSV). */
export function parseDockerEndpointFlag(value: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value.trim()) return out;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new StatusError(1, `invalid value "${part}": expected key=value`);
    const key = part.slice(0, eq).trim().toLowerCase();
    if (!DOCKER_KEYS.includes(key)) throw new StatusError(1, `unable to create docker endpoint config: unrecognized config key: ${key}`);
    out[key] = part.slice(eq + 1);
  }
  return out;
}

function readTlsFile(what: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new StatusError(1, `unable to create docker endpoint config: unable to read ${what} file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export const contextCreateCommand: Command = {
  name: 'create', usage: '[OPTIONS] CONTEXT', short: 'Create a context', args: { min: 1, max: 1 },
  long: 'Create a context\n\nDocker endpoint config:\n\nNAME                DESCRIPTION\nfrom                Copy named context\'s Docker endpoint configuration\nhost                Docker endpoint on which to connect\nca                  Trust certs signed only by this CA\ncert                Path to TLS certificate file\nkey                 Path to TLS key file\nskip-tls-verify     Skip TLS certificate validation',
  flags: [
    { name: 'description', kind: 'string', usage: 'Description of the context' },
    { name: 'docker', kind: 'string', usage: 'set the docker endpoint' },
    { name: 'from', kind: 'string', usage: 'create context from a named context' },
  ],
  async run(ctx, f) {
    const name = f.args[0];
    validateContextName(name);
    const store = storeOf(ctx);
    if (store.exists(name)) throw new StatusError(1, `context "${name}" already exists`);
    const ep = parseDockerEndpointFlag(f.string('docker'));
    const from = ep.from ?? f.string('from') ?? '';
    let meta: ContextMeta;
    let tls: TlsMaterial = {};
    if (!ep.host && (from || !f.changed('docker'))) {
      // Copy another context's endpoint (the current one when neither --docker nor --from says).
      const source = from || currentName(ctx);
      const src = source === DEFAULT_CONTEXT ? defaultContext(ctx) : store.get(source);
      meta = { Name: name, Metadata: {}, Endpoints: { docker: { ...src.Endpoints.docker } } };
      if (source !== DEFAULT_CONTEXT) {
        const files = store.tlsFiles(source);
        for (const [k, p] of Object.entries(files)) tls[k as keyof TlsMaterial] = readFileSync(p);
      }
    } else {
      const host = ep.host ?? '';
      if (!host) throw new StatusError(1, 'unable to create docker endpoint config: host is required');
      parseHost(host);
      const skip = ep['skip-tls-verify'];
      if (skip !== undefined && !['true', 'false', '1', '0'].includes(skip)) throw new StatusError(1, `unable to create docker endpoint config: invalid value "${skip}" for skip-tls-verify`);
      meta = { Name: name, Metadata: {}, Endpoints: { docker: { Host: host, SkipTLSVerify: skip === 'true' || skip === '1' } } };
      if (ep.ca) tls['ca.pem'] = readTlsFile('CA', ep.ca);
      if (ep.cert) tls['cert.pem'] = readTlsFile('certificate', ep.cert);
      if (ep.key) tls['key.pem'] = readTlsFile('key', ep.key);
      if (Boolean(ep.cert) !== Boolean(ep.key)) throw new StatusError(1, 'unable to create docker endpoint config: cert and key must be given together');
    }
    const description = f.string('description');
    if (description) meta.Metadata.Description = description;
    store.save(meta, tls);
    ctx.out.write(`${name}\n`);
    ctx.err.write(`Successfully created context "${name}"\n`);
  },
};
