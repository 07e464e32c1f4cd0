/**
 * `berth kube …`: Kubernetes YAML in and out, as Podman's `kube` commands
 * (berthd does the work: api/kube.ts, kube/).
 *
 *   berth kube play [--network NET] FILE   Pods, Deployments (N pods) and Services' published ports from FILE (- for stdin)
 *   berth kube down FILE                   remove the pods FILE describes
 *   berth kube generate CONTAINER|POD...   Pod YAML that kubectl accepts
 */
import { readFile } from 'node:fs/promises';
import { readAll } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';

interface PlayResult { Pods: { Name: string; Id: string; Containers: string[] }[]; Warnings: string[] }
interface DownResult { Pods: string[]; Warnings: string[] }

async function readManifest(ctx: CliContext, file: string): Promise<Buffer> {
  try {
    return file === '-' ? await readAll(ctx.in) : await readFile(file);
  } catch (e) {
    throw new StatusError(1, `reading ${file}: ${(e as Error).message}`);
  }
}

function warn(ctx: CliContext, warnings: string[] | undefined): void {
  for (const w of warnings ?? []) ctx.err.write(`WARNING: ${w}\n`);
}

const playCommand: Command = {
  name: 'play', usage: '[OPTIONS] FILE', args: { min: 1, max: 1 },
  short: 'Create pods from a Kubernetes YAML file (Pod, Deployment, Service)',
  flags: [{ name: 'network', kind: 'string', usage: 'Network the pods are connected to (default "bridge")' }],
  async run(ctx, f) {
    const body = await readManifest(ctx, f.args[0]);
    const client = await ctx.client();
    const r = await client.json<PlayResult>('POST', '/kube/play', { body, query: { network: f.string('network') || undefined } });
    warn(ctx, r.Warnings);
    for (const p of r.Pods) {
      ctx.out.write(`Pod:\n${p.Name}\nContainers:\n`);
      for (const c of p.Containers) ctx.out.write(`${c}\n`);
      ctx.out.write('\n');
    }
  },
};

const downCommand: Command = {
  name: 'down', usage: 'FILE', args: { min: 1, max: 1 },
  short: 'Remove the pods a Kubernetes YAML file describes',
  async run(ctx, f) {
    const body = await readManifest(ctx, f.args[0]);
    const client = await ctx.client();
    const r = await client.json<DownResult>('POST', '/kube/down', { body });
    warn(ctx, r.Warnings);
    if (r.Pods.length) ctx.out.write(`Pods stopped and removed:\n${r.Pods.map((p) => `${p}\n`).join('')}`);
  },
};

const generateCommand: Command = {
  name: 'generate', usage: 'CONTAINER|POD [CONTAINER|POD...]', args: { min: 1 },
  short: 'Write Kubernetes Pod YAML for containers or pods',
  async run(ctx, f) {
    const client = await ctx.client();
    const res = await client.request('GET', '/kube/generate', { query: { name: f.args } });
    ctx.out.write(await readAll(res));
  },
};

export const kubeCommand: Command = {
  name: 'kube', short: 'Play and generate Kubernetes YAML', group: 'management',
  subcommands: [downCommand, generateCommand, playCommand],
};
