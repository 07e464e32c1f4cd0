/** User namespace ID maps (runtime/id-map.ts) and the remap user's resolution from passwd/group/subuid/subgid files (runtime/remap-user.ts). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  mappingsOf, mapDirName, nextFreeRange, parseSubordinateFile, procMapText, rangesOf, remappedRoot, splitRemapSpec, toContainer, toHost,
} from '../../../src/runtime/id-map.js';
import { resolveRemap } from '../../../src/runtime/remap-user.js';
import { buildSpec } from '../../../src/runtime/spec.js';

test('subuid files: comments, blank and malformed lines are skipped', () => {
  const r = parseSubordinateFile('# c\nalice:100000:65536\n\nbob:x:1\ncarol:200000:0\n1001:300000:10\nbad:1:2:3\n');
  assert.deepEqual(r, [{ owner: 'alice', start: 100000, count: 65536 }, { owner: '1001', start: 300000, count: 10 }]);
  assert.deepEqual(rangesOf(r, 'dave', 1001), [{ owner: '1001', start: 300000, count: 10 }]);
});

test('several ranges lay container IDs end to end; IDs translate both ways', () => {
  const m = mappingsOf([{ owner: 'a', start: 100000, count: 10 }, { owner: 'a', start: 500000, count: 5 }]);
  assert.deepEqual(m, [{ containerID: 0, hostID: 100000, size: 10 }, { containerID: 10, hostID: 500000, size: 5 }]);
  assert.equal(toHost(m, 0), 100000);
  assert.equal(toHost(m, 12), 500002);
  assert.equal(toHost(m, 15), undefined);
  assert.equal(toContainer(m, 500004), 14);
  assert.equal(toContainer(m, 0), undefined);
  assert.equal(procMapText(m), '0 100000 10\n10 500000 5\n');
  assert.deepEqual(remappedRoot({ uidMappings: m, gidMappings: m }), { uid: 100000, gid: 100000 });
  assert.equal(mapDirName({ uidMappings: m, gidMappings: m }), '100000.100000');
});

test('a new range starts after every range that would overlap it', () => {
  assert.equal(nextFreeRange([]), 100000);
  assert.equal(nextFreeRange([{ owner: 'x', start: 100000, count: 65536 }]), 165536);
  assert.equal(nextFreeRange([{ owner: 'x', start: 300000, count: 10 }, { owner: 'y', start: 120000, count: 10 }]), 120010);
  assert.equal(nextFreeRange([{ owner: 'x', start: 1000, count: 10 }, { owner: 'x', start: 300000, count: 10 }]), 100000);
});

test('--userns-remap values: dockerd\'s forms and its refusal', () => {
  assert.deepEqual(splitRemapSpec('default'), { user: 'default' });
  assert.deepEqual(splitRemapSpec('u:g'), { user: 'u', group: 'g' });
  assert.throws(() => splitRemapSpec('a:b:c'), /Invalid user\/group specification in --userns-remap: "a:b:c"/);
  assert.throws(() => splitRemapSpec('a:'), /Invalid user\/group specification/);
});

test('user[:group] and uid[:gid] resolve through passwd, group, subuid and subgid', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-idmap-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const files = { passwd: join(dir, 'passwd'), group: join(dir, 'group'), subuid: join(dir, 'subuid'), subgid: join(dir, 'subgid') };
  writeFileSync(files.passwd, 'root:x:0:0::/root:/bin/sh\nalice:x:1001:1001::/home/alice:/bin/sh\n');
  writeFileSync(files.group, 'root:x:0:\nalice:x:1001:\nstaff:x:50:\n');
  writeFileSync(files.subuid, 'alice:200000:65536\n');
  writeFileSync(files.subgid, 'alice:300000:65536\n50:400000:1000\n');
  const byName = await resolveRemap('alice', files);
  assert.equal(`${byName.user}:${byName.group}`, 'alice:alice');
  assert.deepEqual(byName.uidMappings, [{ containerID: 0, hostID: 200000, size: 65536 }]);
  assert.deepEqual(byName.gidMappings, [{ containerID: 0, hostID: 300000, size: 65536 }]);
  const byId = await resolveRemap('1001:50', files);
  assert.equal(`${byId.user}:${byId.group}`, 'alice:staff');
  assert.deepEqual(byId.gidMappings, [{ containerID: 0, hostID: 400000, size: 1000 }]);
  await assert.rejects(resolveRemap('bob', files), /Error during uid lookup for "bob"/);
  await assert.rejects(resolveRemap('4242', files), /Uid 4242 has no entry in \/etc\/passwd/);
  await assert.rejects(resolveRemap('alice:nogroup', files), /Error during gid lookup for "nogroup"/);
  await assert.rejects(resolveRemap('root', files), /root cannot be remapped/);
  writeFileSync(files.subuid, '');
  await assert.rejects(resolveRemap('alice', files), /no subuid ranges found for user "alice"/);
});

test('the OCI spec of a remapped container: a user namespace, its maps, and a writable cgroup mount', () => {
  const map = { uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] };
  const base = {
    id: 'x', rootfsPath: '/r', readonlyRootfs: false, args: ['sh'], env: [], cwd: '/', tty: false, hostname: 'h',
    user: { uid: 0, gid: 0, additionalGids: [] }, mounts: [], network: { mode: 'new' as const }, cgroupsPath: '/berth/x',
  };
  const spec = buildSpec({ ...base, userns: map });
  assert.ok(spec.linux!.namespaces.some((n) => n.type === 'user' && !n.path));
  assert.deepEqual(spec.linux!.uidMappings, map.uidMappings);
  assert.deepEqual(spec.linux!.gidMappings, map.gidMappings);
  assert.ok(!spec.mounts!.find((m) => m.type === 'cgroup')!.options!.includes('ro'));
  const plain = buildSpec(base);
  assert.ok(!plain.linux!.namespaces.some((n) => n.type === 'user'));
  assert.equal(plain.linux!.uidMappings, undefined);
});
