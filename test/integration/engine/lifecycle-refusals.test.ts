/**
 * What dockerd 28 answers when a lifecycle operation does not fit the
 * container's state (daemon/kill.go, pause.go, top_unix.go, rename.go,
 * errors.go; the router's wrapping in container_routes.go): the same
 * status and the same words, which clients print and some match.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, inspect, remove, start } from './api.js';

describe('lifecycle refusals in dockerd\'s words', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  before(async () => { d = await startDaemon(); await importBusybox(d); }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  async function refused(method: string, path: string, status: number, message: string): Promise<void> {
    const r = await d.request(method, path);
    assert.equal(r.status, status, `${method} ${path}: ${r.text}`);
    assert.equal(r.json().message, message);
  }

  test('a container that is not running: kill, pause, top, resize', async () => {
    const id = await createContainer(d, { Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }, 'idle-one');
    try {
      await refused('POST', '/containers/idle-one/kill', 409, `cannot kill container: idle-one: container ${id} is not running`);
      await refused('POST', `/containers/${id}/pause`, 409, `container ${id} is not running`);
      await refused('GET', `/containers/${id}/top`, 409, `container ${id} is not running`);
      await refused('POST', `/containers/${id}/resize?h=10&w=10`, 409, `container ${id} is not running`);
      await refused('POST', `/containers/${id}/wait?condition=sometime`, 400, 'invalid condition: "sometime"');
    } finally {
      await remove(d, id);
    }
  });

  test('rename to a name in use', async () => {
    const a = await createContainer(d, { Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }, 'rename-a');
    const b = await createContainer(d, { Cmd: ['true'], HostConfig: { NetworkMode: 'none' } }, 'rename-b');
    try {
      await refused('POST', `/containers/${a}/rename?name=rename-b`, 409,
        `Error when allocating new name: Conflict. The container name "/rename-b" is already in use by container "${b}". You have to remove (or rename) that container to be able to reuse that name.`);
    } finally {
      await remove(d, a);
      await remove(d, b);
    }
  });

  test('pause and top of a container in restart back-off', async () => {
    const id = await createContainer(d, { Cmd: ['false'], HostConfig: { RestartPolicy: { Name: 'always' }, NetworkMode: 'none' } });
    try {
      await start(d, id);
      // A back-off of 800 ms or more (the fourth), so that the requests land in it.
      for (let i = 0; i < 600; i++) {
        const c = await inspect(d, id);
        if (c.State.Restarting && c.RestartCount >= 4) break;
        await sleep(20);
      }
      const words = `Container ${id} is restarting, wait until the container is running`;
      await refused('POST', `/containers/${id}/pause`, 409, words);
      await refused('GET', `/containers/${id}/top`, 409, words);
    } finally {
      await remove(d, id);
    }
  });
});
