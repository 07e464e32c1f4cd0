import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveUser } from '../../../src/runtime/user.js';

let root: string;
let outside: string;

const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
# a comment
alice:x:1000:1000:Alice:/home/alice:/bin/sh
bob:x:1001:100::/home/bob:/bin/sh
1234:x:5000:5000::/home/numeric:/bin/sh
`;
const GROUP = `root:x:0:
wheel:x:10:root,alice
users:x:100:
alice:x:1000:
dev:x:2000:alice,bob
audio:x:29:bob
`;

before(() => {
  root = mkdtempSync(join(tmpdir(), 'berth-user-'));
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc/passwd'), PASSWD);
  writeFileSync(join(root, 'etc/group'), GROUP);
  outside = mkdtempSync(join(tmpdir(), 'berth-user-host-'));
  mkdirSync(join(outside, 'etc'));
  writeFileSync(join(outside, 'etc/passwd'), 'evil:x:0:0::/:/bin/sh\n');
});
after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

test('empty user is root with its memberships', async () => {
  assert.deepEqual(await resolveUser(root, ''), { uid: 0, gid: 0, additionalGids: [0, 10], home: '/root' });
});

test('by name and by uid', async () => {
  const alice = { uid: 1000, gid: 1000, additionalGids: [1000, 10, 2000], home: '/home/alice' };
  assert.deepEqual(await resolveUser(root, 'alice'), alice);
  assert.deepEqual(await resolveUser(root, '1000'), alice);
  assert.deepEqual(await resolveUser(root, 'bob'), { uid: 1001, gid: 100, additionalGids: [100, 2000, 29], home: '/home/bob' });
});

test('a numeric user is always a uid, never a name', async () => {
  // "1234" is a user *name* in passwd; Docker still reads it as uid 1234.
  assert.deepEqual(await resolveUser(root, '1234'), { uid: 1234, gid: 0, additionalGids: [0], home: '/' });
});

test('explicit groups', async () => {
  assert.deepEqual(await resolveUser(root, 'alice:users'), { uid: 1000, gid: 100, additionalGids: [100], home: '/home/alice' });
  assert.deepEqual(await resolveUser(root, '1000:2000'), { uid: 1000, gid: 2000, additionalGids: [2000], home: '/home/alice' });
  assert.deepEqual(await resolveUser(root, '4242:4343'), { uid: 4242, gid: 4343, additionalGids: [4343], home: '/' });
  await assert.rejects(resolveUser(root, 'alice:nogroup'), (e: any) => e.kind === 'InvalidParameter' && e.message === 'unable to find group nogroup: no matching entries in group file');
});

test('unknown names are refused with Docker\'s message', async () => {
  await assert.rejects(resolveUser(root, 'mallory'), (e: any) => e.kind === 'InvalidParameter' && e.message === 'unable to find user mallory: no matching entries in passwd file');
  await assert.rejects(resolveUser(root, '99999999999'), /uids and gids must be in range/);
});

test('--group-add by name or gid', async () => {
  const u = await resolveUser(root, 'alice', ['audio', '4000', 'wheel']);
  assert.deepEqual(u.additionalGids, [1000, 10, 2000, 29, 4000]);
  await assert.rejects(resolveUser(root, 'alice', ['nosuch']), /Unable to find group nosuch/);
});

test('no passwd or group file: root and numeric ids still work', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'berth-user-empty-'));
  try {
    assert.deepEqual(await resolveUser(empty, ''), { uid: 0, gid: 0, additionalGids: [0], home: '/' });
    assert.deepEqual(await resolveUser(empty, '33:44'), { uid: 33, gid: 44, additionalGids: [44], home: '/' });
    await assert.rejects(resolveUser(empty, 'www-data'), /unable to find user www-data/);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('symlinks in the image resolve inside the rootfs, not on the host', async () => {
  const r = mkdtempSync(join(tmpdir(), 'berth-user-link-'));
  try {
    // /etc -> <host dir>/etc absolute link: must be read as <rootfs><host dir>/etc
    symlinkSync(join(outside, 'etc'), join(r, 'etc'));
    await assert.rejects(resolveUser(r, 'evil'), /unable to find user evil/);
    rmSync(join(r, 'etc'));
    // relative escape with ..
    mkdirSync(join(r, 'etc'));
    symlinkSync('../../../../../../../../' + join(outside, 'etc/passwd'), join(r, 'etc/passwd'));
    await assert.rejects(resolveUser(r, 'evil'), /unable to find user evil/);
    // a link that stays inside works
    rmSync(join(r, 'etc/passwd'));
    mkdirSync(join(r, 'data'));
    writeFileSync(join(r, 'data/passwd'), 'svc:x:700:700::/srv:/bin/sh\n');
    symlinkSync('/data/passwd', join(r, 'etc/passwd'));
    assert.equal((await resolveUser(r, 'svc')).uid, 700);
  } finally {
    rmSync(r, { recursive: true, force: true });
  }
});
