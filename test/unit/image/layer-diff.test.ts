import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, link, lutimes, mkdir, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extract } from 'tar-stream';
import { SystemError } from '../../../src/errors.js';
import { diffUpperDir, isEngineMountPoint, listChanges } from '../../../src/image/layer-diff.js';
import { withSpecialFs } from '../../../src/image/fs-special.js';
import { collect, entriesOf, isRoot, streamOf, tempDir } from '../../helpers/layer-fixtures.js';

const needsRoot = { skip: isRoot ? false : 'needs root (mknod, chown, trusted.* xattrs)' };

/** An upper dir as a container leaves it: changes, whiteouts, an opaque dir, mount-point artefacts. */
async function makeUpper(dir: string): Promise<void> {
  await mkdir(join(dir, 'bin'));
  await mkdir(join(dir, 'etc'));
  await mkdir(join(dir, 'opq/sub'), { recursive: true });
  await mkdir(join(dir, 'proc'));
  await mkdir(join(dir, 'dev/pts'), { recursive: true });
  await writeFile(join(dir, 'etc/hostname'), '');
  await writeFile(join(dir, 'etc/passwd'), 'root\n');
  await writeFile(join(dir, 'opq/sub/new'), 'new');
  await writeFile(join(dir, 'bin/tool'), 'tool');
  await chmod(join(dir, 'bin/tool'), 0o4755);
  await link(join(dir, 'bin/tool'), join(dir, 'bin/tool2'));
  await symlink('tool', join(dir, 'bin/alias'));
  await chown(join(dir, 'etc/passwd'), 10, 20);
  await withSpecialFs(async (fsx) => {
    await fsx.mknod(join(dir, 'bin/ls'), 'char', 0);
    await fsx.mknod(join(dir, 'gone'), 'char', 0);
    await fsx.setXattr(join(dir, 'opq'), 'trusted.overlay.opaque', 'y');
    await fsx.setXattr(join(dir, 'bin/tool'), 'user.note', Buffer.from([0, 1, 0xfe]));
  });
  for (const p of ['bin/tool', 'etc/passwd', 'opq/sub/new', 'etc/hostname']) await utimes(join(dir, p), 1_700_000_000, 1_700_000_000);
  await lutimes(join(dir, 'bin/alias'), 1_700_000_000, 1_700_000_000);
  for (const p of ['bin', 'etc', 'opq/sub', 'opq', 'proc', 'dev/pts', 'dev', '.']) await utimes(join(dir, p), 1_700_000_000, 1_700_000_000);
}

test('diffUpperDir writes an OCI layer: whiteouts, opaque markers, hard links, xattrs, exclusions', needsRoot, async (t) => {
  const upper = await tempDir(t);
  await makeUpper(upper);
  const tar = await collect(diffUpperDir(upper));
  const entries = await entriesOf(tar);
  assert.deepEqual(entries.map((e) => `${e.header.type} ${e.header.name}`), [
    'file .wh.gone',
    'dir bin/',
    'file bin/.wh.ls',
    'symlink bin/alias',
    'file bin/tool',
    'link bin/tool2',
    'dir etc/',
    'file etc/passwd',
    'dir opq/',
    'file opq/.wh..wh..opq',
    'dir opq/sub/',
    'file opq/sub/new',
  ]);
  const byName = new Map(entries.map((e) => [e.header.name, e]));
  assert.equal(byName.get('bin/.wh.ls')!.header.mode, 0o600);
  assert.equal(byName.get('bin/.wh.ls')!.header.size, 0);
  assert.equal(byName.get('opq/.wh..wh..opq')!.header.mtime, 0);
  assert.equal(byName.get('opq/')!.header.xattrs.size, 0, 'trusted.overlay.* is not carried');
  assert.equal(byName.get('bin/tool')!.header.mode, 0o4755);
  assert.deepEqual(byName.get('bin/tool')!.header.xattrs.get('user.note'), Buffer.from([0, 1, 0xfe]));
  assert.equal(byName.get('bin/tool')!.content.toString(), 'tool');
  assert.equal(byName.get('bin/tool2')!.header.linkname, 'bin/tool');
  assert.equal(byName.get('bin/alias')!.header.linkname, 'tool');
  assert.deepEqual([byName.get('etc/passwd')!.header.uid, byName.get('etc/passwd')!.header.gid], [10, 20]);

  // deterministic, and readable by an independent tar reader
  assert.deepEqual(await collect(diffUpperDir(upper)), tar);
  const names: string[] = [];
  const ex = extract();
  ex.on('entry', (h, s, next) => { names.push(h.name); s.resume(); s.on('end', next); });
  await new Promise<void>((resolve, reject) => { ex.on('finish', resolve); ex.on('error', reject); streamOf(tar).pipe(ex); });
  assert.equal(names.length, entries.length);
});

