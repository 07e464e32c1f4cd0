/** The checkpoint archive's manifest check (engine/checkpoint-manifest.ts): hostile fields are refused before they name anything. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostReachingSettings, isArchiveFileName, parseManifest } from '../../../src/engine/checkpoint-manifest.js';

const D = `sha256:${'a'.repeat(64)}`;
function good(): Record<string, any> {
  return {
    SchemaVersion: 1, Checkpoint: 'cp1', Image: { Id: D, Ref: 'busybox:latest' },
    Container: { Name: 'c', Config: { Cmd: ['sh'] }, HostConfig: {} },
    Files: { 'image.tar': { size: 1, digest: D }, 'rootfs.tar': { size: 1, digest: D }, 'checkpoint/inventory.img': { size: 1, digest: D } },
  };
}

test('a well-formed manifest is read', () => {
  const m = parseManifest(good());
  assert.equal(m.Checkpoint, 'cp1');
  assert.deepEqual(Object.keys(m.Files).sort(), ['checkpoint/inventory.img', 'image.tar', 'rootfs.tar']);
});

test('file names: only image.tar, rootfs.tar and flat checkpoint/<name>', () => {
  for (const ok of ['image.tar', 'rootfs.tar', 'checkpoint/pages-1.img', 'checkpoint/descriptors.json']) assert.ok(isArchiveFileName(ok), ok);
  for (const no of ['../x', '/etc/passwd', 'checkpoint/../x', 'checkpoint/a/b', 'checkpoint/.hidden', 'checkpoint/', 'other.tar', 'checkpoint/..']) {
    assert.ok(!isArchiveFileName(no), no);
  }
});

test('hostile or broken manifests are refused with a reason', () => {
  const cases: [(m: Record<string, any>) => unknown, RegExp][] = [
    [() => [], /not a JSON object/],
    [(m) => ({ ...m, SchemaVersion: 2 }), /unsupported SchemaVersion 2/],
    [(m) => ({ ...m, Checkpoint: '../x' }), /invalid checkpoint ID/],
    [(m) => ({ ...m, Image: { Id: 'sha256:../../x', Ref: 'b' } }), /Image must be/],
    [(m) => ({ ...m, Container: { Name: 'c', Config: [], HostConfig: {} } }), /Container must be/],
    [(m) => ({ ...m, Files: { ...m.Files, '../../etc/shadow': { size: 1, digest: D } } }), /unexpected file name/],
    [(m) => ({ ...m, Files: { ...m.Files, 'checkpoint/x.img': { size: -1, digest: D } } }), /needs a size and a sha256 digest/],
    [(m) => ({ ...m, Files: { ...m.Files, 'checkpoint/x.img': { size: 1, digest: 'md5:x' } } }), /needs a size and a sha256 digest/],
    [(m) => { const f = { ...m.Files }; delete f['checkpoint/inventory.img']; return { ...m, Files: f }; }, /checkpoint\/inventory.img is missing/],
  ];
  for (const [make, re] of cases) assert.throws(() => parseManifest(make(good())), re);
});

test('host-reaching HostConfig settings are named; a default container\'s are not', () => {
  assert.deepEqual(hostReachingSettings({ NetworkMode: 'default', IpcMode: 'private', Binds: null, CapAdd: null, Privileged: false, Devices: [], Mounts: [{ Type: 'tmpfs', Target: '/t' }], SecurityOpt: ['no-new-privileges'] }), []);
  assert.deepEqual(hostReachingSettings({
    Binds: ['/:/h'], Privileged: true, CapAdd: ['ALL'], Devices: [{}], VolumesFrom: ['x'], Mounts: [{ Type: 'volume', Source: 'v', Target: '/v' }],
    SecurityOpt: ['apparmor=unconfined'], NetworkMode: 'host', PidMode: 'container:x', CgroupnsMode: 'host', MaskedPaths: [],
  }), ['Binds', 'VolumesFrom', 'Devices', 'CapAdd', 'Privileged', 'Mounts', 'SecurityOpt', 'NetworkMode host', 'PidMode container:x', 'CgroupnsMode host', 'MaskedPaths']);
});
