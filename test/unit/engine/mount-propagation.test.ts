import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readMountInfo, rootfsPropagation } from '../../../src/engine/mount-propagation.js';
import type { MountPoint } from '../../../src/store/container-store.js';

const MOUNTINFO = [
  '25 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '30 25 0:40 / /srv/private rw,relatime - tmpfs tmpfs rw',
  '31 25 0:41 / /srv/slave rw,relatime master:7 - tmpfs tmpfs rw',
  '32 30 0:42 / /srv/private/shared\\040dir rw,relatime shared:9 - tmpfs tmpfs rw',
  '33 25 0:43 / /mnt/both rw shared:10 master:3 - tmpfs tmpfs rw',
].join('\n');

const bind = (Source: string, Propagation: string): MountPoint => ({ Type: 'bind', Source, Destination: '/x', Mode: '', RW: true, Propagation });

test('mountinfo lines: mount point unescaped, optional fields up to the dash', () => {
  const m = readMountInfo(MOUNTINFO);
  assert.equal(m[3].mountPoint, '/srv/private/shared dir');
  assert.deepEqual(m[4].optional, ['shared:10', 'master:3']);
  assert.deepEqual(m[1].optional, []);
});

test('a shared bind gives the root rshared propagation, a slave bind rslave, private ones nothing', () => {
  const mounts = readMountInfo(MOUNTINFO);
  assert.equal(rootfsPropagation([bind('/srv/private/shared dir/a', 'rshared')], mounts), 'rshared');
  assert.equal(rootfsPropagation([bind('/srv/slave/a', 'rslave')], mounts), 'rslave');
  assert.equal(rootfsPropagation([bind('/home/a', 'rslave')], mounts), 'rslave');
  assert.equal(rootfsPropagation([bind('/srv/slave/a', 'rslave'), bind('/mnt/both', 'shared')], mounts), 'rshared');
  assert.equal(rootfsPropagation([bind('/srv/private/a', 'rprivate'), bind('/srv/private', 'private')], mounts), undefined);
  assert.equal(rootfsPropagation([{ ...bind('/srv/private', 'rshared'), Type: 'volume' }], mounts), undefined);
});

test('shared or slave propagation from a mount that cannot propagate is refused, in dockerd\'s words', () => {
  const mounts = readMountInfo(MOUNTINFO);
  assert.throws(() => rootfsPropagation([bind('/srv/private/a', 'rshared')], mounts), /path \/srv\/private\/a is mounted on \/srv\/private but it is not a shared mount/);
  assert.throws(() => rootfsPropagation([bind('/srv/slave/a', 'shared')], mounts), /is mounted on \/srv\/slave but it is not a shared mount/);
  assert.throws(() => rootfsPropagation([bind('/srv/private/a', 'rslave')], mounts), /is mounted on \/srv\/private but it is not a shared or slave mount/);
});
