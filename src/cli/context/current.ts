/**
 * What every context command needs to know about the CLI's state: the store,
 * the current context's name, and the "default" context (never stored: the
 * -H / DOCKER_HOST endpoint with the TLS flags).
 */
import type { CliContext } from '../context.js';
import { DEFAULT_HOST, explicitHost } from '../host.js';
import { currentContextName } from './resolve.js';
import { ContextStore, DEFAULT_CONTEXT, type ContextMeta } from './store.js';

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
