/**
 * `berth info`: the daemon's `GET /info` laid out like `docker info`
 * (prettyPrintInfo), or `--format` over `{…info, ClientInfo}`.
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import type { ParsedFlags } from '../flags.js';
import { inspectFormatFlag } from '../format/format-flag.js';
import { formatObject } from '../format/formatter.js';
import { bytesSize } from '../format/units.js';
import { BERTH_CLI_VERSION } from '../version-info.js';

type Info = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** system.DecodeSecurityOptions: `name=seccomp,profile=builtin` → seccomp with options. */
function decodeSecurityOptions(opts: readonly string[]): { name: string; options: [string, string][] }[] {
  return opts.map((o) => {
    const out = { name: '', options: [] as [string, string][] };
    for (const kv of o.split(',')) {
      const eq = kv.indexOf('=');
      const k = eq >= 0 ? kv.slice(0, eq) : kv;
      const v = eq >= 0 ? kv.slice(eq + 1) : '';
      if (k === 'name') out.name = v;
      else out.options.push([k, v]);
    }
    return out;
  });
}

export function renderServerInfo(info: Info, clientDebug: boolean): { out: string; warnings: string[] } {
  let s = '';
  const ln = (...parts: unknown[]) => { s += `${parts.map((p) => String(p)).join(' ')}\n`; };
  const lnNonEmpty = (label: string, v: unknown) => { if (v !== undefined && v !== null && v !== '') ln(label, v); };
  ln(' Containers:', info.Containers ?? 0);
  ln('  Running:', info.ContainersRunning ?? 0);
  ln('  Paused:', info.ContainersPaused ?? 0);
  ln('  Stopped:', info.ContainersStopped ?? 0);
  ln(' Images:', info.Images ?? 0);
  lnNonEmpty(' Server Version:', info.ServerVersion);
  lnNonEmpty(' Storage Driver:', info.Driver);
  for (const [k, v] of (info.DriverStatus ?? []) as [string, string][]) s += `  ${k}: ${v}\n`;
  for (const [k, v] of (info.SystemStatus ?? []) as [string, string][]) s += ` ${k}: ${v}\n`;
  lnNonEmpty(' Logging Driver:', info.LoggingDriver);
  lnNonEmpty(' Cgroup Driver:', info.CgroupDriver);
  lnNonEmpty(' Cgroup Version:', info.CgroupVersion);
  ln(' Plugins:');
  ln('  Volume:', (info.Plugins?.Volume ?? []).join(' '));
  ln('  Network:', (info.Plugins?.Network ?? []).join(' '));
  if (info.Plugins?.Authorization?.length) ln('  Authorization:', info.Plugins.Authorization.join(' '));
  ln('  Log:', (info.Plugins?.Log ?? []).join(' '));
  if (info.CDISpecDirs?.length) {
    ln(' CDI spec directories:');
    for (const d of info.CDISpecDirs) s += `  ${d}\n`;
  }
  ln(' Swarm:', info.Swarm?.LocalNodeState ?? '');
  const runtimes = Object.keys(info.Runtimes ?? {});
  if (runtimes.length) {
    ln(' Runtimes:', runtimes.join(' '));
    ln(' Default Runtime:', info.DefaultRuntime);
  }
  if (info.OSType === 'linux') {
    ln(' Init Binary:', info.InitBinary ?? '');
    for (const [name, commit] of [['containerd', info.ContainerdCommit], ['runc', info.RuncCommit], ['init', info.InitCommit]] as [string, { ID?: string; Expected?: string } | undefined][]) {
      s += ` ${name} version: ${commit?.ID ?? ''}`;
      if (commit?.Expected && commit.Expected !== commit.ID) s += ` (expected: ${commit.Expected})`;
      s += '\n';
    }
    if (info.SecurityOptions?.length) {
      ln(' Security Options:');
      for (const so of decodeSecurityOptions(info.SecurityOptions)) {
        ln(`  ${so.name}`);
        for (const [k, v] of so.options) if (k === 'profile') ln('   Profile:', v);
      }
    }
  }
  lnNonEmpty(' Kernel Version:', info.KernelVersion);
  lnNonEmpty(' Operating System:', info.OperatingSystem);
  lnNonEmpty(' OSType:', info.OSType);
  lnNonEmpty(' Architecture:', info.Architecture);
  ln(' CPUs:', info.NCPU ?? 0);
  ln(' Total Memory:', bytesSize(info.MemTotal ?? 0));
  lnNonEmpty(' Name:', info.Name);
  lnNonEmpty(' ID:', info.ID);
  ln(' Docker Root Dir:', info.DockerRootDir ?? '');
  ln(' Debug Mode:', Boolean(info.Debug));
  if (info.Debug || clientDebug) {
    ln('  File Descriptors:', info.NFd);
    ln('  Goroutines:', info.NGoroutines);
    ln('  System Time:', info.SystemTime);
    ln('  EventsListeners:', info.NEventsListener);
  }
  lnNonEmpty(' HTTP Proxy:', info.HttpProxy);
  lnNonEmpty(' HTTPS Proxy:', info.HttpsProxy);
  lnNonEmpty(' No Proxy:', info.NoProxy);
  lnNonEmpty(' Username:', info.UserName);
  if (info.Labels?.length) {
    ln(' Labels:');
    for (const l of info.Labels) ln(`  ${l}`);
  }
  ln(' Experimental:', Boolean(info.ExperimentalBuild));
  const reg = info.RegistryConfig;
  if (reg && ((reg.InsecureRegistryCIDRs?.length ?? 0) > 0 || Object.keys(reg.IndexConfigs ?? {}).length > 0)) {
    ln(' Insecure Registries:');
    for (const r of Object.values(reg.IndexConfigs ?? {}) as { Name: string; Secure: boolean }[]) if (!r.Secure) ln(`  ${r.Name}`);
    for (const c of reg.InsecureRegistryCIDRs ?? []) s += `  ${c}\n`;
  }
  if (reg?.Mirrors?.length) {
    ln(' Registry Mirrors:');
    for (const m of reg.Mirrors) ln(`  ${m}`);
  }
  ln(' Live Restore Enabled:', Boolean(info.LiveRestoreEnabled));
  if (info.ProductLicense) ln(' Product License:', info.ProductLicense);
  if (info.DefaultAddressPools?.length) {
    ln(' Default Address Pools:');
    for (const p of info.DefaultAddressPools) s += `   Base: ${p.Base}, Size: ${p.Size}\n`;
  }
  s += '\n';
  return { out: s, warnings: info.Warnings ?? [] };
}

