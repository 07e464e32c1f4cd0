/**
 * The context archive (`context export|import`) as data: berth's own round
 * trip, the Docker CLI's export without its last padding, and hostile
 * archives refused with a message that says why. The store is not touched
 * here (test/integration/remote/context-archive.test.ts runs the commands).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHeader, END_OF_ARCHIVE, newHeader, padding, type TarHeader } from '../../../src/image/tar-format.js';
import { contextArchive, MAX_ARCHIVE_SIZE, MAX_META_SIZE, readContextArchive } from '../../../src/cli/context/archive.js';
import type { ContextMeta } from '../../../src/cli/context/store.js';

const PEM = (what: string) => Buffer.from(`-----BEGIN ${what}-----\nAAAA\n-----END ${what}-----\n`);
const META: ContextMeta = { Name: 'orig', Metadata: { Description: 'a remote' }, Endpoints: { docker: { Host: 'tcp://10.0.0.1:2376', SkipTLSVerify: false } } };

type Entry = { h: Partial<TarHeader> & Pick<TarHeader, 'name' | 'type'>; data?: Buffer };

function tarOf(entries: Entry[], opts: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const { h, data } of entries) {
    parts.push(encodeHeader(newHeader({ ...h, size: data?.length ?? 0 })));
    if (data) parts.push(data, Buffer.alloc(padding(data.length)));
  }
  if (opts.end !== false) parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

const metaEntry = (meta: unknown = META): Entry => ({ h: { name: 'meta.json', type: 'file' }, data: Buffer.from(JSON.stringify(meta)) });

async function* chunks(b: Buffer, size = 1000): AsyncGenerator<Buffer> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size);
}

const read = (b: Buffer, name = 'imported') => readContextArchive(chunks(b), name);

test('an exported context reads back under the importer\'s name, with its TLS material', async () => {
  const tls = { 'ca.pem': PEM('CERTIFICATE'), 'cert.pem': PEM('CERTIFICATE'), 'key.pem': PEM('PRIVATE KEY') };
  const { meta, tls: back } = await read(contextArchive(META, tls), 'renamed');
  assert.deepEqual(meta, { ...META, Name: 'renamed' });
  assert.deepEqual(back, tls);
  const plain = await read(contextArchive(META, {}));
  assert.deepEqual(plain.tls, {});
});

test('an archive as the Docker CLI writes it (no end blocks, no padding after the last file) is complete', async () => {
  const full = tarOf([metaEntry(), { h: { name: 'tls', type: 'dir' } }, { h: { name: 'tls/docker', type: 'dir' } },
    { h: { name: 'tls/docker/ca.pem', type: 'file' }, data: PEM('CERTIFICATE') }], { end: false });
  const unpadded = full.subarray(0, full.length - padding(PEM('CERTIFICATE').length));
  const { tls } = await read(unpadded);
  assert.deepEqual(tls, { 'ca.pem': PEM('CERTIFICATE') });
  // Cut inside the last file, or inside a header, it is refused.
  await assert.rejects(read(unpadded.subarray(0, unpadded.length - 10)), /NUL bytes|unexpected end/);
  await assert.rejects(read(full.subarray(0, 512 * 2 + 300)), /unexpected end|checksum mismatch/);
  await assert.rejects(read(full.subarray(0, 512 * 2 + 480)), /unexpected end/);
});

test('entries that could reach outside the store are refused: ../, absolute names, links, devices', async () => {
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: '../../../etc/evil', type: 'file' }, data: Buffer.from('x') }])), /unexpected file "\.\.\/\.\.\/\.\.\/etc\/evil"/);
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: 'tls/docker/../../x.pem', type: 'file' }, data: PEM('X') }])), /unexpected file/);
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: '/meta.json', type: 'file' }, data: Buffer.from('{}') }])), /unexpected file "\/meta\.json"/);
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: 'tls/docker/ca.pem', type: 'symlink', linkname: '/etc/shadow' } }])), /"tls\/docker\/ca\.pem" is a symlink/);
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: 'tls/docker/key.pem', type: 'link', linkname: 'meta.json' } }])), /is a link/);
  await assert.rejects(read(tarOf([{ h: { name: 'meta.json', type: 'char', devmajor: 1, devminor: 3 } }])), /is a char/);
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: 'tls/..', type: 'dir' } }])), /unexpected directory/);
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: 'tls\\docker\\ca.pem', type: 'file' }, data: PEM('X') }])), /unexpected file/);
});

test('only meta.json and the docker endpoint\'s PEM files, each once', async () => {
  await assert.rejects(read(tarOf([metaEntry(), metaEntry()])), /"meta\.json" appears twice/);
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: 'tls/kubernetes/ca.pem', type: 'file' }, data: PEM('X') }])), /docker endpoint only/);
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: 'tls/docker/extra.pem', type: 'file' }, data: PEM('X') }])), /unexpected file "tls\/docker\/extra\.pem"/);
  await assert.rejects(read(tarOf([{ h: { name: 'tls', type: 'dir' } }])), /no meta\.json/);
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: 'tls/docker/ca.pem', type: 'file' }, data: Buffer.from('not a certificate') }])), /ca\.pem is not PEM/);
  await assert.rejects(read(tarOf([metaEntry(), { h: { name: 'tls/docker/cert.pem', type: 'file' }, data: PEM('CERTIFICATE') }])), /must come together/);
});

test('sizes are limited: meta.json by its header, before it is read; the archive as Docker limits it', async () => {
  const big = Buffer.alloc(MAX_META_SIZE + 1, 0x20);
  await assert.rejects(read(tarOf([{ h: { name: 'meta.json', type: 'file' }, data: big }])), new RegExp(`meta\\.json is ${MAX_META_SIZE + 1} bytes`));
  // A header that only claims a huge size is refused as well (nothing follows it).
  const liar = encodeHeader(newHeader({ name: 'meta.json', type: 'file', size: 5 * 2 ** 30 }));
  await assert.rejects(read(Buffer.concat([liar, END_OF_ARCHIVE])), /meta\.json is 5368709120 bytes/);
  const huge = Buffer.concat([tarOf([metaEntry()], { end: false }), Buffer.alloc(MAX_ARCHIVE_SIZE)]);
  await assert.rejects(readContextArchive(chunks(huge, 1 << 16), 'x'), /larger than 10485760 bytes/);
});

test('meta.json must be a context with a docker endpoint berth can reach', async () => {
  await assert.rejects(read(tarOf([{ h: { name: 'meta.json', type: 'file' }, data: Buffer.from('{not json') }])), /meta\.json is not JSON/);
  await assert.rejects(read(tarOf([metaEntry([1, 2])])), /not a JSON object/);
  await assert.rejects(read(tarOf([metaEntry({ Name: 'x', Endpoints: {} })])), /no docker endpoint/);
  await assert.rejects(read(tarOf([metaEntry({ Name: 'x', Endpoints: { docker: { Host: 'tcp://h:1', SkipTLSVerify: 'yes' } } })])), /SkipTLSVerify is not a boolean/);
  await assert.rejects(read(tarOf([metaEntry({ Name: 'x', Endpoints: { docker: { Host: 'gopher://h' } } })])), /unable to parse docker host/);
  await assert.rejects(read(tarOf([metaEntry({ Name: 'x', Metadata: { Description: 7 }, Endpoints: { docker: { Host: 'tcp://h:1' } } })])), /Description is not a string/);
});

test('zip archives and other non-tar input are refused with a message that says so', async () => {
  const zip = Buffer.concat([Buffer.from([0x50, 0x4b, 0x03, 0x04]), Buffer.alloc(600)]);
  await assert.rejects(read(zip), /zip archives are not supported by berth/);
  await assert.rejects(read(Buffer.from('hello, this is not a tar'.repeat(40))), /invalid context archive: invalid tar header/);
  await assert.rejects(read(Buffer.alloc(0)), /no meta\.json/);
});
