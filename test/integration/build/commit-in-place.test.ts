/**
 * A RUN step's upper dir becomes its layer in place (image/upper-remainder.ts)
 * instead of its tar being applied into a new directory. The layer on disk
 * must read as the one a pull of the same image would unpack: for every
 * layer of a build, its directory is compared with the layer's own blob
 * applied by image/layer-apply.ts into an empty directory — type, mode,
 * owner, content, link targets, device numbers, xattrs and (whole-second)
 * mtimes of every path. The steps make what an upper dir holds beside plain
 * files: the runtime's mount-point stubs (/etc/hosts…), copied-up files
 * and directories (overlay's origin/impure xattrs), whiteouts, an opaque
 * directory, hard links, symlinks and a FIFO.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { apiBuild, run, writeContext } from './build-helpers.js';
import { applyLayer } from '../../../src/image/layer-apply.js';
import { withSpecialFs } from '../../../src/image/fs-special.js';
import { chainIds } from '../../../src/store/layer-store.js';
import { DataPaths } from '../../../src/store/paths.js';

let d!: Daemon;
let dir!: string;

before(async () => {
  if (skipUnlessRoot()) return;
  dir = await mkdtemp('/tmp/berth-test-inplace-');
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => {
  await d?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

interface Node { type: string; mode: number; uid: number; gid: number; mtime: number | null; size: number; what: string; xattrs: string }

/** Every path below `root` as comparable facts (the root itself is the layer store's, not the tar's). */
async function describeTree(root: string): Promise<{ nodes: Map<string, Node>; subSecond: number }> {
  const nodes = new Map<string, Node>();
  let subSecond = 0;
  await withSpecialFs(async (fsx) => {
    const visit = async (rel: string): Promise<void> => {
      for (const name of (await readdir(join(root, rel))).sort()) {
        const r = rel ? `${rel}/${name}` : name;
        const p = join(root, r);
        const st = await lstat(p, { bigint: true });
        const whiteout = st.isCharacterDevice() && st.rdev === 0n;
        const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink'
          : whiteout ? 'whiteout' : st.isCharacterDevice() ? 'char' : st.isBlockDevice() ? 'block' : st.isFIFO() ? 'fifo' : 'other';
        let what = '';
        if (type === 'file') what = createHash('sha256').update(await readFile(p)).digest('hex') + ` links=${st.nlink}`;
        if (type === 'symlink') what = await readlink(p);
        if (type === 'char' || type === 'block') what = String(st.rdev);
        const xattrs = [...(await fsx.listXattrs(p)).entries()].map(([k, v]) => `${k}=${v.toString('hex')}`).sort().join(',');
        if (st.mtimeNs % 1_000_000_000n !== 0n) subSecond++;
        nodes.set(r, {
          type, uid: Number(st.uid), gid: Number(st.gid), size: type === 'dir' ? 0 : Number(st.size), what, xattrs,
          // A whiteout device's mode and times are not the tar's (it spells deletions as `.wh.` files).
          mode: whiteout ? 0 : Number(st.mode) & 0o7777,
          mtime: whiteout ? null : Number(st.mtimeNs / 1_000_000_000n),
        });
        if (type === 'dir') await visit(r);
      }
    };
    await visit('');
  });
  return { nodes, subSecond };
}

describe('a RUN step commits its upper dir in place', { skip: skipUnlessRoot() }, () => {
  test('each layer on disk reads as its blob applied to an empty directory', { timeout: 300_000 }, async () => {
    const ctx = join(dir, 'ctx');
    await writeContext(ctx, {
      Dockerfile: [
        'FROM busybox',
        // New tree: files, a hard link, symlinks, a FIFO, modes and owners, a file under a directory made 0700.
        'RUN mkdir -p /data/keep /data/gone/sub /data/opaque/old && echo one > /data/f1 && echo two > /data/f2'
          + ' && ln /data/f1 /data/f1-link && ln -s ../f2 /data/keep/rel && ln -s /etc/passwd /data/abs'
          + ' && mkfifo /data/fifo && chmod 4755 /data/f2 && chown 123:456 /data/f1 && mkdir -m 700 /data/private'
          + ' && echo secret > /data/private/s && echo x > /data/gone/sub/y && echo z > /data/opaque/old/z',
        // Over the first: a copy-up (origin/impure xattrs), whiteouts, an opaque directory, /etc touched.
        'RUN echo more >> /data/f2 && rm -rf /data/gone /data/f1-link && rm -rf /data/opaque && mkdir /data/opaque'
          + ' && echo new > /data/opaque/n && echo "x:x:1234:1234::/:/bin/sh" >> /etc/passwd && touch /data/keep',
        '',
      ].join('\n'),
    });
    const built = await apiBuild(d, ctx, { t: 'inplace:test', nocache: '1' });
    assert.equal(built.error, undefined, built.text);
    const inspect = JSON.parse((await d.request('GET', '/images/inplace:test/json')).text) as { RootFS: { Layers: string[] } };
    const diffIds = inspect.RootFS.Layers;
    assert.equal(diffIds.length, 3);

    // The image's blobs, as a pull would get them.
    const saved = join(dir, 'saved');
    await mkdir(saved);
    const res = await d.request('GET', '/images/inplace:test/get', undefined, { timeoutMs: 120_000 });
    assert.equal(res.status, 200);
    const tarPath = join(dir, 'saved.tar');
    await writeFile(tarPath, res.body);
    await run('tar', ['-C', saved, '-xf', tarPath]);
    const manifest = JSON.parse(await readFile(join(saved, 'manifest.json'), 'utf8')) as { Layers: string[] }[];
    const paths = new DataPaths(d.dataRoot, d.execRoot);
    const chains = chainIds(diffIds);

    let subSecond = 0;
    for (const i of [1, 2]) {
      const applied = join(dir, `applied-${i}`);
      await mkdir(applied);
      const layer = await applyLayer(createReadStream(join(saved, manifest[0].Layers[i])), applied);
      assert.equal(layer.diffId, diffIds[i]);
      const onDisk = await describeTree(paths.layerDiff(chains[i]));
      const fromBlob = await describeTree(applied);
      subSecond += onDisk.subSecond;
      assert.deepEqual([...onDisk.nodes.keys()], [...fromBlob.nodes.keys()], `layer ${i}: the same paths`);
      for (const [rel, node] of onDisk.nodes) assert.deepEqual(node, fromBlob.nodes.get(rel), `layer ${i}: ${rel}`);
    }
    // Applied from a tar, every mtime is whole seconds: sub-second ones show the directories were the steps' own.
    assert.ok(subSecond > 0, 'the layers were committed in place');
    assert.equal((await d.request('DELETE', '/images/inplace:test')).status, 200);
  });
});
