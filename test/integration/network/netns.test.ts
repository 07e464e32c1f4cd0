/**
 * Named network namespaces made and deleted through berthd's syscall helper
 * (network/netns.ts): usable by ip(8) and nsenter like `ip netns add`'s,
 * separate from the host's, gone after delete — also when the file is stale
 * or was never mounted.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readlinkSync, writeFileSync } from 'node:fs';
import { createNetns, deleteNetns, netnsPath } from '../../../src/network/netns.js';
import { sharedSpecialFs } from '../../../src/image/fs-special.js';
import { skipUnlessRoot } from '../../helpers/daemon.js';

const NAME = `bt-netns-${process.pid}`;

function mountedAt(path: string): boolean {
  return execFileSync('cat', ['/proc/self/mountinfo'], { encoding: 'utf8' }).split('\n').some((l) => l.split(' ')[4] === path);
}

test('createNetns/deleteNetns: a namespace of its own, seen by ip and nsenter, and nothing left after', { skip: skipUnlessRoot() }, async (t) => {
  t.after(() => deleteNetns(NAME).catch(() => undefined));
  const path = await createNetns(NAME);
  assert.equal(path, netnsPath(NAME));
  assert.ok(mountedAt(path), 'bind-mounted');
  const links = execFileSync('ip', ['-n', NAME, '-o', 'link'], { encoding: 'utf8' });
  assert.match(links, /^1: lo: /);
  assert.equal(links.trim().split('\n').length, 1, 'only lo');
  const inside = execFileSync('nsenter', [`--net=${path}`, 'readlink', '/proc/self/ns/net'], { encoding: 'utf8' }).trim();
  assert.notEqual(inside, readlinkSync('/proc/self/ns/net'), 'not the host namespace');
  assert.ok(execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).includes(NAME));

  // Created again over a stale one: a fresh namespace replaces it.
  execFileSync('ip', ['-n', NAME, 'link', 'add', 'stale0', 'type', 'veth', 'peer', 'name', 'stale1']);
  await createNetns(NAME);
  assert.doesNotMatch(execFileSync('ip', ['-n', NAME, '-o', 'link'], { encoding: 'utf8' }), /stale0/);

  await deleteNetns(NAME);
  assert.ok(!existsSync(path));
  assert.ok(!mountedAt(path));
  await deleteNetns(NAME); // already gone: fine

  // A file that was never mounted (a crash between the file and the mount) is removed too.
  writeFileSync(path, '');
  await deleteNetns(NAME);
  assert.ok(!existsSync(path));
});

test('a syscall helper that was killed is replaced: the next namespace is made by a new one', { skip: skipUnlessRoot() }, async (t) => {
  const name = `${NAME}-b`;
  t.after(() => deleteNetns(name).catch(() => undefined));
  await createNetns(name);
  await deleteNetns(name);
  const old = sharedSpecialFs();
  const pid = old.pid;
  assert.ok(pid, 'the helper runs');
  process.kill(pid, 'SIGKILL');
  for (let i = 0; i < 100 && !old.isDead; i++) await new Promise((r) => setTimeout(r, 20));
  assert.ok(old.isDead, 'the old helper is known dead');
  await createNetns(name);
  assert.ok(mountedAt(netnsPath(name)));
  assert.notEqual(sharedSpecialFs().pid, pid);
  await deleteNetns(name);
  assert.ok(!existsSync(netnsPath(name)));
});