async function info(ctx: CliContext, f: ParsedFlags): Promise<void> {
  const clientInfo = { Debug: ctx.globals.debug, Context: 'default', Version: BERTH_CLI_VERSION, Plugins: [], Warnings: null };
  const format = f.string('format');
  let data: Info | undefined;
  let err: Error | undefined;
  try {
    const client = await ctx.client();
    data = await client.json<Info>('GET', '/info');
  } catch (e) {
    err = e as Error;
  }
  if (format) {
    ctx.out.write(formatObject(format, { ...(data ?? {}), ClientInfo: clientInfo, ClientErrors: [], ServerErrors: err ? [err.message] : [] }));
    if (err) throw new StatusError(1, err.message);
    return;
  }
  ctx.out.write(`Client:\n Version:    ${BERTH_CLI_VERSION}\n Context:    default\n Debug Mode: ${ctx.globals.debug}\n\nServer:\n`);
  if (err || !data) {
    ctx.out.write(`ERROR: ${err?.message ?? 'no data'}\n`);
    throw new StatusError(1, 'errors pretty printing info');
  }
  const r = renderServerInfo(data, ctx.globals.debug);
  ctx.out.write(r.out);
  for (const w of r.warnings) ctx.err.write(`${w}\n`);
}

export const infoCommand: Command = {
  name: 'info', usage: '[OPTIONS]', short: 'Display system-wide information', group: 'common', args: { max: 0 },
  flags: [inspectFormatFlag()],
  run: info,
};
