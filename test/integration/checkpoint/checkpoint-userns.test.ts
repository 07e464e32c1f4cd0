/**
 * `checkpoint import` into a berthd with `--userns-remap`: refused with 501
 * and a message that says why (CRIU restores the IDs it recorded, not the
 * remapped ones), after the archive is checked and before anything is
 * made: no image loaded, no container, no staging directory. The archive
 * is made here (a real image, bogus CRIU images): the refusal comes before
 * CRIU runs, so it is tested on any host, including those where `criu
 * check` fails. The remap user is one of the test's own, with a range of
 * its own, removed afterwards (userdel drops its subordinate ranges).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { skipUnlessRoot, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { newHeader } from '../../../src/image/tar-format.js';
import { packTar, type PackEntry } from '../../../src/image/tar-pack.js';
import { lockHostUsers } from '../../helpers/host-users-lock.js';

const REMAP_USER = 'berthcpns';
const RANGE = '710000-775535';

async function tarOf(entries: { name: string; content: Buffer }[]): Promise<Buffer> {
  const stream = packTar(async function* (): AsyncGenerator<PackEntry> {
    for (const e of entries) yield { header: newHeader({ name: e.name, type: 'file', mode: 0o644, size: e.content.length }), content: e.content };
  });
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

/** A checkpoint archive that passes every check before the restore: busybox from `source`, a layer, bogus CRIU images. */
async function checkpointArchive(source: Daemon, hostConfig: Record<string, unknown>): Promise<{ archive: Buffer; imageId: string }> {
  const image = (await source.request('GET', '/images/get?names=busybox:latest', undefined, { timeoutMs: 60_000 })).body;
  const imageId = (await source.request('GET', '/images/busybox:latest/json')).json<{ Id: string }>().Id;
  const parts = [
    { name: 'image.tar', content: image },
    { name: 'rootfs.tar', content: await tarOf([{ name: 'made-by-restore', content: Buffer.from('x') }]) },
    { name: 'checkpoint/inventory.img', content: randomBytes(64) },
  ];
  const manifest = {
    SchemaVersion: 1, Checkpoint: 'cp1', Image: { Id: imageId, Ref: 'busybox:latest' },
    Container: { Name: 'remapped', Config: { Cmd: ['sleep', '60'] }, HostConfig: hostConfig },
    Files: Object.fromEntries(parts.map((p) => [p.name, { size: p.content.length, digest: sha(p.content) }])),
  };
  return { archive: await tarOf([{ name: 'berth-checkpoint.json', content: Buffer.from(JSON.stringify(manifest)) }, ...parts]), imageId };
}

test('checkpoint import into a --userns-remap daemon is refused with 501 and leaves nothing behind', { skip: skipUnlessRoot() }, async (t) => {
  // Undone in reverse: the user goes last, once both daemons have stopped, and then the lock.
  const cleanups: (() => unknown)[] = [await lockHostUsers()];
  t.after(async () => { for (const c of cleanups.reverse()) await c(); });
  execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', REMAP_USER], { stdio: 'pipe' });
  cleanups.push(() => { execFileSync('userdel', [REMAP_USER], { stdio: 'pipe' }); });
  execFileSync('usermod', ['--add-subuids', RANGE, '--add-subgids', RANGE, REMAP_USER], { stdio: 'pipe' });

  const source = await startDaemon({ runtime: 'runc' });
  cleanups.push(() => source.stop());
  await importBusybox(source);
  const remapped = await startDaemon({ runtime: 'runc', args: ['--userns-remap', REMAP_USER], traversableRoots: true });
  cleanups.push(() => remapped.stop());
  const work = mkdtempSync('/tmp/berth-cp-userns-');
  cleanups.push(() => rmSync(work, { recursive: true, force: true }));

  const { archive, imageId } = await checkpointArchive(source, { NetworkMode: 'none', Runtime: 'runc' });
  const nothingLeft = async () => {
    assert.deepEqual((await remapped.request('GET', '/containers/json?all=1')).json(), [], 'no container');
    assert.deepEqual((await remapped.request('GET', '/images/json?all=1')).json(), [], 'no image loaded');
    assert.deepEqual(readdirSync(join(remapped.dataRoot, 'tmp')).filter((n) => n.startsWith('cp-')), [], 'no staging directory');
    assert.deepEqual(readdirSync(join(remapped.dataRoot, 'containers')), [], 'no container directory');
  };

  const api = await remapped.request('POST', '/checkpoints/import?name=remapped', archive, { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 120_000 });
  assert.equal(api.status, 501, api.text);
  assert.match(api.json<{ message: string }>().message,
    /^checkpoint import into a daemon with --userns-remap is not supported: CRIU would restore the process with the user and group IDs it was checkpointed with/);
  await nothingLeft();

  const file = join(work, 'cp.tar');
  writeFileSync(file, archive);
  const cli = await remapped.berth(['checkpoint', 'import', file]);
  assert.equal(cli.code, 1);
  assert.match(cli.stderr, /Error response from daemon: checkpoint import into a daemon with --userns-remap is not supported/);
  await nothingLeft();

  // The same archive goes past this check on the source daemon (no remap): there it is CRIU's restore of bogus images that fails.
  const plain = await source.request('POST', '/checkpoints/import?name=plain', archive, { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 120_000 });
  assert.notEqual(plain.status, 501, plain.text);
  assert.doesNotMatch(plain.text, /userns-remap/);
  assert.ok(imageId.startsWith('sha256:'));
});
