/**
 * `berth image micro`: a microcontainer — an image of one program, the
 * shared libraries and loader it needs, and nothing else (plus /etc/passwd
 * and /etc/group naming root and nobody, and /tmp), made from the client's
 * own files (micro-files.ts) and loaded into the daemon as a `docker load`
 * archive, or written to a file with `-o`.
 *
 * The image is reproducible: entries in byte order, owned by 0:0, every
 * time set to SOURCE_DATE_EPOCH when it is set and otherwise to the newest
 * mtime among the files, the config's fields in a fixed order — the same
 * files give the same image ID.
 */
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';
import { familiarString, parseReference, withDefaultTag } from '../../image/reference.js';
import { END_OF_ARCHIVE, encodeHeader, newHeader, padding, type TarHeader } from '../../image/tar-format.js';
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import { humanSize } from '../format/units.js';
import { displayJsonMessages } from '../stream/jsonmessage.js';
import { collectMicroFiles, findProgram } from './micro-files.js';

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const PASSWD = 'root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n';
const GROUP = 'root:x:0:\nnogroup:x:65534:\n';

function tarEntry(h: TarHeader, content?: Buffer): Buffer[] {
  return content ? [encodeHeader(h), content, Buffer.alloc(padding(content.length))] : [encodeHeader(h)];
}

/** The layer: every file with its parent directories, in byte order. */
export function microLayer(files: ReadonlyMap<string, { content: Buffer; mode: number }>, mtime: number): Buffer {
  const dirs = new Set<string>(['etc', 'tmp']);
  for (const p of files.keys()) {
    for (let d = posix.dirname(p.slice(1)); d !== '.' && d !== ''; d = posix.dirname(d)) dirs.add(d);
  }
  const entries: { header: TarHeader; content?: Buffer }[] = [
    ...[...dirs].map((d) => ({ header: newHeader({ name: `${d}/`, type: 'dir', mode: d === 'tmp' ? 0o1777 : 0o755, mtime }) })),
    ...[...files].map(([p, f]) => ({ header: newHeader({ name: p.slice(1), type: 'file', mode: f.mode, size: f.content.length, mtime }), content: f.content })),
  ];
  entries.sort((a, b) => Buffer.compare(Buffer.from(a.header.name), Buffer.from(b.header.name)));
  return Buffer.concat([...entries.flatMap((e) => tarEntry(e.header, e.content)), END_OF_ARCHIVE]);
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A classic `docker save` archive of one image: its config, its one layer, manifest.json. */
export function microArchive(layer: Buffer, config: Buffer, repoTags: string[], mtime: number): Buffer {
  const configName = `${sha256(config)}.json`;
  const layerName = `${sha256(layer)}/layer.tar`;
  const manifest = Buffer.from(JSON.stringify([{ Config: configName, RepoTags: repoTags, Layers: [layerName] }]));
  const file = (name: string, content: Buffer) => tarEntry(newHeader({ name, type: 'file', size: content.length, mtime }), content);
  return Buffer.concat([
    ...tarEntry(newHeader({ name: `${sha256(layer)}/`, type: 'dir', mtime })),
    ...file(layerName, layer), ...file(configName, config), ...file('manifest.json', manifest), END_OF_ARCHIVE,
  ]);
}

export const microCommand: Command = {
  name: 'micro', usage: '[OPTIONS] PROGRAM [ARG...]', args: { min: 1 }, interspersed: false,
  short: 'Create a minimal image from a program and the libraries it needs',
  flags: [
    { name: 'tag', short: 't', kind: 'list', usage: 'Name and optionally a tag in the "name:tag" format' },
    { name: 'add', kind: 'list', usage: 'Add a file or directory: HOST_PATH[:IMAGE_PATH] (ELF files bring their libraries)' },
    { name: 'env', short: 'e', kind: 'list', usage: 'Set environment variables in the image' },
    { name: 'user', short: 'u', kind: 'string', usage: 'User the program runs as (root, nobody, or UID[:GID])' },
    { name: 'label', kind: 'list', usage: 'Set metadata on the image' },
    { name: 'output', short: 'o', kind: 'string', usage: 'Write the image as a docker-load archive to this file instead of loading it' },
  ],
  async run(ctx, f) {
    const [name, ...args] = f.args;
    const tags = f.list('tag').map((t) => {
      try {
        return familiarString(withDefaultTag(parseReference(t)));
      } catch (e) {
        throw new StatusError(1, `invalid argument "${t}" for "-t, --tag" flag: ${(e as Error).message}`);
      }
    });
    const program = findProgram(name, ctx.env.PATH);
    const collected = await collectMicroFiles(program, f.list('add'));
    const sde = ctx.env.SOURCE_DATE_EPOCH;
    if (sde !== undefined && sde !== '' && !/^\d+$/.test(sde)) throw new StatusError(1, `invalid SOURCE_DATE_EPOCH ${JSON.stringify(sde)}: whole seconds since 1970`);
    const contents = new Map<string, { content: Buffer; mode: number }>();
    let newest = 0;
    for (const [dest, host] of collected.files) {
      const st = statSync(host);
      newest = Math.max(newest, Math.floor(st.mtimeMs / 1000));
      contents.set(dest, { content: readFileSync(host), mode: st.mode & 0o7777 });
    }
    if (!contents.has('/etc/passwd')) contents.set('/etc/passwd', { content: Buffer.from(PASSWD), mode: 0o644 });
    if (!contents.has('/etc/group')) contents.set('/etc/group', { content: Buffer.from(GROUP), mode: 0o644 });
    const mtime = sde ? Number(sde) : newest;
    const layer = microLayer(contents, mtime);
    const created = new Date(mtime * 1000).toISOString().replace('.000Z', 'Z');
    const labels = Object.fromEntries(f.list('label').map((l) => { const i = l.indexOf('='); return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1)]; }));
    const env = [PATH_ENV, ...f.list('env').filter((e) => !e.startsWith('PATH='))];
    const pathOverride = f.list('env').filter((e) => e.startsWith('PATH=')).pop();
    if (pathOverride) env[0] = pathOverride;
    const config = Buffer.from(JSON.stringify({
      architecture: collected.architecture,
      config: {
        Env: env, Entrypoint: [collected.program], Cmd: args.length ? args : null, WorkingDir: '/',
        ...(f.string('user') ? { User: f.string('user') } : {}), ...(Object.keys(labels).length ? { Labels: labels } : {}),
      },
      created,
      history: [{ created, created_by: `berth image micro ${[collected.program, ...args].join(' ')}` }],
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [`sha256:${sha256(layer)}`] },
    }));
    const archive = microArchive(layer, config, tags, mtime);
    const summary = `${collected.program}, ${collected.libraries} ${collected.libraries === 1 ? 'library' : 'libraries'}, ${contents.size} files: ${humanSize(layer.length)}`;
    const output = f.string('output');
    if (output) {
      writeFileSync(output, archive);
      ctx.err.write(`${summary}\nsha256:${sha256(config)}\n`);
      return;
    }
    ctx.out.write(`${summary}\n`);
    const client = await ctx.client();
    const res = await client.request('POST', '/images/load', { query: { quiet: '1' }, headers: { 'Content-Type': 'application/x-tar' }, body: archive });
    await displayJsonMessages(res, ctx.out, { isTerminal: false });
  },
};
