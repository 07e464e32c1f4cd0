/**
 * Review 3, trust: a checkpoint archive's CRIU images are the author's, and
 * CRIU restores them as they are, as root. The processes' credentials,
 * capabilities and seccomp mode come from core-*.img, not from the
 * manifest's HostConfig, which is all the import checked: an archive with
 * a harmless HostConfig and a core image claiming every capability and no
 * seccomp filter went on to the restore. Import now checks the archive in
 * full, then refuses (403) before anything is loaded or created unless
 * the importer says it trusts the archive (--trust).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { newHeader } from '../../../src/image/tar-format.js';
import { packTar, type PackEntry } from '../../../src/image/tar-pack.js';

/**
 * A CRIU core image (made with `crit encode`; `crit decode` shows it) of a
 * task `sh` whose creds are uid 0 with cap_eff, cap_prm and cap_bnd all
 * ones (every capability) and seccomp_mode "disabled".
 */
const ALL_CAPS_CORE = Buffer.from(
  'GUNWVEc4BVVbAAAACAEaEAgBEAAYACAAKAAyAnNoSAEqRQgAEBgYACAAOgYIABAAGAJSMQgAEAAYACAAKAAwADgAQABIAEgAUP////8PUP8DWP////8PWP8DYP////8PYP8DaABYAA==',
  'base64',
);

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function tarOf(files: [string, Buffer][]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of packTar(async function* (): AsyncGenerator<PackEntry> {
    for (const [name, content] of files) yield { header: newHeader({ name, type: 'file', mode: 0o644, size: content.length }), content };
  })) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

test('a checkpoint archive whose CRIU images claim every capability is refused without --trust, before anything is loaded or made', { skip: skipUnlessRoot() }, async (t) => {
  const author = await startDaemon({ runtime: 'runc' });
  t.after(() => author.stop());
  await importBusybox(author);
  const importer = await startDaemon({ runtime: 'runc' });
  t.after(() => importer.stop());
  const work = mkdtempSync('/tmp/berth-review3-cp-');
  t.after(() => rmSync(work, { recursive: true, force: true }));

  const image = (await author.request('GET', '/images/get?names=busybox:latest', undefined, { timeoutMs: 60_000 })).body;
  const imageId = (await author.request('GET', '/images/busybox:latest/json')).json<{ Id: string }>().Id;
  const parts: [string, Buffer][] = [
    ['image.tar', image], ['rootfs.tar', await tarOf([])],
    ['checkpoint/inventory.img', Buffer.from('not a real inventory')], ['checkpoint/core-1.img', ALL_CAPS_CORE],
  ];
  // A HostConfig no different from `docker run`'s defaults: nothing the manifest check refuses.
  const manifest = {
    SchemaVersion: 1, Checkpoint: 'cp1', Image: { Id: imageId, Ref: 'busybox:latest' },
    Container: { Name: 'restored', Config: { Cmd: ['sh'] }, HostConfig: { NetworkMode: 'none', Runtime: 'runc' } },
    Files: Object.fromEntries(parts.map(([n, b]) => [n, { size: b.length, digest: sha(b) }])),
  };
  const file = join(work, 'caps.tar');
  writeFileSync(file, await tarOf([['berth-checkpoint.json', Buffer.from(JSON.stringify(manifest))], ...parts]));

  const r = await importer.berth(['checkpoint', 'import', file]);
  assert.notEqual(r.code, 0);
  assert.match(r.stderr, /CRIU images are restored as they are .* import it only if you trust its author, with --trust/);
  // Refused before anything: no image loaded, no container, no staging left.
  assert.deepEqual((await importer.request('GET', '/images/json')).json<unknown[]>(), []);
  assert.deepEqual((await importer.request('GET', '/containers/json?all=1')).json<unknown[]>(), []);
  assert.deepEqual(readdirSync(join(importer.dataRoot, 'tmp')).filter((n) => n.startsWith('cp-')), []);
  // The API says the same, as a 403.
  const api = await importer.request('POST', '/checkpoints/import', readFileSync(file), { headers: { 'Content-Type': 'application/x-tar' } });
  assert.equal(api.status, 403, api.text);

  // The archive's own checks still come first: a part whose digest lies is reported as such, trusted or not.
  const lying = { ...manifest, Files: { ...manifest.Files, 'checkpoint/core-1.img': { size: ALL_CAPS_CORE.length, digest: sha(Buffer.from('other')) } } };
  writeFileSync(file, await tarOf([['berth-checkpoint.json', Buffer.from(JSON.stringify(lying))], ...parts]));
  const bad = await importer.berth(['checkpoint', 'import', file]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /"checkpoint\/core-1.img" in archive: unexpected digest/);
});
