/**
 * `berth checkpoint create|ls|rm`: the Docker CLI's checkpoint commands over
 * `/containers/{id}/checkpoints`. Checkpoints stay with the container on the
 * daemon, so `--checkpoint-dir` is refused there.
 */
import { apiPath } from '../client.js';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';

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

export const checkpointCommand: Command = {
  name: 'checkpoint', short: 'Manage checkpoints', group: 'management',
  subcommands: [createCommand, lsCommand, rmCommand],
};
