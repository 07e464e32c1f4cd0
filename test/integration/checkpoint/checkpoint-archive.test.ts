/**
 * `berth checkpoint export` / `import` through private berthds and the real
 * runc (+ criu where it works). The bad-input cases run on any host: they
 * use archives made here — a corrupt tar, a truncated one, entries that
 * climb out of the archive, a symlink, a digest that does not match, and
 * a syntactically valid but bogus checkpoint whose restore cannot work —
 * and each must be refused with nothing left behind: no container, no
 * checkpoint, no staging directory, no file outside the daemon's roots.
 * Where CRIU can dump, a counter exported from one daemon and imported
 * into a second counts on from where it was.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { startDaemon, waitFor, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { newHeader, readTar } from '../../../src/image/tar-format.js';
import { packTar, type PackEntry } from '../../../src/image/tar-pack.js';

const COUNTER = 'i=0; while true; do echo $i; i=$((i+1)); sleep 0.1; done';

function criuCheck(): string | null {
  try {
    execFileSync('criu', ['check'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return `criu check fails here: ${String((e as { stderr?: Buffer }).stderr ?? e).split('\n')[0]}`;
  }
}
const criuProblem = criuCheck();

interface Entry { name: string; content?: Buffer; type?: 'file' | 'symlink' | 'dir'; linkname?: string }

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const stream = packTar(async function* (): AsyncGenerator<PackEntry> {
    for (const e of entries) {
      const type = e.type ?? 'file';
      yield {
        header: newHeader({ name: e.name, type, mode: type === 'dir' ? 0o755 : 0o644, size: type === 'file' ? (e.content?.length ?? 0) : 0, linkname: e.linkname ?? '' }),
        ...(type === 'file' ? { content: e.content ?? Buffer.alloc(0) } : {}),
      };
    }
  });
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

function sha(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

async function imageTar(d: Daemon): Promise<{ tar: Buffer; id: string }> {
  const r = await d.request('GET', '/images/get?names=busybox:latest', undefined, { timeoutMs: 60_000 });
  assert.equal(r.status, 200);
  const id = (await d.request('GET', '/images/busybox:latest/json')).json<{ Id: string }>().Id;
  return { tar: r.body, id };
}

/** A syntactically valid checkpoint archive whose parts are as given (bogus CRIU images by default). */
async function archive(d: Daemon, o: { mutate?: (m: any) => void; extra?: Entry[]; cpFiles?: Record<string, Buffer>; image?: Buffer } = {}): Promise<Buffer> {
  const img = await imageTar(d);
  if (o.image) img.tar = o.image;
  const rootfs = await tarOf([{ name: 'made-by-restore', content: Buffer.from('x') }]);
  const cp = o.cpFiles ?? { 'inventory.img': randomBytes(64), 'core-1.img': randomBytes(128) };
  const parts: Entry[] = [
    { name: 'image.tar', content: img.tar }, { name: 'rootfs.tar', content: rootfs },
    ...Object.entries(cp).map(([n, b]) => ({ name: `checkpoint/${n}`, content: b })),
  ];
  const manifest: any = {
    SchemaVersion: 1, Checkpoint: 'cp1', Image: { Id: img.id, Ref: 'busybox:latest' },
    Container: { Name: 'imported', Config: { Cmd: ['sh', '-c', COUNTER], Hostname: 'counter' }, HostConfig: { NetworkMode: 'none', Runtime: 'runc' } },
    Files: Object.fromEntries(parts.map((p) => [p.name, { size: p.content!.length, digest: sha(p.content!) }])),
  };
  o.mutate?.(manifest);
  return tarOf([{ name: 'berth-checkpoint.json', content: Buffer.from(JSON.stringify(manifest)) }, ...parts, ...(o.extra ?? [])]);
}

