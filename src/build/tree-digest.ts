/**
 * The content digest of a directory tree (or one file) of the build
 * context, for the cache key of a RUN that bind-mounts it: names, types,
 * modes, owners, file contents and symlink targets. Symlinks are never
 * followed (the walk stays inside the tree it was given).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';

async function fileDigest(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

export async function treeDigest(root: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (host: string, rel: string): Promise<void> => {
    const st = await lstat(host).catch(() => undefined);
    if (!st) { h.update(`missing ${rel}\n`); return; }
    const head = `${rel}\0${st.mode}\0${st.uid}\0${st.gid}`;
    if (st.isSymbolicLink()) { h.update(`l ${head}\0${await readlink(host)}\n`); return; }
    if (st.isFile()) { h.update(`f ${head}\0${await fileDigest(host)}\n`); return; }
    if (!st.isDirectory()) { h.update(`o ${head}\0${st.rdev}\n`); return; }
    h.update(`d ${head}\n`);
    for (const name of (await readdir(host)).sort()) await walk(join(host, name), rel ? `${rel}/${name}` : name);
  };
  await walk(root, '');
  return `sha256:${h.digest('hex')}`;
}
