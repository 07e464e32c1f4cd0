/**
 * Which context a command runs against and the daemon address it stands for,
 * in the Docker CLI's order (cli/command/cli.go resolveContextName):
 * `--context`; "default" when -H, BERTH_HOST or DOCKER_HOST is set;
 * `DOCKER_CONTEXT`; config.json's `currentContext`; "default".
 */
import { StatusError } from '../errors.js';
import { clientTls, parseHost, resolveHost, type DaemonAddress, type TlsOptions } from '../host.js';
import { ContextStore, DEFAULT_CONTEXT } from './store.js';

export interface ResolveInput {
  hosts: readonly string[];
  context?: string;
  tls: TlsOptions;
  env: NodeJS.ProcessEnv;
  configDir: string;
  /** config.json's currentContext. */
  currentContext?: string;
}

export function currentContextName(i: ResolveInput): string {
  if (i.context) {
    if (i.hosts.length > 0) throw new StatusError(1, 'conflicting options: cannot specify both --host and --context');
    return i.context;
  }
  if (i.hosts.length > 0 || i.env.BERTH_HOST || i.env.DOCKER_HOST) return DEFAULT_CONTEXT;
  if (i.env.DOCKER_CONTEXT) return i.env.DOCKER_CONTEXT;
  if (i.currentContext) return i.currentContext;
  return DEFAULT_CONTEXT;
}

/** The address of a stored context's docker endpoint, with its TLS material when it has any. */
export function contextAddress(store: ContextStore, name: string): DaemonAddress {
  const meta = store.get(name);
  const ep = meta.Endpoints.docker;
  if (!ep?.Host) throw new StatusError(1, `context "${name}" has no docker endpoint`);
  const files = store.tlsFiles(name);
  const hasTls = Boolean(files['ca.pem'] || files['cert.pem']) || ep.SkipTLSVerify === true;
  return parseHost(ep.Host, hasTls && ep.Host.startsWith('tcp://') ? {
    ...(files['ca.pem'] ? { caFile: files['ca.pem'] } : {}),
    ...(files['cert.pem'] && files['key.pem'] ? { certFile: files['cert.pem'], keyFile: files['key.pem'] } : {}),
    verify: ep.SkipTLSVerify !== true,
  } : undefined);
}

export function resolveAddress(i: ResolveInput): DaemonAddress {
  const name = currentContextName(i);
  if (name === DEFAULT_CONTEXT) return resolveHost(i.hosts, i.env, clientTls(i.tls, i.env, i.configDir));
  return contextAddress(new ContextStore(i.configDir), name);
}
