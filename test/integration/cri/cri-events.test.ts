/**
 * GetContainerEvents (src/cri/container-events.ts), the stream kubelet's
 * Evented PLEG reads, driven by the real `crictl events` (cri-tools
 * v1.29.0) and by a gRPC client beside it: a pod's and its container's
 * life cycle as CREATED/STARTED/STOPPED/DELETED events, each with the
 * pod's and its containers' statuses of that moment; every client gets
 * every event; and a client that goes away (killed, cancelled) takes its
 * subscription with it, so none is left behind in berthd.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import grpc from '@grpc/grpc-js';
import { runCommand, skipUnlessRoot, startDaemon, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { CriClient } from './cri-client.js';

const CRICTL = process.env.CRICTL ?? '/var/cache/berth-go-clients/crictl';
const skip = skipUnlessRoot() || (existsSync(CRICTL) ? false : `no crictl at ${CRICTL}: run shared/tools/build-go-clients.sh`);

/** `crictl events -o json` prints one indented JSON object per event; each ends with a `}` line of its own. */
function parseJsonStream(text: string): any[] {
  const out: any[] = [];
  let start = 0;
  for (const m of text.matchAll(/^}\n/gm)) {
    out.push(JSON.parse(text.slice(start, m.index! + 1)));
    start = m.index! + 2;
  }
  return out;
}

