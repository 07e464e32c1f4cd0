/**
 * What every context command needs to know about the CLI's state: the store,
 * the current context's name, and the "default" context (never stored: the
 * -H / DOCKER_HOST endpoint with the TLS flags).
 */
import type { CliContext } from '../context.js';
import { DEFAULT_HOST, explicitHost } from '../host.js';
import { currentContextName } from './resolve.js';
import { ContextStore, DEFAULT_CONTEXT, type ContextMeta } from './store.js';

export const HOST_OVERRIDE_WARNING = 'Warning: DOCKER_HOST environment variable overrides the active context. ' +
  'To use a context, either set the global --context flag, or unset DOCKER_HOST environment variable.\n';

export function storeOf(ctx: CliContext): ContextStore {
  return new ContextStore(ctx.configDir);
}

export function configCurrentContext(ctx: CliContext): string | undefined {
  const c = ctx.config.data.currentContext;
  return typeof c === 'string' && c ? c : undefined;
}

export function currentName(ctx: CliContext): string {
  return currentContextName({
    hosts: ctx.globals.hosts, context: ctx.globals.context, tls: ctx.globals.tls ?? {}, env: ctx.env,
    configDir: ctx.configDir, currentContext: configCurrentContext(ctx),
  });
}

/** The "default" context as Docker shows it. */
export function defaultContext(ctx: CliContext): ContextMeta {
  let host = DEFAULT_HOST;
  try { host = explicitHost(ctx.globals.hosts, ctx.env) ?? DEFAULT_HOST; } catch { /* several -H: shown as the default */ }
  return {
    Name: DEFAULT_CONTEXT, Metadata: { Description: 'Current DOCKER_HOST based configuration' },
    Endpoints: { docker: { Host: host, SkipTLSVerify: false } },
  };
}

/** True when DOCKER_HOST (or BERTH_HOST) decides the endpoint whatever the current context says. */
export function hostEnvOverrides(ctx: CliContext): boolean {
  return Boolean(ctx.env.DOCKER_HOST || ctx.env.BERTH_HOST) && !ctx.globals.context;
}