test('sourceDateEpoch clamps mtimes; exclude can be replaced', needsRoot, async (t) => {
  const upper = await tempDir(t);
  await makeUpper(upper);
  const entries = await entriesOf(await collect(diffUpperDir(upper, { sourceDateEpoch: 1_000 })));
  assert.ok(entries.every((e) => e.header.mtime <= 1_000));
  const all = await entriesOf(await collect(diffUpperDir(upper, { exclude: () => false })));
  const names = all.map((e) => e.header.name);
  for (const n of ['etc/hostname', 'proc/', 'dev/', 'dev/pts/']) assert.ok(names.includes(n), n);
  assert.ok(isEngineMountPoint('/dev/shm') && isEngineMountPoint('/etc/resolv.conf') && !isEngineMountPoint('/etc/passwd') && !isEngineMountPoint('/devices'));
});

test('an upper dir using overlay redirects is refused, not misread', needsRoot, async (t) => {
  const upper = await tempDir(t);
  await mkdir(join(upper, 'moved'));
  await withSpecialFs((fsx) => fsx.setXattr(join(upper, 'moved'), 'trusted.overlay.redirect', '/orig'));
  await assert.rejects(collect(diffUpperDir(upper)), (e: unknown) => e instanceof SystemError && /redirect/.test((e as Error).message));
});

test('listChanges follows dockerd: A, C, D, parents as C, unchanged dirs skipped', needsRoot, async (t) => {
  const base = await tempDir(t);
  const lower1 = join(base, 'l1'); // bottom
  const lower2 = join(base, 'l2'); // top
  const upper = join(base, 'upper');
  for (const d of [lower1, lower2, upper]) await mkdir(d);
  // lower layers
  await mkdir(join(lower1, 'etc'));
  await writeFile(join(lower1, 'etc/passwd'), 'x');
  await writeFile(join(lower1, 'etc/removed-in-l2'), 'x');
  await mkdir(join(lower1, 'opq/child'), { recursive: true });
  await mkdir(join(lower1, 'same'));
  await mkdir(join(lower2, 'etc'));
  await withSpecialFs(async (fsx) => {
    await fsx.mknod(join(lower2, 'etc/removed-in-l2'), 'char', 0);
  });
  // upper: modify passwd, re-add a name l2 deleted, add a file, delete via whiteout, replace opq
  await mkdir(join(upper, 'etc'));
  await writeFile(join(upper, 'etc/passwd'), 'changed');
  await writeFile(join(upper, 'etc/removed-in-l2'), 'back');
  await writeFile(join(upper, 'newfile'), 'n');
  await mkdir(join(upper, 'opq'));
  await writeFile(join(upper, 'opq/fresh'), 'f');
  await mkdir(join(upper, 'same'));
  await writeFile(join(upper, 'etc/hosts'), ''); // mount-point artefact
  await withSpecialFs(async (fsx) => {
    await fsx.setXattr(join(upper, 'opq'), 'trusted.overlay.opaque', 'y');
    await mkdir(join(upper, 'opq/child')).catch(() => undefined);
    await fsx.mknod(join(upper, 'gone'), 'char', 0);
  });
  // "same" is a copied-up dir with identical metadata: not a change by itself
  for (const d of [join(lower1, 'same'), join(upper, 'same')]) {
    await chmod(d, 0o755);
    await utimes(d, 1_234, 1_234);
  }
  // etc in upper differs from lower (mtime), so it is C on its own
  await utimes(join(upper, 'etc'), 1_000, 1_000);

  const changes = await listChanges(upper, [lower2, lower1]);
  assert.deepEqual(changes, [
    { Path: '/etc', Kind: 0 },
    { Path: '/etc/passwd', Kind: 0 },
    { Path: '/etc/removed-in-l2', Kind: 1 }, // whited out in l2: an addition, not a change
    { Path: '/gone', Kind: 2 },
    { Path: '/newfile', Kind: 1 },
    { Path: '/opq', Kind: 2 }, // opaque over an existing dir: dockerd reports D
    { Path: '/opq/child', Kind: 1 },
    { Path: '/opq/fresh', Kind: 1 },
  ]);
  // an addition under an unchanged dir lists the dir as C
  await writeFile(join(upper, 'same/inner'), 'i');
  await utimes(join(upper, 'same'), 1_234, 1_234);
  const again = await listChanges(upper, [lower2, lower1]);
  const i = again.findIndex((c) => c.Path === '/same/inner');
  assert.deepEqual(again.slice(i - 1, i + 1), [{ Path: '/same', Kind: 0 }, { Path: '/same/inner', Kind: 1 }]);
});
