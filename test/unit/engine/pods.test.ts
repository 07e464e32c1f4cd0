/** engine/pods.ts: which container a name stands for when `berth fault` names a pod (pure, over fake records). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { faultTarget, infraLabels, memberLabels, membersOf, type PodRecords } from '../../../src/engine/pods.js';
import { NotFoundError } from '../../../src/errors.js';
import type { ContainerRecord } from '../../../src/store/container-store.js';

function rec(Id: string, Name: string, Labels: Record<string, string>, NetworkMode = 'bridge'): ContainerRecord {
  return { Id, Name, Config: { Labels }, HostConfig: { NetworkMode } } as unknown as ContainerRecord;
}

const infraA = rec('a'.repeat(64), 'k8s_POD_web_default_u1_0', infraLabels('web'));
const infraB = rec('b'.repeat(64), 'db-infra', infraLabels('db'));
const memberA = rec('c'.repeat(64), 'k8s_app_web_default_u1_0', memberLabels('web', 'app'), `container:${'a'.repeat(64)}`);
const memberB = rec('d'.repeat(64), 'db-app', memberLabels('db', 'app'), `container:${'b'.repeat(64)}`);
const plain = rec('e'.repeat(64), 'plain', {});
const sharer = rec('f'.repeat(64), 'sharer', {}, `container:${'e'.repeat(64)}`);
const all = [infraA, infraB, memberA, memberB, plain, sharer];

const records: PodRecords = {
  all: () => all,
  lookup: (ref) => {
    const found = all.find((c) => c.Id === ref || c.Name === ref) ?? all.find((c) => /^[0-9a-f]+$/.test(ref) && c.Id.startsWith(ref));
    if (!found) throw new NotFoundError(`No such container: ${ref}`);
    return found;
  },
};

test('a pod name, a member\'s berth name, its ID and its sandbox\'s ID all stand for the infra container', () => {
  for (const ref of ['web', 'k8s_app_web_default_u1_0', 'c'.repeat(12), 'a'.repeat(64), 'k8s_POD_web_default_u1_0']) {
    assert.equal(faultTarget(ref, records).Id, infraA.Id, ref);
  }
  assert.equal(faultTarget('db', records).Id, infraB.Id);
  assert.equal(faultTarget('db-app', records).Id, infraB.Id);
});

test('a pod\'s name wins over an ID prefix it happens to be, a container\'s own name over a pod\'s', () => {
  const hexPod = rec('1'.repeat(64), 'ee-infra', infraLabels('ee'));
  const named = rec('2'.repeat(64), 'web', {});
  const more = [...all, hexPod, named];
  const r2: PodRecords = { all: () => more, lookup: (ref) => {
    const found = more.find((c) => c.Id === ref || c.Name === ref) ?? more.find((c) => /^[0-9a-f]+$/.test(ref) && c.Id.startsWith(ref));
    if (!found) throw new NotFoundError(`No such container: ${ref}`);
    return found;
  } };
  assert.equal(faultTarget('ee', r2).Id, hexPod.Id);
  assert.equal(faultTarget('eee', r2).Id, plain.Id);
  assert.equal(faultTarget('web', r2).Id, named.Id);
});

test('plain containers stay themselves, one that shares another\'s network included', () => {
  assert.equal(faultTarget('plain', records).Id, plain.Id);
  assert.equal(faultTarget('sharer', records).Id, sharer.Id);
});

test('a member name inside several pods is ambiguous; an unknown name is Docker\'s "No such container"', () => {
  assert.throws(() => faultTarget('app', records), /pod container "app" is ambiguous: it names 2 pods/);
  assert.throws(() => faultTarget('nope', records), (e: unknown) => e instanceof NotFoundError && /No such container: nope/.test(e.message));
});

test('membersOf lists the containers that joined the infra container', () => {
  assert.deepEqual(membersOf(infraA, records).map((c) => c.Name), ['k8s_app_web_default_u1_0']);
});
