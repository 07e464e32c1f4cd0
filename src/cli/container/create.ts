/**
 * `berth create`: the create half of `run` — same flags, same request — and
 * the new container's full ID on stdout.
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import type { ParsedFlags } from '../flags.js';
import { createContainer } from './create-container.js';
import { createFlagSpecs } from './create-flags.js';
import { parseContainerFlags } from './run.js';

async function create(ctx: CliContext, flags: ParsedFlags): Promise<void> {
  const req = parseContainerFlags(ctx, flags, 'create');
  const client = await ctx.client();
  const id = await createContainer(ctx, client, req);
  ctx.out.write(`${id}\n`);
}

export function createCommand(env: NodeJS.ProcessEnv): Command {
  return {
    name: 'create',
    usage: '[OPTIONS] IMAGE [COMMAND] [ARG...]',
    short: 'Create a new container',
    aliasesHelp: 'berth container create, berth create',
    interspersed: false,
    args: { min: 1 },
    flags: createFlagSpecs((k) => env[k], 'create'),
    run: create,
  };
}
