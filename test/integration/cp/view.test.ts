/**
 * Issue 9, items 2 and 6: `docker cp` sees what the container sees — its
 * /etc files, volumes, binds and tmpfs mounts — whether it runs or was only
 * created; read-only mounts refuse writes; `docker diff` and `commit` leave
 * mount points out; every archive error gets dockerd's status and message.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessRoot, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { entriesOf, tarOf } from '../../helpers/layer-fixtures.js';

describe("cp through the container's own view", { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let host!: string;

  before(async () => {
    host = await mkdtemp(join(tmpdir(), 'berth-cp-view-'));
    d = await startDaemon();
    await importBusybox(d);
  }, { timeout: 120_000 });

  after(async () => {
    await d?.stop();
    await rm(host, { recursive: true, force: true });
  });

  async function docker(args: string[]): Promise<string> {
    const r = await d.docker(args);
    assert.equal(r.code, 0, `docker ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  }

  /** A file copied out with the docker CLI into a fresh host dir: its content and permission bits. */
  async function cpOut(container: string, path: string): Promise<{ content: string; mode: number }> {
    const dir = await mkdtemp(join(host, 'out-'));
    await docker(['cp', `${container}:${path}`, `${dir}/`]);
    const file = join(dir, path.split('/').pop()!);
    return { content: await readFile(file, 'utf8'), mode: (await stat(file)).mode & 0o7777 };
  }

  async function hostFile(name: string, content: string): Promise<string> {
    const p = join(host, name);
    await writeFile(p, content);
    return p;
  }

  test('a running container: /etc files with their real content and mode, mtab, volume, bind, tmpfs', async () => {
    const bind = await mkdtemp(join(host, 'bind-'));
    await docker(['run', '-d', '--name', 'run1', '--hostname', 'viewhost', '-v', 'vol1:/data', '-v', `${bind}:/b`, '--tmpfs', '/t',
      'busybox', 'sleep', '1000']);
    for (const f of ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf']) {
      const out = await cpOut('run1', f);
      assert.equal(out.content, await docker(['exec', 'run1', 'cat', f]), f);
      assert.equal(out.mode.toString(8), (await docker(['exec', 'run1', 'stat', '-c', '%a', f])).trim(), `${f} mode`);
    }
    assert.equal((await cpOut('run1', '/etc/hostname')).content, 'viewhost\n');
    assert.equal((await docker(['exec', 'run1', 'readlink', '/etc/mtab'])).trim(), '/proc/mounts');

    // In and out of a named volume, a bind mount and a tmpfs: the container sees the file.
    for (const dir of ['/data', '/b', '/t']) {
      const src = await hostFile(`in-${dir.slice(1)}.txt`, `into ${dir}\n`);
      await docker(['cp', src, `run1:${dir}/`]);
      assert.equal(await docker(['exec', 'run1', 'cat', `${dir}/in-${dir.slice(1)}.txt`]), `into ${dir}\n`);
      assert.equal((await cpOut('run1', `${dir}/in-${dir.slice(1)}.txt`)).content, `into ${dir}\n`);
    }
    assert.equal(await readFile(join(bind, 'in-b.txt'), 'utf8'), 'into /b\n', 'the bind mount got the file');
    const id = (await docker(['inspect', '-f', '{{.Id}}', 'run1'])).trim();
    assert.ok(!existsSync(join(d.dataRoot, 'containers', id, 'upper', 't', 'in-t.txt')), 'the tmpfs file landed in the tmpfs, not under it');
    assert.ok(!existsSync(join(d.dataRoot, 'containers', id, 'upper', 'data', 'in-data.txt')), 'the volume file landed in the volume');
    await docker(['rm', '-f', 'run1']);
  });

  test('a created container: /etc files and its volume answer before it ever ran', async () => {
    await docker(['create', '--name', 'new1', '--hostname', 'fresh', '-v', 'vol2:/data', 'busybox', 'cat', '/data/seed.txt']);
    assert.equal((await cpOut('new1', '/etc/hostname')).content, 'fresh\n');
    assert.match((await cpOut('new1', '/etc/hosts')).content, /localhost/);
    assert.ok((await cpOut('new1', '/etc/resolv.conf')).content.length > 0);
    // Copying /etc as a whole takes them in too, though no mount point exists yet.
    const etc = await mkdtemp(join(host, 'etc-'));
    await docker(['cp', 'new1:/etc', `${etc}/`]);
    assert.equal(await readFile(join(etc, 'etc/hostname'), 'utf8'), 'fresh\n');
    assert.ok(existsSync(join(etc, 'etc/passwd')));
    await docker(['cp', await hostFile('seed.txt', 'seeded\n'), 'new1:/data/']);
    assert.equal((await cpOut('new1', '/data/seed.txt')).content, 'seeded\n');
    await docker(['start', '-a', 'new1']).then((out) => assert.equal(out, 'seeded\n'));
    // Stopped now: the same view again.
    assert.equal((await cpOut('new1', '/data/seed.txt')).content, 'seeded\n');
    await docker(['rm', '-f', 'new1']);
  });

  test('a stopped container: copying a directory takes in the volumes mounted below it', async () => {
    await docker(['run', '--name', 'st1', '-v', 'vol6:/srv/v', 'busybox', 'sh', '-c', 'echo hi > /srv/v/f; echo top > /srv/g']);
    const dir = await mkdtemp(join(host, 'srv-'));
    await docker(['cp', 'st1:/srv', `${dir}/`]);
    assert.equal(await readFile(join(dir, 'srv/v/f'), 'utf8'), 'hi\n');
    assert.equal(await readFile(join(dir, 'srv/g'), 'utf8'), 'top\n');
    await docker(['rm', '-f', 'st1']);
  });

  test('a read-only volume refuses a copy into it, as dockerd does', async () => {
    await docker(['run', '-d', '--name', 'ro1', '-v', 'vol3:/ro:ro', 'busybox', 'sleep', '1000']);
    const r = await d.docker(['cp', await hostFile('ro.txt', 'x'), 'ro1:/ro/']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error response from daemon: mounted volume is marked read-only/);
    const put = await d.request('PUT', '/containers/ro1/archive?path=/ro', tarOf([{ name: 'x', content: 'x' }]));
    assert.equal(put.status, 403);
    await docker(['rm', '-f', 'ro1']);
    await docker(['run', '-d', '--name', 'ro2', '--read-only', 'busybox', 'sleep', '1000']);
    const r2 = await d.docker(['cp', await hostFile('ro2.txt', 'x'), 'ro2:/tmp/']);
    assert.match(r2.stderr, /container rootfs is marked read-only/);
    await docker(['rm', '-f', 'ro2']);
  });

  test('a stopped container: a symlink in the tar cannot lead a copy into a read-only bind, nor a hard link across mounts', async () => {
    const roDir = await mkdtemp(join(host, 'robind-'));
    const rwDir = await mkdtemp(join(host, 'rwbind-'));
    await writeFile(join(roDir, 'secret'), 'host secret');
    await docker(['create', '--name', 'ro3', '-v', `${roDir}:/ro:ro`, '-v', `${rwDir}:/rw`, 'busybox', 'true']);
    const viaLink = await d.request('PUT', '/containers/ro3/archive?path=/tmp', tarOf([
      { name: 'a', type: 'symlink', linkname: '/ro' }, { name: 'a/planted', content: 'x' },
    ]));
    assert.equal(viaLink.status, 403, viaLink.text);
    assert.equal(existsSync(join(roDir, 'planted')), false, 'nothing written into the read-only bind');
    const crossLink = await d.request('PUT', '/containers/ro3/archive?path=/rw', tarOf([
      { name: 'up', type: 'symlink', linkname: '/' }, { name: 'stolen', type: 'link', linkname: 'up/ro/secret' },
    ]));
    assert.equal(crossLink.status, 400, crossLink.text);
    assert.equal(existsSync(join(rwDir, 'stolen')), false, 'no hard link to the read-only bind\'s file');
    await docker(['rm', '-f', 'ro3']);
  });

  test('errors keep their reply: 404 and 400 with dockerd\'s messages', async () => {
    await docker(['run', '-d', '--name', 'err1', 'busybox', 'sleep', '1000']);
    const missing = await d.request('PUT', '/containers/err1/archive?path=/nope', tarOf([{ name: 'x', content: 'x' }]));
    assert.equal(missing.status, 404);
    assert.equal(missing.json().message, 'Could not find the file /nope in container err1');
    const file = await d.request('PUT', '/containers/err1/archive?path=/etc/passwd', tarOf([{ name: 'x', content: 'x' }]));
    assert.equal(file.status, 400);
    assert.equal(file.json().message, 'extraction point is not a directory');
    const head = await d.request('HEAD', '/containers/err1/archive?path=/nope');
    assert.equal(head.status, 404);
    const r = await d.docker(['cp', 'err1:/nope', join(host, 'x')]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Error response from daemon: Could not find the file \/nope in container err1/);
    const r2 = await d.docker(['cp', await hostFile('e.txt', 'x'), 'err1:/nope/dir/']);
    assert.notEqual(r2.code, 0);
    assert.match(r2.stderr, /Could not find the file \/nope\/dir in container err1|no such directory/);
    // The daemon keeps answering on new connections and the container is unharmed.
    assert.equal(await docker(['exec', 'err1', 'echo', 'ok']), 'ok\n');
    await docker(['rm', '-f', 'err1']);
  });

  test('a client that drops a PUT half way leaves the container usable', async () => {
    await docker(['create', '--name', 'drop1', 'busybox', 'true']);
    const tar = tarOf([{ name: 'big', content: Buffer.alloc(1 << 20, 1) }]);
    await new Promise<void>((resolve, reject) => {
      const sock = connect(d.socket, () => {
        sock.write(`PUT /containers/drop1/archive?path=/tmp HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-tar\r\nContent-Length: ${tar.length}\r\n\r\n`);
        sock.write(tar.subarray(0, 200_000), () => { sock.destroy(); resolve(); });
      });
      sock.on('error', reject);
    });
    // The extraction gave up: the container's operations are not blocked behind it.
    await docker(['cp', await hostFile('after-drop.txt', 'ok\n'), 'drop1:/tmp/']);
    assert.equal((await cpOut('drop1', '/tmp/after-drop.txt')).content, 'ok\n');
    await docker(['start', 'drop1']);
    await docker(['rm', '-f', 'drop1']);
  });

  test('diff of a fresh container is empty; commit carries no mount points', async () => {
    await docker(['run', '--name', 'diff1', '-v', 'vol4:/newvol', '--tmpfs', '/newtmp', 'busybox', 'true']);
    assert.equal(await docker(['diff', 'diff1']), '');
    await docker(['commit', 'diff1', 'committed:1']);
    const saved = await d.request('GET', '/images/committed:1/get');
    assert.equal(saved.status, 200);
    const outer = await entriesOf(saved.body);
    const manifest = JSON.parse(outer.find((e) => e.header.name === 'manifest.json')!.content.toString()) as { Layers: string[] }[];
    const top = outer.find((e) => e.header.name === manifest[0].Layers.at(-1))!;
    const names = (await entriesOf(top.content)).map((e) => e.header.name);
    assert.deepEqual(names, [], `the committed layer holds ${names.join(', ')}`);
    // A real change still shows, with its parent.
    await docker(['run', '--name', 'diff2', 'busybox', 'touch', '/etc/added']);
    assert.equal(await docker(['diff', 'diff2']), 'C /etc\nA /etc/added\n');
    await docker(['rm', '-f', 'diff1', 'diff2']);
  });

  test('export gives the rootfs without volumes', async () => {
    await docker(['run', '--name', 'exp1', '-v', 'vol5:/vdata', 'busybox', 'sh', '-c', 'echo v > /vdata/in-volume; echo r > /in-rootfs']);
    const res = await d.request('GET', '/containers/exp1/export');
    assert.equal(res.status, 200);
    const names = (await entriesOf(res.body)).map((e) => e.header.name);
    assert.ok(names.includes('in-rootfs') && names.includes('bin/busybox'), names.slice(0, 20).join(' '));
    assert.ok(!names.includes('vdata/in-volume'));
    await docker(['rm', '-f', 'exp1']);
  });
});
