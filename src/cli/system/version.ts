/**
 * `berth version`: client facts always, the daemon's `GET /version` when it
 * answers, in Docker's layout (tabwriter, minwidth 20) or `--format`.
 * Go-style field names (`.Server.APIVersion`) work as in Docker.
 */
import os from 'node:os';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import type { ParsedFlags } from '../flags.js';
import { inspectFormatFlag } from '../format/format-flag.js';
import { formatObject } from '../format/formatter.js';
import { tabwrite } from '../format/tabwriter.js';
import { renderTemplate } from '../format/template.js';
import { CLIENT_API_VERSION } from '../client.js';
import { BERTH_CLI_VERSION } from '../version-info.js';

const TEMPLATE = `{{with .Client -}}
Client:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 Version:\t{{.Version}}
 API version:\t{{.APIVersion}}{{if ne .APIVersion .DefaultAPIVersion}} (downgraded from {{.DefaultAPIVersion}}){{end}}
 Node.js version:\t{{.GoVersion}}
 Git commit:\t{{.GitCommit}}
 Built:\t{{.BuildTime}}
 OS/Arch:\t{{.Os}}/{{.Arch}}
 Context:\t{{.Context}}
{{- end}}

{{- if .ServerOK}}{{with .Server}}

Server:{{if ne .Platform.Name ""}} {{.Platform.Name}}{{end}}
 {{- range $component := .Components}}
 {{$component.Name}}:
  {{- if eq $component.Name "Engine" }}
  Version:\t{{.Version}}
  API version:\t{{index .Details "ApiVersion"}} (minimum version {{index .Details "MinAPIVersion"}})
  Go version:\t{{index .Details "GoVersion"}}
  Git commit:\t{{index .Details "GitCommit"}}
  Built:\t{{index .Details "BuildTime"}}
  OS/Arch:\t{{index .Details "Os"}}/{{index .Details "Arch"}}
  Experimental:\t{{index .Details "Experimental"}}
  {{- else }}
  Version:\t{{$component.Version}}
  {{- range $key, $value := $component.Details}}
  {{$key}}:\t{{$value}}
  {{- end}}
  {{- end}}
 {{- end}}
 {{- end}}{{- end}}`;

function arch(): string {
  return os.arch() === 'x64' ? 'amd64' : os.arch();
}

export function clientVersionInfo(apiVersion: string): Record<string, unknown> {
  return {
    Platform: { Name: '' },
    Version: BERTH_CLI_VERSION,
    ApiVersion: apiVersion,
    DefaultAPIVersion: CLIENT_API_VERSION,
    GitCommit: '',
    GoVersion: process.version,
    Os: 'linux',
    Arch: arch(),
    BuildTime: '',
    Context: 'default',
  };
}

async function version(ctx: CliContext, f: ParsedFlags): Promise<void> {
  let server: Record<string, unknown> | undefined;
  let serverErr: Error | undefined;
  let apiVersion = CLIENT_API_VERSION;
  try {
    const client = await ctx.client();
    apiVersion = client.version;
    server = await client.json<Record<string, unknown>>('GET', '/version');
  } catch (e) {
    serverErr = e as Error;
  }
  const data = { Client: clientVersionInfo(apiVersion), Server: server ?? null, ServerOK: Boolean(server) };
  const format = f.string('format');
  if (format) {
    ctx.out.write(formatObject(format, format === 'json' ? { Client: data.Client, Server: data.Server } : data));
  } else {
    ctx.out.write(`${tabwrite(renderTemplate(TEMPLATE, data), { minwidth: 20, padding: 1 })}\n`);
  }
  if (serverErr) throw new StatusError(1, serverErr.message);
}

export const versionCommand: Command = {
  name: 'version', usage: '[OPTIONS]', short: 'Show the berth version information', group: 'common', args: { max: 0 },
  flags: [inspectFormatFlag()],
  run: version,
};
