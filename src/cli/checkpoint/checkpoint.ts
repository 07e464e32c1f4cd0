/**
 * `berth checkpoint create|ls|rm`: the Docker CLI's checkpoint commands over
 * `/containers/{id}/checkpoints`. Checkpoints stay with the container on the
 * daemon, so `--checkpoint-dir` is refused there.
 *
 * `berth checkpoint export|import` are berth's own: a stopped container's
 * checkpoint, its image and its read-write layer as one tar, and a new
 * container restored from such a tar on another daemon.
 */
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { refuseTerminal, writeArchive } from '../stream/save-output.js';

const dirFlag = { name: 'checkpoint-dir', kind: 'string', usage: 'Use a custom checkpoint storage directory', unsupported: 'berth keeps checkpoints with the container' } as const;

const createCommand: Command = {
  name: 'create', usage: '[OPTIONS] CONTAINER CHECKPOINT', short: 'Create a checkpoint from a running container', args: { min: 2, max: 2 },
  flags: [
    dirFlag,
    { name: 'leave-running', kind: 'bool', usage: 'Leave the container running after checkpoint' },
  ],
  async run(ctx, f) {
    const client = await ctx.client();
    const [container, name] = f.args;
    await client.call('POST', apiPath`/containers/${container}/checkpoints`, { body: { CheckpointID: name, Exit: !f.bool('leave-running') } });
    ctx.out.write(`${name}\n`);
  },
};

const lsCommand: Command = {
  name: 'ls', aliases: ['list'], usage: '[OPTIONS] CONTAINER', short: 'List checkpoints for a container', args: { min: 1, max: 1 },
  flags: [dirFlag],
  async run(ctx, f) {
    const client = await ctx.client();
    const list = await client.json<{ Name: string }[]>('GET', apiPath`/containers/${f.args[0]}/checkpoints`);
    ctx.out.write('CHECKPOINT NAME\n');
    for (const c of list ?? []) ctx.out.write(`${c.Name}\n`);
  },
};

const rmCommand: Command = {
  name: 'rm', aliases: ['remove'], usage: '[OPTIONS] CONTAINER CHECKPOINT', short: 'Remove a checkpoint', args: { min: 2, max: 2 },
  flags: [dirFlag],
  async run(ctx, f) {
    const client = await ctx.client();
    const [container, name] = f.args;
    try {
      await client.call('DELETE', apiPath`/containers/${container}/checkpoints/${name}`);
    } catch (e) {
      throw new StatusError(1, (e as Error).message);
    }
  },
};

const exportCommand: Command = {
  name: 'export', usage: '[OPTIONS] CONTAINER CHECKPOINT', short: 'Write a stopped container\'s checkpoint, image and file system to a tar archive (STDOUT by default)',
  args: { min: 2, max: 2 },
  flags: [{ name: 'output', short: 'o', kind: 'string', usage: 'Write to a file, instead of STDOUT' }],
  async run(ctx, f) {
    const output = f.string('output');
    refuseTerminal(ctx.out, output);
    const client = await ctx.client();
    const [container, name] = f.args;
    const res = await client.request('GET', apiPath`/containers/${container}/checkpoints/${name}/export`);
    await writeArchive(res, ctx.out, output);
  },
};

const importCommand: Command = {
  name: 'import', usage: '[OPTIONS] FILE|-', short: 'Create a container from a checkpoint archive and restore it',
  args: { min: 1, max: 1 },
  flags: [
    { name: 'name', kind: 'string', usage: 'Name of the new container (default: the exported container\'s)' },
    { name: 'trust', kind: 'bool', usage: 'Trust the archive: restore its CRIU images and give the container the host access it asks for (binds, devices, privileges, host namespaces)' },
  ],
  async run(ctx, f) {
    const file = f.args[0];
    let body: Readable;
    if (file === '-') {
      if (ctx.in.isTTY) throw new StatusError(1, 'requested import from stdin, but stdin is a terminal');
      body = ctx.in;
    } else {
      body = createReadStream(file);
      await new Promise<void>((resolve, reject) => body.once('open', () => resolve()).once('error', reject)).catch((e: Error) => {
        throw new StatusError(1, `open ${file}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : e.message}`);
      });
    }
    const client = await ctx.client();
    const out = await client.json<{ Id: string }>('POST', '/checkpoints/import', {
      query: { name: f.string('name') || undefined, trust: f.bool('trust') ? '1' : undefined }, headers: { 'Content-Type': 'application/x-tar' }, body,
    });
    ctx.out.write(`${out.Id}\n`);
  },
};

export const checkpointCommand: Command = {
  name: 'checkpoint', short: 'Manage checkpoints', group: 'management',
  subcommands: [createCommand, lsCommand, rmCommand, exportCommand, importCommand],
};
