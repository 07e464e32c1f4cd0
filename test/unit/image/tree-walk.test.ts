import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, readSync } from 'node:fs';
import { link, lstat, mkdir, readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { walkTree } from '../../../src/image/tree-walk.js';
import { byteOrder } from '../../../src/image/byte-order.js';
import { tempDir } from '../../helpers/layer-fixtures.js';

/** Every path below `dir` in walk order (a directory before its entries, siblings in byte order). */
async function expectedOrder(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const name of (await readdir(join(dir, rel))).sort(byteOrder)) {
    const r = rel ? `${rel}/${name}` : name;
    out.push(r);
    if ((await lstat(join(dir, r))).isDirectory()) out.push(...await expectedOrder(dir, r));
  }
  return out;
}

function contentOf(item: { content?: Buffer; fd?: number; st: { size: bigint } }): Buffer {
  if (item.content) return item.content;
  const buf = Buffer.alloc(Number(item.st.size));
  if (item.fd === undefined) return buf;
  let got = 0;
  try {
    while (got < buf.length) { const n = readSync(item.fd, buf, got, buf.length - got, got); if (n === 0) break; got += n; }
  } finally {
    closeSync(item.fd);
  }
  return buf;
}

test('a walk that holds its most ahead still yields every entry once, with its own content', async (t) => {
  const root = await tempDir(t, 'berth-walk-ahead-');
  const big = join(root, 'big');
  await writeFile(big, 'BIG-HEAD');
  await truncate(big, 1 << 20); // read with listings; past the walk's bound after a few levels
  const huge = join(root, 'huge');
  await writeFile(huge, 'HUGE-HEAD');
  await truncate(huge, (1 << 20) + 1); // handed over open
  let dir = join(root, 't');
  await mkdir(dir);
  for (let level = 0; level < 12; level++) {
    for (const s of ['b', 'c', 'd']) {
      await mkdir(join(dir, s));
      for (const f of ['1', '2', '3', '4']) await link(f === '4' ? huge : big, join(dir, s, f));
    }
    for (const f of ['e1', 'e2', 'g1', 'g2']) await link(big, join(dir, f));
    await writeFile(join(dir, 'small'), `level ${level}`);
    await writeFile(join(dir, 'z'), `last of ${level}`);
    dir = join(dir, 'a');
    await mkdir(dir);
  }
  const top = join(root, 't');
  const seen: string[] = [];
  const byInode = new Map<bigint, Buffer>();
  for await (const item of walkTree(top, { openFiles: true })) {
    seen.push(item.rel);
    if (!item.st.isFile()) continue;
    const want = byInode.get(item.st.ino) ?? await readFile(join(top, item.rel));
    byInode.set(item.st.ino, want);
    assert.ok(contentOf(item).equals(want), `content of ${item.rel}`);
  }
  assert.deepEqual(seen, await expectedOrder(top));
});
