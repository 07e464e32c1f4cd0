/**
 * `berth registry serve`: runs berth's own OCI distribution server in the
 * foreground (no daemon involved), so a private registry is one command.
 */
import type { Command } from '../command.js';
import { runRegistryServe } from '../../registry/server/main.js';
import { registryGarbageCollectCommand } from './garbage-collect.js';

export const registryServeCommand: Command = {
  name: 'serve',
  usage: '[OPTIONS]',
  short: 'Run an OCI distribution (Docker registry v2) server',
  flags: [
    { name: 'addr', kind: 'string', usage: 'Listen address, host:port or :port', defaultText: '":5000"' },
    { name: 'root', kind: 'string', usage: 'Storage directory', defaultText: '"/var/lib/berth/registry"', aliases: ['storage'] },
    { name: 'htpasswd', kind: 'string', usage: 'htpasswd file for basic auth (bcrypt, {SHA} or plain lines)' },
    { name: 'user', kind: 'list', usage: 'Allow this user, name:password (repeatable)' },
    { name: 'tls-cert', kind: 'string', usage: 'PEM certificate: serve HTTPS' },
    { name: 'tls-key', kind: 'string', usage: 'PEM private key for --tls-cert' },
    { name: 'no-delete', kind: 'bool', usage: 'Refuse DELETE of manifests, tags and blobs' },
  ],
  args: { max: 0 },
  run: async (_ctx, f) => {
    const argv: string[] = [];
    for (const name of ['addr', 'root', 'htpasswd', 'tls-cert', 'tls-key']) if (f.changed(name)) argv.push(`--${name}`, f.string(name));
    for (const u of f.list('user')) argv.push('--user', u);
    if (f.bool('no-delete')) argv.push('--no-delete');
    await runRegistryServe(argv);
    return 0;
  },
};

export const registryCommand: Command = {
  name: 'registry', short: 'Run a registry server', group: 'management',
  subcommands: [registryServeCommand, registryGarbageCollectCommand],
};
