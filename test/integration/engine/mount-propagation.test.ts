/**
 * Bind mounts with shared and slave propagation (`-v SRC:DST:rshared|rslave`,
 * the CRI's Bidirectional and HostToContainer mounts), as dockerd runs
 * them: mounts made on the host under SRC after the start appear in the
 * container; with rshared, the container's mounts under DST appear on the
 * host; a source whose host mount cannot propagate is refused at start.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, startDaemon, skipUnlessRoot, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, remove, start } from './api.js';

describe('bind mount propagation', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let dir!: string;
  const mounted: string[] = [];
  const mount = async (args: string[], target: string) => {
    const r = await runCommand('mount', [...args, target]);
    assert.equal(r.code, 0, r.stderr);
    mounted.push(target);
  };

  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    dir = await mkdtemp('/tmp/berth-test-propagation-');
    for (const sub of ['shared/in', 'private', 'from-host']) await mkdir(join(dir, sub), { recursive: true });
    await writeFile(join(dir, 'from-host', 'flag'), 'host\n');
    // Each source its own mount: `shared` in a peer group, `private` in none.
    await mount(['--bind', join(dir, 'shared')], join(dir, 'shared'));
    await mount(['--make-rshared'], join(dir, 'shared'));
    await mount(['--bind', join(dir, 'private')], join(dir, 'private'));
    await mount(['--make-rprivate'], join(dir, 'private'));
  }, { timeout: 120_000 });

  after(async () => {
    for (const m of mounted.reverse()) await runCommand('umount', ['-l', m]);
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function running(bind: string, privileged = false): Promise<string> {
    const id = await createContainer(d, { Image: 'busybox', Cmd: ['sleep', '300'], HostConfig: { Binds: [bind], Privileged: privileged } });
    await start(d, id);
    return id;
  }

  async function execOut(id: string, cmd: string[]): Promise<string> {
    const r = await d.berth(['exec', id, ...cmd]);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  }

  for (const propagation of ['rslave', 'rshared']) {
    test(`${propagation}: a mount made on the host after the start shows in the container`, async () => {
      const id = await running(`${join(dir, 'shared')}:/mnt:${propagation}`);
      try {
        await mount(['--bind', join(dir, 'from-host')], join(dir, 'shared', 'in'));
        assert.equal(await execOut(id, ['cat', '/mnt/in/flag']), 'host\n');
      } finally {
        await runCommand('umount', ['-l', join(dir, 'shared', 'in')]);
        mounted.pop();
        await remove(d, id);
      }
    });
  }

  test('rshared: a mount the container makes shows on the host; rslave: it does not', async () => {
    for (const [propagation, seen] of [['rshared', true], ['rslave', false]] as const) {
      const id = await running(`${join(dir, 'shared')}:/mnt:${propagation}`, true);
      try {
        await execOut(id, ['mount', '--bind', '/etc', '/mnt/in']);
        const names = await readdir(join(dir, 'shared', 'in'));
        assert.equal(names.includes('passwd'), seen, `${propagation}: ${names.join(' ')}`);
      } finally {
        await remove(d, id);
        if (seen) await runCommand('umount', ['-l', join(dir, 'shared', 'in')]);
      }
    }
  });

  test('a shared or slave bind of a private mount is refused at start in dockerd\'s words', async () => {
    for (const [propagation, words] of [['rshared', 'not a shared mount'], ['rslave', 'not a shared or slave mount']]) {
      const id = await createContainer(d, { Image: 'busybox', Cmd: ['true'], HostConfig: { Binds: [`${join(dir, 'private')}:/mnt:${propagation}`] } });
      try {
        const r = await d.request('POST', `/containers/${id}/start`);
        assert.equal(r.status, 400, r.text);
        assert.equal(r.json().message, `path ${join(dir, 'private')} is mounted on ${join(dir, 'private')} but it is ${words}`);
      } finally {
        await remove(d, id);
      }
    }
  });
});
