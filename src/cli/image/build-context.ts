/**
 * The build context the classic builder API takes: an uncompressed tar of
 * the context directory with `.dockerignore` applied on the client (the
 * Dockerfile and .dockerignore themselves are always sent), and a Dockerfile
 * from elsewhere (`-f` outside the context, or stdin) added under a random
 * `.dockerfile.<hex>` name — Docker's build.go behaviour.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, promises as fsp, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import type { Readable } from 'node:stream';
import tar from 'tar-stream';
import { isExcluded, mayReinclude, parseDockerignore } from './dockerignore.js';

export interface ContextTar {
  stream: Readable;
  /** The `dockerfile=` query value: a path inside the tar. */
  dockerfile: string;
  /** Bytes sent so far (for "Sending build context…"). */
  counted: () => number;
}

type HeaderArg = Partial<tar.Header> & { name: string };

/** Where the Dockerfile is, relative to the context, or undefined when it must be added. */
function dockerfileInContext(contextDir: string, dockerfile: string): string | undefined {
  const abs = resolve(contextDir, dockerfile);
  const rel = relative(contextDir, abs);
  if (rel.startsWith('..') || rel === '') return undefined;
  return rel.split('\\').join('/');
}

export function contextTar(contextDir: string, dockerfileFlag: string, dockerfileContent?: Buffer): ContextTar {
  const pack = tar.pack();
  let total = 0;
  let dockerfile = 'Dockerfile';
  let extraName: string | undefined;
  let extraContent: Buffer | undefined;
  if (dockerfileContent) {
    extraName = `.dockerfile.${randomBytes(10).toString('hex')}`;
    extraContent = dockerfileContent;
    dockerfile = extraName;
  } else if (dockerfileFlag) {
    const inside = dockerfileInContext(contextDir, dockerfileFlag);
    if (inside) dockerfile = inside;
    else {
      extraName = `.dockerfile.${randomBytes(10).toString('hex')}`;
      extraContent = readFileSync(resolve(dockerfileFlag));
      dockerfile = extraName;
    }
  }
  let ignoreText = '';
  try {
    ignoreText = readFileSync(join(contextDir, '.dockerignore'), 'utf8');
  } catch { /* no .dockerignore */ }
  const patterns = parseDockerignore(ignoreText);
  const keep = new Set([dockerfile, '.dockerignore']);
  const excluded = (rel: string) => !keep.has(rel) && isExcluded(rel, patterns);
  const walkExcludedDirs = mayReinclude(patterns);

  const add = (header: HeaderArg, file?: string) => new Promise<void>((res, rej) => {
    if (file) {
      const e = pack.entry(header, (err) => (err ? rej(err) : res()));
      createReadStream(file).on('error', rej).pipe(e as unknown as NodeJS.WritableStream);
    } else {
      pack.entry(header, (err) => (err ? rej(err) : res()));
    }
  });

  const walk = async (dir: string): Promise<void> => {
    const names = (await fsp.readdir(dir)).sort();
    for (const n of names) {
      const abs = join(dir, n);
      const rel = relative(contextDir, abs).split('\\').join('/');
      const st = await fsp.lstat(abs);
      const skip = excluded(rel);
      if (st.isDirectory()) {
        if (!skip) await add({ name: `${rel}/`, type: 'directory', mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 });
        if (!skip || walkExcludedDirs) await walk(abs);
        continue;
      }
      if (skip) continue;
      if (st.isSymbolicLink()) {
        await add({ name: rel, type: 'symlink', linkname: await fsp.readlink(abs), mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 });
      } else if (st.isFile()) {
        total += st.size;
        await add({ name: rel, type: 'file', size: st.size, mode: st.mode & 0o7777, mtime: st.mtime, uid: 0, gid: 0 }, abs);
      }
    }
  };

  void (async () => {
    await walk(contextDir);
    if (extraName && extraContent) {
      total += extraContent.length;
      await new Promise<void>((res, rej) => { pack.entry({ name: extraName!, type: 'file', mode: 0o600, size: extraContent!.length, mtime: new Date() }, extraContent!, (err) => (err ? rej(err) : res())); });
    }
    pack.finalize();
  })().catch((e: Error) => pack.destroy(e));
  return { stream: pack as unknown as Readable, dockerfile, counted: () => total };
}

/** A context made of just a Dockerfile (`berth build - < Dockerfile`). */
export function dockerfileOnlyTar(content: Buffer): ContextTar {
  const pack = tar.pack();
  pack.entry({ name: 'Dockerfile', type: 'file', mode: 0o600, size: content.length, mtime: new Date() }, content);
  pack.finalize();
  return { stream: pack as unknown as Readable, dockerfile: 'Dockerfile', counted: () => content.length };
}
