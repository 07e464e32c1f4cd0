/**
 * `berth context export NAME [FILE|-]`: the context as a tar (archive.ts)
 * that `docker context import` and `berth context import` read. The file
 * (NAME.dockercontext by default) is created new, 0600 — it holds the
 * private key — and never replaces an existing one; `-` writes to stdout,
 * but not to a terminal. "default" exports the -H/DOCKER_HOST endpoint and
 * the TLS files the TLS flags or DOCKER_CERT_PATH name.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { storeOf } from './current.js';
import { defaultEndpoint } from './docker-endpoint.js';
import { osErrorText } from './os-error.js';
import { contextArchive } from './archive.js';
import { DEFAULT_CONTEXT, validateContextName, type ContextMeta, type TlsMaterial } from './store.js';

export const contextExportCommand: Command = {
  name: 'export', usage: '[OPTIONS] CONTEXT [FILE|-]', short: 'Export a context to a tar archive FILE or a tar stream on STDOUT.',
  args: { min: 1, max: 2 },
  flags: [{
    name: 'kubeconfig', kind: 'bool', usage: 'Export as a kubeconfig file', hidden: true,
    unsupported: 'berth contexts have no Kubernetes endpoint (the Docker CLI dropped --kubeconfig in 23.0)',
  }],
  async run(ctx, f) {
    const name = f.args[0];
    const dest = f.args[1] ?? `${name}.dockercontext`;
    let meta: ContextMeta;
    let tls: TlsMaterial = {};
    if (name === DEFAULT_CONTEXT) {
      const endpoint = defaultEndpoint(ctx);
      meta = { Name: name, Metadata: {}, Endpoints: { docker: endpoint.meta } };
      tls = endpoint.tls;
    } else {
      validateContextName(name);
      const store = storeOf(ctx);
      meta = store.get(name);
      for (const [k, p] of Object.entries(store.tlsFiles(name))) tls[k as keyof TlsMaterial] = readFileSync(p);
    }
    const archive = contextArchive(meta, tls);
    if (dest === '-') {
      if (ctx.out.isTTY) throw new StatusError(1, 'cowardly refusing to export to a terminal, specify a file path');
      ctx.out.write(archive);
      return;
    }
    try {
      writeFileSync(dest, archive, { flag: 'wx', mode: 0o600 });
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // A partly written file is no export: remove it (never one that was there before: 'wx' refused that with EEXIST).
      if (err.code !== 'EEXIST') rmSync(dest, { force: true });
      throw new StatusError(1, osErrorText(err.syscall === 'write' ? 'write' : 'open', dest, err));
    }
    ctx.err.write(`Written file "${dest}"\n`);
  },
};
