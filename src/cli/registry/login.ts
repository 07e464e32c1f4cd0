/**
 * `berth login` / `berth logout`: credentials checked by the daemon
 * (`POST /auth`) and kept in config.json `auths` like the Docker CLI without
 * a credential helper (base64 user:password, or the identity token the
 * registry returned).
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { INDEX_SERVER, registryKey } from '../config-file.js';
import { StatusError } from '../errors.js';
import type { ParsedFlags } from '../flags.js';
import { readAll } from '../client.js';
import { readLine } from '../prompt.js';

async function readPassword(ctx: CliContext): Promise<string> {
  const raw = ctx.in.isTTY && typeof ctx.in.setRawMode === 'function';
  if (raw) ctx.in.setRawMode!(true);
  try {
    return await new Promise<string>((resolve) => {
      let buf = '';
      const onData = (d: Buffer | string) => {
        for (const ch of d.toString()) {
          if (ch === '\r' || ch === '\n') return done();
          if (ch === '\u0003') { done(); process.exit(130); }
          if (ch === '\u007f') buf = buf.slice(0, -1);
          else buf += ch;
        }
      };
      const done = () => {
        ctx.in.off('data', onData);
        ctx.in.pause();
        resolve(buf);
      };
      ctx.in.on('data', onData);
      ctx.in.resume();
    });
  } finally {
    if (raw) ctx.in.setRawMode!(false);
    ctx.out.write('\n');
  }
}

async function login(ctx: CliContext, f: ParsedFlags): Promise<void> {
  const server = f.args[0] ? registryKey(f.args[0]) : INDEX_SERVER;
  let username = f.string('username').trim();
  let password = f.string('password');
  if (password) ctx.err.write('WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n');
  if (f.bool('password-stdin')) {
    if (password) throw new StatusError(1, '--password and --password-stdin are mutually exclusive');
    if (!username) throw new StatusError(1, 'Must provide --username with --password-stdin');
    password = (await readAll(ctx.in)).toString('utf8').replace(/[\r\n]+$/, '');
  }
  if (!username || !password) {
    if (!ctx.in.isTTY) throw new StatusError(1, 'Error: Cannot perform an interactive login from a non TTY device');
    const stored = ctx.config.authFor(server);
    if (!username) {
      ctx.out.write(stored.username ? `Username (${stored.username}): ` : 'Username: ');
      username = (await readLine(ctx)).trim() || stored.username || '';
      if (!username) throw new StatusError(1, 'Error: Non-null Username Required');
    }
    if (!password) {
      ctx.out.write('Password: ');
      password = await readPassword(ctx);
      if (!password) throw new StatusError(1, 'Error: Password Required');
    }
  }
  const client = await ctx.client();
  const res = await client.json<{ Status: string; IdentityToken?: string }>('POST', '/auth', { body: { username, password, serveraddress: server } });
  ctx.config.setAuth(server, { username, password, identitytoken: res.IdentityToken || undefined });
  ctx.config.save();
  ctx.err.write(`WARNING! Your credentials are stored unencrypted in '${ctx.config.path}'.\nConfigure a credential helper to remove this warning. See\nhttps://docs.docker.com/go/credential-store/\n\n`);
  ctx.out.write(`${res.Status || 'Login Succeeded'}\n`);
}

export const loginCommand: Command = {
  name: 'login', usage: '[OPTIONS] [SERVER]', short: 'Authenticate to a registry',
  long: 'Authenticate to a registry.\nDefaults to Docker Hub if no server is specified.', group: 'common', args: { max: 1 },
  flags: [
    { name: 'password', short: 'p', kind: 'string', usage: 'Password or Personal Access Token (PAT)' },
    { name: 'password-stdin', kind: 'bool', usage: 'Take the Password or Personal Access Token (PAT) from stdin' },
    { name: 'username', short: 'u', kind: 'string', usage: 'Username' },
  ],
  run: login,
};

export const logoutCommand: Command = {
  name: 'logout', usage: '[SERVER]', short: 'Log out from a registry',
  long: 'Log out from a registry.\nIf no server is specified, the default is defined by the daemon.', group: 'common', args: { max: 1 },
  async run(ctx, f) {
    const server = f.args[0] ? registryKey(f.args[0]) : INDEX_SERVER;
    const hostname = f.args[0] ? server.replace(/^https?:\/\//, '').split('/')[0] : server;
    ctx.out.write(`Removing login credentials for ${hostname}\n`);
    let removed = false;
    for (const key of new Set([server, hostname, `http://${hostname}`, `https://${hostname}`])) removed = ctx.config.removeAuth(key) || removed;
    if (removed) ctx.config.save();
    else ctx.err.write(`WARNING: could not erase credentials:\n${server}: not logged in to ${server}\n`);
  },
};
