/**
 * `berth context inspect [NAME…]` (the current context by default): Docker's
 * JSON, with the names of the TLS files only — never their contents.
 */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { inspectFormatFlag } from '../format/format-flag.js';
import { goMarshal } from '../format/formatter.js';
import { inspectAll } from '../format/inspect-output.js';
import { currentName, defaultContext, storeOf } from './current.js';
import { DEFAULT_CONTEXT } from './store.js';

export const contextInspectCommand: Command = {
  name: 'inspect', usage: '[OPTIONS] [CONTEXT] [CONTEXT...]', short: 'Display detailed information on one or more contexts',
  flags: [inspectFormatFlag()],
  async run(ctx, f) {
    const store = storeOf(ctx);
    const names = f.args.length ? f.args : [currentName(ctx)];
    const get = async (name: string) => {
      if (name === DEFAULT_CONTEXT) {
        const meta = defaultContext(ctx);
        return { ...meta, Metadata: {}, TLSMaterial: {}, Storage: { MetadataPath: '<IN MEMORY>', TLSPath: '<IN MEMORY>' } };
      }
      const meta = store.get(name);
      const files = Object.keys(store.tlsFiles(name));
      return {
        Name: meta.Name, Metadata: meta.Metadata,
        Endpoints: { ...meta.Endpoints, docker: { Host: meta.Endpoints.docker?.Host ?? '', SkipTLSVerify: meta.Endpoints.docker?.SkipTLSVerify ?? false } },
        TLSMaterial: files.length ? { docker: files } : {},
        Storage: { MetadataPath: store.metaPath(name), TLSPath: store.tlsPath(name) },
      };
    };
    const format = f.string('format');
    if (format) return inspectAll(ctx, names, format, get);
    // Docker's indented JSON escapes <, > and & as json.Marshal does ("\u003cIN MEMORY\u003e").
    const out: string[] = [];
    const errors: string[] = [];
    const els: unknown[] = [];
    for (const n of names) {
      try { els.push(await get(n)); } catch (e) { errors.push((e as Error).message); }
    }
    out.push(JSON.stringify(els, null, 4).replace(/[<>&]/g, (c) => goMarshal(c).slice(1, -1)));
    ctx.out.write(`${out.join('')}\n`);
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};
