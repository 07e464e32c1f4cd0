/**
 * `RUN --mount=type=ssh` and `type=secret,env=` as the planner resolves
 * them: BuildKit's default socket targets (`/run/buildkit/ssh_agent.<N>`,
 * N counting ssh mounts only), SSH_AUTH_SOCK from the first one, a secret
 * that is only an environment variable (no file, no mount point), `source`
 * naming a secret, and what of them the cache key holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRunMount } from '../../../src/build/parser/mount.js';
import { mountsKeyInput, planRunMounts, sshAuthSock } from '../../../src/build/run-mounts.js';

const plan = (...flags: string[]) => planRunMounts(flags.map(parseRunMount), '/work', (w) => w);

test('ssh mounts get BuildKit\'s default targets, numbered among the ssh mounts only; the first is SSH_AUTH_SOCK', () => {
  const p = plan('type=cache,target=/c', 'type=ssh', 'type=ssh,id=deploy,required,mode=0660,uid=1000', 'type=ssh,id=x,target=rel.sock');
  assert.deepEqual(p.slice(1), [
    { type: 'ssh', target: '/run/buildkit/ssh_agent.0', id: 'default', required: false, uid: 0, gid: 0, mode: 0o600 },
    { type: 'ssh', target: '/run/buildkit/ssh_agent.1', id: 'deploy', required: true, uid: 1000, gid: 0, mode: 0o660 },
    { type: 'ssh', target: '/work/rel.sock', id: 'x', required: false, uid: 0, gid: 0, mode: 0o600 },
  ]);
  assert.equal(sshAuthSock(p), '/run/buildkit/ssh_agent.0');
  assert.equal(sshAuthSock(plan('type=ssh,target=/a.sock', 'type=ssh')), '/a.sock');
  assert.equal(sshAuthSock(plan('type=cache,target=/c')), undefined);
});

test('ssh mounts refuse a source, a duplicate target and a bad mode', () => {
  assert.throws(() => plan('type=ssh,source=/x'), /ssh does not support source/);
  assert.throws(() => plan('type=ssh', 'type=ssh,target=/run/buildkit/ssh_agent.0'), /duplicate mount target/);
  assert.throws(() => plan('type=ssh,mode=17777'), /invalid mount mode/);
});

test('a secret with env= only is no file; with a target it is both; source names it', () => {
  assert.deepEqual(plan('type=secret,id=tok,env=TOKEN'), [{ type: 'secret', env: 'TOKEN', id: 'tok', required: false, uid: 0, gid: 0, mode: 0o400 }]);
  assert.deepEqual(plan('type=secret,id=tok,env=TOKEN,target=/etc/tok')[0], { type: 'secret', target: '/etc/tok', env: 'TOKEN', id: 'tok', required: false, uid: 0, gid: 0, mode: 0o400 });
  assert.deepEqual(plan('type=secret,source=aws')[0], { type: 'secret', target: '/run/secrets/aws', id: 'aws', required: false, uid: 0, gid: 0, mode: 0o400 });
  assert.throws(() => plan('type=secret,source=a,id=b'), /both source and id can't be set/);
  assert.throws(() => plan('type=secret,id=t,env=A=B'), /invalid secret env name/);
  // An env-only secret has no target to collide with.
  assert.equal(plan('type=secret,id=a,env=A', 'type=secret,id=b,env=B').length, 2);
});

test('the cache key holds the mounts\' ids and options, never a value or a client path', () => {
  const key = JSON.stringify(mountsKeyInput(plan('type=ssh,id=deploy', 'type=secret,id=tok,env=TOKEN')));
  assert.equal(key, JSON.stringify([
    { type: 'ssh', target: '/run/buildkit/ssh_agent.0', id: 'deploy', required: false, uid: 0, gid: 0, mode: 0o600 },
    { type: 'secret', env: 'TOKEN', id: 'tok', required: false, uid: 0, gid: 0, mode: 0o400 },
  ]));
  // A file secret keys as it did before env= existed (earlier builds' cache still hits).
  assert.equal(JSON.stringify(mountsKeyInput(plan('type=secret,id=tok'))),
    JSON.stringify([{ type: 'secret', target: '/run/secrets/tok', id: 'tok', required: false, uid: 0, gid: 0, mode: 0o400 }]));
});