/** Nothing of a failed import is left: no container, no staging directory. */
async function assertNothingLeft(d: Daemon): Promise<void> {
  const list = (await d.request('GET', '/containers/json?all=1')).json<unknown[]>();
  assert.deepEqual(list, [], 'no container was left');
  const tmp = readdirSync(join(d.dataRoot, 'tmp')).filter((n) => n.startsWith('cp-'));
  assert.deepEqual(tmp, [], 'no staging directory was left');
  assert.deepEqual(readdirSync(join(d.dataRoot, 'containers')), [], 'no container directory was left');
}

test('checkpoint export and import', async (t) => {
  const d = await startDaemon({ runtime: 'runc' });
  t.after(() => d.stop());
  await importBusybox(d);
  const work = mkdtempSync('/tmp/berth-cp-archive-');
  t.after(() => rmSync(work, { recursive: true, force: true }));
  const importFile = async (name: string, bytes: Buffer, args: string[] = []) => {
    const f = join(work, name);
    writeFileSync(f, bytes);
    return d.berth(['checkpoint', 'import', ...args, f]);
  };

  await t.test('a corrupt tar is refused cleanly', async () => {
    const r = await importFile('garbage.tar', randomBytes(4096));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /invalid tar header|checksum mismatch/);
    await assertNothingLeft(d);
  });

  await t.test('a truncated archive is refused cleanly', async () => {
    const whole = await archive(d);
    const r = await importFile('cut.tar', whole.subarray(0, Math.floor(whole.length / 2)));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unexpected end of tar archive|invalid tar/);
    await assertNothingLeft(d);
  });

  await t.test('a tar that is no checkpoint archive is refused', async () => {
    const r = await importFile('plain.tar', await tarOf([{ name: 'hello.txt', content: Buffer.from('hi') }]));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no berth-checkpoint\.json: not a berth checkpoint archive/);
    await assertNothingLeft(d);
  });

  await t.test('entries naming paths outside the archive are refused and written nowhere', async () => {
    const marker = `berth-escape-${randomBytes(4).toString('hex')}`;
    for (const name of [`../../../../../../tmp/${marker}`, `/tmp/${marker}`, `checkpoint/../../../../../../../tmp/${marker}`]) {
      const r = await importFile('climb.tar', await archive(d, { extra: [{ name, content: Buffer.from('pwned') }] }));
      assert.notEqual(r.code, 0, name);
      assert.match(r.stderr, /must be relative and must not contain ".."/);
      assert.equal(existsSync(`/tmp/${marker}`), false);
      await assertNothingLeft(d);
    }
  });

  await t.test('a symlink or an entry the manifest does not list is refused', async () => {
    const link = await importFile('link.tar', await archive(d, { extra: [{ name: 'checkpoint/evil.img', type: 'symlink', linkname: '/etc/shadow' }] }));
    assert.notEqual(link.code, 0);
    assert.match(link.stderr, /unexpected entry "checkpoint\/evil.img" \(symlink\)/);
    const extra = await importFile('extra.tar', await archive(d, { extra: [{ name: 'checkpoint/more.img', content: Buffer.from('x') }] }));
    assert.notEqual(extra.code, 0);
    assert.match(extra.stderr, /unexpected entry "checkpoint\/more.img"/);
    await assertNothingLeft(d);
  });

  await t.test('a part whose digest is not the manifest\'s is refused before anything is made', async () => {
    const r = await importFile('digest.tar', await archive(d, {
      mutate: (m) => { m.Files['checkpoint/core-1.img'].digest = `sha256:${'0'.repeat(64)}`; },
    }));
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /"checkpoint\/core-1.img" in archive: unexpected digest/);
    await assertNothingLeft(d);
  });

  await t.test('a hostile manifest is refused (checkpoint name, container config)', async () => {
    const name = await importFile('name.tar', await archive(d, { mutate: (m) => { m.Checkpoint = '../../x'; } }));
    assert.notEqual(name.code, 0);
    assert.match(name.stderr, /invalid checkpoint ID/);
    const cfg = await importFile('cfg.tar', await archive(d, { mutate: (m) => { m.Container.HostConfig.Memory = 'lots'; } }));
    assert.notEqual(cfg.code, 0);
    assert.match(cfg.stderr, /cannot unmarshal string into Go struct field/);
    await assertNothingLeft(d);
  });

  await t.test('an archive whose container asks for host access is refused unless the importer trusts it', async () => {
    for (const [what, hc] of [
      ['Binds', { Binds: ['/:/host'] }], ['Privileged', { Privileged: true }], ['Devices', { Devices: [{ PathOnHost: '/dev/sda', PathInContainer: '/dev/sda', CgroupPermissions: 'rwm' }] }],
      ['Mounts', { Mounts: [{ Type: 'bind', Source: '/etc', Target: '/h' }] }], ['CapAdd', { CapAdd: ['SYS_ADMIN'] }],
      ['SecurityOpt', { SecurityOpt: ['seccomp=unconfined'] }], ['PidMode host', { PidMode: 'host' }],
    ] as const) {
      const r = await importFile('host.tar', await archive(d, { mutate: (m) => { Object.assign(m.Container.HostConfig, hc); } }));
      assert.notEqual(r.code, 0, what);
      assert.match(r.stderr, new RegExp(`asks for access beyond a default container's \\(HostConfig ${what}`), what);
      await assertNothingLeft(d);
    }
    // With --trust it goes on to the restore (which bogus CRIU images cannot pass).
    const trusted = await importFile('trusted.tar', await archive(d, { mutate: (m) => { m.Container.HostConfig.CapAdd = ['NET_ADMIN']; } }), ['--trust']);
    assert.notEqual(trusted.code, 0);
    assert.doesNotMatch(trusted.stderr, /asks for access/);
    assert.match(trusted.stderr, /criu|restore|checkpoint/i);
    await assertNothingLeft(d);
  });

  await t.test('an archive cannot move a tag the daemon has to an image of its own, nor load extra images', async (st) => {
    // The importer's `victim:latest` is busybox; the archive's image.tar claims that name for its (different) image.
    const tag = await d.request('POST', '/images/busybox:latest/tag?repo=victim&tag=latest');
    assert.equal(tag.status, 201);
    st.after(async () => { await d.request('DELETE', '/images/victim:latest'); await d.request('DELETE', '/images/evil:latest?force=1'); });
    const busyboxId = (await d.request('GET', '/images/busybox:latest/json')).json<{ Id: string }>().Id;
    const build = await d.berth(['build', '-q', '-t', 'evil:latest', '-'], { input: 'FROM busybox\nRUN echo pwned > /pwned\n' });
    assert.equal(build.code, 0, build.stderr);
    const evilTar = (await d.request('GET', '/images/get?names=evil:latest', undefined, { timeoutMs: 60_000 })).body;
    const evilId = (await d.request('GET', '/images/evil:latest/json')).json<{ Id: string }>().Id;
    const both = (await d.request('GET', '/images/get?names=busybox:latest&names=evil:latest', undefined, { timeoutMs: 60_000 })).body;
    assert.equal((await d.request('DELETE', '/images/evil:latest')).status, 200);
    // Rename the archive's tag evil:latest -> victim:latest (manifest.json's RepoTags and the index's annotation).
    const renamed: Entry[] = [];
    for await (const e of readTar(Readable.from([evilTar]))) {
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c as Buffer);
      let body = Buffer.concat(chunks);
      if (e.header.name === 'manifest.json' || e.header.name === 'index.json') body = Buffer.from(body.toString().replaceAll('evil:latest', 'victim:latest').replaceAll('docker.io/library/evil', 'docker.io/library/victim'));
      renamed.push(e.header.type === 'dir' ? { name: e.header.name, type: 'dir' } : e.header.type === 'symlink' ? { name: e.header.name, type: 'symlink', linkname: e.header.linkname } : { name: e.header.name, content: body });
    }
    const image = await tarOf(renamed);
    const r = await importFile('retag.tar', await archive(d, {
      mutate: (m) => { m.Image = { Id: evilId, Ref: 'victim:latest' }; m.Files['image.tar'] = { size: image.length, digest: sha(image) }; },
      image,
    }), ['--trust']);
    assert.notEqual(r.code, 0);
    await assertNothingLeft(d);
    const victim = (await d.request('GET', '/images/victim:latest/json')).json<{ Id: string }>().Id;
    assert.equal(victim, busyboxId, 'victim:latest still names the importer\'s image');
    // An image.tar with a second image besides the container's is refused before anything is loaded.
    const extra = await importFile('two.tar', await archive(d, { image: both }), ['--trust']);
    assert.notEqual(extra.code, 0);
    assert.match(extra.stderr, /image\.tar must hold image sha256:[0-9a-f]{64} and nothing else/);
    await assertNothingLeft(d);
    await d.request('DELETE', `/images/${evilId}?force=1`);
  });

  await t.test('a valid archive whose restore cannot work leaves no half container', async () => {
    const since = (Date.now() / 1000).toFixed(3);
    const r = await importFile('bogus.tar', await archive(d), ['--trust']);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /criu|restore|checkpoint/i);
    await assertNothingLeft(d);
    // It got as far as the container and the restore, and the container went again.
    const q = new URLSearchParams({ since, until: (Date.now() / 1000 + 1).toFixed(3), filters: JSON.stringify({ type: ['container'], container: ['imported'] }) });
    const actions = (await d.request('GET', `/events?${q}`)).text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).Action as string);
    assert.ok(actions.includes('create') && actions.includes('destroy'), actions.join(','));
    // The image it carried was loaded, as any load does.
    assert.equal((await d.request('GET', '/images/busybox:latest/json')).status, 200);
  });

  await t.test('export refuses a missing checkpoint and a running container', async () => {
    const run = await d.berth(['run', '-d', '--network', 'none', 'busybox', 'sleep', '300']);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    t.after(async () => { await d.berth(['rm', '-f', id]); });
    const missing = await d.berth(['checkpoint', 'export', '-o', join(work, 'x.tar'), id, 'nope']);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /checkpoint nope does not exist/);
    assert.equal(existsSync(join(work, 'x.tar')), false);
    // A checkpoint directory made by hand (the dump itself needs CRIU): export still refuses while it runs.
    const cp = join(d.dataRoot, 'containers', id, 'checkpoints', 'cp1');
    execFileSync('mkdir', ['-p', cp]);
    writeFileSync(join(cp, 'inventory.img'), 'x');
    const running = await d.berth(['checkpoint', 'export', '-o', join(work, 'x.tar'), id, 'cp1']);
    assert.notEqual(running.code, 0);
    assert.match(running.stderr, /the container is running/);
  });

  await t.test('an export holds the manifest, the image, the layer and the images; another daemon takes it up to the restore', async (st) => {
    const run = await d.berth(['run', '--name', 'src', '--network', 'none', 'busybox', 'sh', '-c', 'echo data > /state']);
    assert.equal(run.code, 0, run.stderr);
    st.after(async () => { await d.berth(['rm', '-f', 'src']); });
    const id = (await d.request('GET', '/containers/src/json')).json<{ Id: string }>().Id;
    // CRIU cannot dump here: the checkpoint's files are made by hand (export only reads them).
    const cp = join(d.dataRoot, 'containers', id, 'checkpoints', 'cp1');
    execFileSync('mkdir', ['-p', cp]);
    writeFileSync(join(cp, 'inventory.img'), randomBytes(32));
    writeFileSync(join(cp, 'pages-1.img'), randomBytes(4096));
    const file = join(work, 'export.tar');
    const ex = await d.berth(['checkpoint', 'export', '-o', file, 'src', 'cp1']);
    assert.equal(ex.code, 0, ex.stderr);
    const names: string[] = [];
    let manifest: any;
    let rootfs = Buffer.alloc(0);
    for await (const e of readTar(createReadStream(file))) {
      names.push(e.header.name);
      const chunks: Buffer[] = [];
      for await (const c of e.body) chunks.push(c as Buffer);
      if (e.header.name === 'berth-checkpoint.json') manifest = JSON.parse(Buffer.concat(chunks).toString());
      if (e.header.name === 'rootfs.tar') rootfs = Buffer.concat(chunks);
    }
    assert.deepEqual(names, ['berth-checkpoint.json', 'image.tar', 'rootfs.tar', 'checkpoint/inventory.img', 'checkpoint/pages-1.img']);
    assert.equal(manifest.Checkpoint, 'cp1');
    assert.equal(manifest.Container.Name, 'src');
    assert.equal(manifest.Image.Ref, 'busybox', 'the reference the container was made with');
    assert.equal(manifest.Files['checkpoint/pages-1.img'].size, 4096);
    const layer: string[] = [];
    for await (const e of readTar(Readable.from([rootfs]))) { layer.push(e.header.name); for await (const _ of e.body) { /* drain */ } }
    assert.ok(layer.includes('state'), layer.join(','));

    const d2 = await startDaemon({ runtime: 'runc' });
    st.after(() => d2.stop());
    const since = (Date.now() / 1000).toFixed(3);
    const im = await d2.berth(['checkpoint', 'import', '--trust', '--name', 'copy', file]);
    assert.notEqual(im.code, 0, 'bogus CRIU images cannot be restored');
    const q = new URLSearchParams({ since, until: (Date.now() / 1000 + 1).toFixed(3), filters: JSON.stringify({ type: ['container'], container: ['copy'] }) });
    const actions = (await d2.request('GET', `/events?${q}`)).text.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l).Action as string);
    assert.ok(actions.includes('create') && actions.includes('destroy'), actions.join(','));
    await assertNothingLeft(d2);
    // The image came with the archive, under its ID and its tag.
    const img = (await d2.request('GET', '/images/busybox:latest/json')).json<{ Id: string }>();
    assert.equal(img.Id, manifest.Image.Id);
  });

  await t.test('a counter exported from one daemon and imported into another counts on', { skip: criuProblem ?? false }, async (st) => {
    const run = await d.berth(['run', '-d', '--network', 'none', 'busybox', 'sh', '-c', COUNTER]);
    assert.equal(run.code, 0, run.stderr);
    const id = run.stdout.trim();
    st.after(async () => { await d.berth(['rm', '-f', id]); });
    const numbers = async (dd: Daemon, c: string) => (await dd.berth(['logs', c])).stdout.split('\n').filter((l) => l.trim()).map(Number);
    await waitFor(async () => (await numbers(d, id)).length >= 5, 20_000, 'the counter to count');
    const cp = await d.berth(['checkpoint', 'create', id, 'move']);
    assert.equal(cp.code, 0, cp.stderr);
    const last = (await numbers(d, id)).at(-1)!;
    const file = join(work, 'move.tar');
    const ex = await d.berth(['checkpoint', 'export', '-o', file, id, 'move']);
    assert.equal(ex.code, 0, ex.stderr);

    const d2 = await startDaemon({ runtime: 'runc' });
    st.after(() => d2.stop());
    const im = await d2.berth(['checkpoint', 'import', '--trust', '--name', 'moved', file]);
    assert.equal(im.code, 0, im.stderr);
    await waitFor(async () => (await numbers(d2, 'moved')).length >= 3, 20_000, 'the imported counter to count');
    const after = await numbers(d2, 'moved');
    assert.equal(after[0], last + 1, `after ${last} came ${after[0]}`);
  });
});