describe('CRI container events (GetContainerEvents)', { skip }, () => {
  let d: Daemon;
  let dir: string;
  let sock: string;
  let cri: CriClient;
  const pods: string[] = [];

  const base = () => ['--runtime-endpoint', `unix://${sock}`, '--image-endpoint', `unix://${sock}`, '--timeout', '60s'];

  async function crictl(...args: string[]): Promise<string> {
    const r = await runCommand(CRICTL, [...base(), ...args], { timeoutMs: 90_000 });
    assert.equal(r.code, 0, `crictl ${args.join(' ')} failed:\n${r.stdout}${r.stderr}\n--- berthd:\n${d.logs().slice(-2000)}`);
    return r.stdout;
  }

  /** How many GetContainerEvents streams berthd serves now (Status, verbose). */
  async function eventClients(): Promise<number> {
    return Number((await cri.call('Status', { verbose: true })).info.containerEventClients);
  }

  before(async () => {
    d = await startDaemon();
    dir = join(d.tmpDir, 'cri-events');
    await mkdir(dir, { recursive: true });
    sock = `${d.execRoot}/cri.sock`;
    await importBusybox(d);
    cri = new CriClient(sock);
  });

  after(async () => {
    cri?.close();
    for (const p of pods) await runCommand(CRICTL, [...base(), 'rmp', '-f', p]).catch(() => undefined);
    const left = await d?.stop();
    if (left) assert.deepEqual(left.processes, [], 'berthd left processes behind');
  });

  test('a pod\'s and its container\'s life cycle, to crictl events and a second client, with the statuses of each moment', async () => {
    assert.equal(await eventClients(), 0);
    const watcher = spawn(CRICTL, [...base(), 'events', '-o', 'json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    watcher.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    watcher.stderr.on('data', (c: Buffer) => { err += c.toString(); });
    const second: any[] = [];
    let secondEnd = undefined as grpc.StatusObject | undefined;
    let call: { cancel(): void } | undefined;
    try {
      await waitFor(async () => (await eventClients()) === 1, 20_000, `crictl events to connect (${err})`);
      call = cri.stream('GetContainerEvents', {}, (m) => second.push(m), (s) => { secondEnd = s; });
      await waitFor(async () => (await eventClients()) === 2, 20_000, 'the second client to connect');

      const podFile = join(dir, 'ev.pod.json');
      await writeFile(podFile, JSON.stringify({ metadata: { name: 'ev', namespace: 'default', uid: 'ev-uid', attempt: 0 }, linux: {} }));
      const pod = (await crictl('runp', podFile)).trim();
      pods.push(pod);
      const ctrFile = join(dir, 'ev.ctr.json');
      await writeFile(ctrFile, JSON.stringify({ metadata: { name: 'ev-main' }, image: { image: 'busybox' }, command: ['sleep', '1000'], linux: {} }));
      const ctr = (await crictl('create', pod, ctrFile, podFile)).trim();
      await crictl('start', ctr);
      await crictl('stop', '--timeout', '0', ctr);
      await crictl('rm', ctr);
      await crictl('stopp', pod);
      await crictl('rmp', pod);

      const expected = [
        [pod, 'CONTAINER_CREATED_EVENT'], [pod, 'CONTAINER_STARTED_EVENT'],
        [ctr, 'CONTAINER_CREATED_EVENT'], [ctr, 'CONTAINER_STARTED_EVENT'], [ctr, 'CONTAINER_STOPPED_EVENT'], [ctr, 'CONTAINER_DELETED_EVENT'],
        [pod, 'CONTAINER_STOPPED_EVENT'], [pod, 'CONTAINER_DELETED_EVENT'],
      ];
      await waitFor(async () => parseJsonStream(out).length >= expected.length && second.length >= expected.length, 20_000,
        `all events at both clients:\n${out}\n--- second: ${second.length}\n--- berthd:\n${d.logs().slice(-2000)}`);
      const events = parseJsonStream(out);
      assert.deepEqual(events.map((e) => [e.containerId, e.containerEventType]), expected);
      assert.deepEqual(second.map((e) => [e.containerId, e.containerEventType]), expected, 'the second client got the same events');
      for (const e of events) assert.match(e.createdAt, /^\d{19}$/, 'created_at is nanoseconds since the epoch');

      const [podCreated, podStarted, created, started, stopped, deleted, podStopped, podDeleted] = events;
      // A sandbox's own events carry its status; the pod has no containers yet.
      assert.equal(podCreated.podSandboxStatus.id, pod);
      assert.equal(podCreated.podSandboxStatus.metadata.name, 'ev');
      assert.equal(podStarted.podSandboxStatus.state, 'SANDBOX_READY');
      assert.match(podStarted.podSandboxStatus.network.ip, /^\d+\.\d+\.\d+\.\d+$/);
      assert.deepEqual(podStarted.containersStatuses, []);
      // The container's events: its status as of each one, next to the pod's.
      const own = (e: any) => e.containersStatuses.find((s: any) => s.id === ctr);
      assert.equal(own(created).state, 'CONTAINER_CREATED');
      assert.equal(own(created).metadata.name, 'ev-main');
      assert.equal(created.podSandboxStatus.state, 'SANDBOX_READY');
      assert.equal(own(started).state, 'CONTAINER_RUNNING');
      assert.equal(own(stopped).state, 'CONTAINER_EXITED');
      assert.equal(own(stopped).exitCode, 137);
      assert.deepEqual(deleted.containersStatuses, [], 'a deleted container is no longer among the pod\'s');
      assert.equal(podStopped.podSandboxStatus.state, 'SANDBOX_NOTREADY');
      assert.equal(podDeleted.podSandboxStatus, null, 'no pod status once the pod is gone');
      assert.equal(second[4].containersStatuses[0].state, 'CONTAINER_EXITED');

      // Docker API containers are not the CRI's: no events for them.
      const n = events.length;
      assert.equal((await d.berth(['run', '--rm', 'busybox', 'true'])).code, 0);
      assert.equal(parseJsonStream(out).length, n);
      assert.equal(second.length, n);
      assert.equal(secondEnd, undefined, 'the stream stays open');
    } finally {
      watcher.kill('SIGKILL');
      call?.cancel();
    }
    // Both clients went (one killed, one cancelled): berthd serves no stream for them any more.
    await waitFor(async () => (await eventClients()) === 0, 20_000, 'the event streams of clients that went away to end');
    assert.equal((secondEnd as grpc.StatusObject | undefined)?.code, grpc.status.CANCELLED);
  });

  test('a malformed request fails; clients coming and going leave no subscription behind; berthd closing ends the stream', async () => {
    let bad = undefined as grpc.StatusObject | undefined;
    cri.stream('GetContainerEvents', { raw: Buffer.from([0x0a, 0xff]) }, () => undefined, (s) => { bad = s; });
    await waitFor(async () => bad !== undefined, 20_000, 'the malformed call to end');
    assert.equal(bad!.code, grpc.status.INVALID_ARGUMENT);
    assert.match(bad!.details, /malformed GetEventsRequest/);

    for (let i = 0; i < 5; i++) {
      const c = spawn(CRICTL, [...base(), 'events'], { stdio: 'ignore' });
      await waitFor(async () => (await eventClients()) === 1, 20_000, `client ${i} to connect`);
      c.kill('SIGKILL');
      await waitFor(async () => (await eventClients()) === 0, 20_000, `client ${i}'s stream to end`);
    }

    // A client still reading when berthd stops sees its stream end (crictl exits), not hang.
    const watcher = spawn(CRICTL, [...base(), 'events'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    watcher.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    try {
      await waitFor(async () => (await eventClients()) === 1, 20_000, 'the watcher to connect');
      await d.restart();
      await waitFor(async () => watcher.exitCode !== null, 30_000, 'crictl events to end when berthd stopped');
      assert.notEqual(watcher.exitCode, 0, stderr);
      assert.match(stderr, /getting container events/);
      assert.equal(await eventClients(), 0);
    } finally {
      watcher.kill('SIGKILL');
    }
  });
});
