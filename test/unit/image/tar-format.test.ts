import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InvalidParameterError } from '../../../src/errors.js';
import { encodeHeader, END_OF_ARCHIVE, newHeader, readTar } from '../../../src/image/tar-format.js';
import { collect, entriesOf, tarOf, tempDir } from '../../helpers/layer-fixtures.js';

test('headers round-trip: long and non-ASCII names, big ids, binary xattrs, devices', async () => {
  const longDir = 'd'.repeat(120) + '/' + 'e'.repeat(90);
  const veryLong = 'x/'.repeat(200) + 'file';
  const cap = Buffer.from([0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0xff, 0x80]);
  const tar = tarOf([
    { name: longDir + '/', type: 'dir', mode: 0o1777 },
    { name: veryLong, content: 'deep', uid: 3_000_000, gid: 70_000 },
    { name: 'naïve-文件', content: Buffer.from([0, 1, 2, 255]), mode: 0o4755, xattrs: new Map([['security.capability', cap], ['user.empty', Buffer.alloc(0)]]) },
    { name: 'ln', type: 'symlink', linkname: 'l'.repeat(150) },
    { name: 'tty', type: 'char', devmajor: 5, devminor: 0, mode: 0o620 },
    { name: 'hard', type: 'link', linkname: veryLong },
  ]);
  const got = await entriesOf(tar);
  assert.deepEqual(got.map((e) => e.header.name), [longDir + '/', veryLong, 'naïve-文件', 'ln', 'tty', 'hard']);
  assert.equal(got[0].header.type, 'dir');
  assert.equal(got[0].header.mode, 0o1777);
  assert.equal(got[1].content.toString(), 'deep');
  assert.equal(got[1].header.uid, 3_000_000);
  assert.equal(got[1].header.gid, 70_000);
  assert.deepEqual([...got[2].content], [0, 1, 2, 255]);
  assert.equal(got[2].header.mode, 0o4755);
  assert.deepEqual(got[2].header.xattrs.get('security.capability'), cap);
  assert.deepEqual(got[2].header.xattrs.get('user.empty'), Buffer.alloc(0));
  assert.equal(got[3].header.linkname, 'l'.repeat(150));
  assert.deepEqual([got[4].header.type, got[4].header.devmajor, got[4].header.devminor], ['char', 5, 0]);
  assert.deepEqual([got[5].header.type, got[5].header.linkname], ['link', veryLong]);
});

test('GNU tar reads what we write', async (t) => {
  const dir = await tempDir(t);
  const tar = tarOf([
    { name: 'a/', type: 'dir' },
    { name: 'a/' + 'n'.repeat(130), content: 'long' },
    { name: 'a/ü', content: 'utf8' },
    { name: 'a/s', type: 'symlink', linkname: '../x' },
  ]);
  writeFileSync(join(dir, 'x.tar'), tar);
  const listing = execFileSync('tar', ['-tf', join(dir, 'x.tar')]).toString().trim().split('\n');
  assert.deepEqual(listing, ['a/', 'a/' + 'n'.repeat(130), 'a/ü', 'a/s']);
  const out = join(dir, 'out');
  mkdirSync(out);
  execFileSync('tar', ['-xf', join(dir, 'x.tar'), '-C', out]);
  assert.equal(readFileSync(join(out, 'a', 'n'.repeat(130)), 'utf8'), 'long');
});

test('we read what GNU tar writes (gnu and pax formats, long names)', async (t) => {
  const dir = await tempDir(t);
  const src = join(dir, 'src');
  const deep = join(src, 'p'.repeat(60), 'q'.repeat(60));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'file-' + 'z'.repeat(80)), 'content');
  for (const format of ['gnu', 'pax', 'ustar']) {
    const tarPath = join(dir, `${format}.tar`);
    execFileSync('tar', [`--format=${format}`, '-cf', tarPath, '-C', src, '.']);
    const entries = await entriesOf(readFileSync(tarPath));
    const file = entries.find((e) => e.header.name.endsWith('z'.repeat(80)));
    assert.ok(file, `${format}: long file name found`);
    assert.equal(file.content.toString(), 'content');
    assert.ok(file.header.name.startsWith('./' + 'p'.repeat(60)), `${format}: full path kept`);
  }
});

test('input after the end-of-archive marker is read to the end', async () => {
  let pulled = 0;
  const tar = Buffer.concat([tarOf([{ name: 'f', content: 'x' }]), Buffer.alloc(10_240)]);
  async function* src() {
    for (let i = 0; i < tar.length; i += 512) { pulled += 512; yield tar.subarray(i, i + 512); }
  }
  for await (const e of readTar(src())) await collect(e.body);
  assert.equal(pulled, tar.length);
});

test('corrupt and truncated archives are refused', async () => {
  const good = tarOf([{ name: 'f', content: 'hello' }]);
  const bad = Buffer.from(good);
  bad[0] ^= 0xff;
  await assert.rejects(entriesOf(bad), (e: unknown) => e instanceof InvalidParameterError && /checksum/.test((e as Error).message));
  await assert.rejects(entriesOf(good.subarray(0, 600)), InvalidParameterError);
  const unknown = Buffer.concat([encodeHeader(newHeader({ name: 'f', type: 'file' })), END_OF_ARCHIVE]);
  unknown[156] = 'S'.charCodeAt(0);
  // fix the checksum after changing the type flag
  unknown.fill(0x20, 148, 156);
  let sum = 0;
  for (let i = 0; i < 512; i++) sum += unknown[i];
  unknown.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 8, 'latin1');
  await assert.rejects(entriesOf(unknown), /unsupported tar entry type 'S'/);
});
