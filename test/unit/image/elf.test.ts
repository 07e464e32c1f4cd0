import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readElfInfo } from '../../../src/image/elf.js';
import { collectMicroFiles, parseLoaderList } from '../../../src/cli/image/micro-files.js';
import { microLayer } from '../../../src/cli/image/micro.js';
import { entriesOf } from '../../helpers/layer-fixtures.js';

const ARCH = process.arch === 'x64' ? 'amd64' : process.arch;

test('readElfInfo: machine and program interpreter of this machine\'s binaries; undefined for a script', { skip: !existsSync('/bin/busybox') && 'no busybox-static' }, () => {
  const ls = readElfInfo('/usr/bin/ls');
  assert.equal(ls?.architecture, ARCH);
  assert.match(ls?.interpreter ?? '', /^\/lib.*\/ld-linux-[\w-]+\.so\.\d$/);
  assert.deepEqual(readElfInfo('/bin/busybox'), { architecture: ARCH }, 'statically linked: no interpreter');
  assert.equal(readElfInfo('/usr/bin/ldd'), undefined, 'a shell script');
  assert.equal(readElfInfo('/etc/hostname'), undefined);
});

test('parseLoaderList: paths, the loader itself, no vdso, the names not found', () => {
  const text = [
    '\tlinux-vdso.so.1 (0x00007ffd1c5f1000)',
    '\tlibselinux.so.1 => /lib/x86_64-linux-gnu/libselinux.so.1 (0x00007f0e5e0a9000)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e5dec8000)',
    '\tlibgone.so.2 => not found',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f0e5e10e000)',
    '',
  ].join('\n');
  assert.deepEqual(parseLoaderList(text), {
    paths: ['/lib/x86_64-linux-gnu/libselinux.so.1', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2'],
    missing: ['libgone.so.2'],
  });
});

test('microLayer: parents, /etc and /tmp (1777), byte order, one mtime, root owner; the same input gives the same bytes', async () => {
  const files = new Map([
    ['/usr/bin/app', { content: Buffer.from('ELF…'), mode: 0o755 }],
    ['/lib64/ld.so', { content: Buffer.from('loader'), mode: 0o755 }],
    ['/etc/passwd', { content: Buffer.from('root:x:0:0::/:/x\n'), mode: 0o644 }],
  ]);
  const layer = microLayer(files, 1_700_000_000);
  assert.ok(layer.equals(microLayer(new Map([...files].reverse()), 1_700_000_000)), 'input order does not matter');
  const entries = await entriesOf(layer);
  assert.deepEqual(entries.map((e) => [e.header.name, e.header.type, e.header.mode.toString(8)]), [
    ['etc/', 'dir', '755'], ['etc/passwd', 'file', '644'], ['lib64/', 'dir', '755'], ['lib64/ld.so', 'file', '755'],
    ['tmp/', 'dir', '1777'], ['usr/', 'dir', '755'], ['usr/bin/', 'dir', '755'], ['usr/bin/app', 'file', '755'],
  ]);
  assert.ok(entries.every((e) => e.header.mtime === 1_700_000_000 && e.header.uid === 0 && e.header.gid === 0));
  assert.equal(entries.find((e) => e.header.name === 'usr/bin/app')?.content.toString(), 'ELF…');
});

test('collectMicroFiles: an added directory is walked once even when a symlink inside leads back up', { skip: !existsSync('/bin/busybox') && 'no busybox-static' }, async (t) => {
  const dir = mkdtempSync('/tmp/berth-test-micro-loop-');
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, 'sub'));
  writeFileSync(join(dir, 'f'), 'x');
  symlinkSync(dir, join(dir, 'sub', 'up'));
  const got = await collectMicroFiles('/bin/busybox', [`${dir}:/data`]);
  assert.deepEqual([...got.files.keys()].sort(), ['/bin/busybox', '/data/f']);
  assert.equal(got.libraries, 0);
});
