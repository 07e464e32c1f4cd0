/**
 * Microcontainers (`berth image micro`): images of one program and the
 * libraries its loader maps, made from this machine's own binaries and run
 * by berthd — through the berth CLI and the real docker CLI — plus the
 * reproducibility of the archive and the refusals.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startDaemon, skipUnlessRoot, skipWithoutDocker, type Daemon } from '../../helpers/daemon.js';

describe('berth image micro', { skip: skipUnlessRoot() || skipWithoutDocker() }, () => {
  let d!: Daemon;
  let dir!: string;
  before(async () => {
    d = await startDaemon();
    dir = await mkdtemp('/tmp/berth-test-micro-');
  }, { timeout: 60_000 });
  after(async () => {
    await d?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const berth = async (args: string[], env?: Record<string, string>) => {
    const r = await d.berth(args, env ? { env } : undefined);
    assert.equal(r.code, 0, `berth ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const inspect = async (ref: string) => (await d.request('GET', `/images/${ref}/json`)).json<any>();

  test('a dynamically linked program with its libraries and loader runs, and is small', async () => {
    const out = await berth(['image', 'micro', '-t', 'micro-ls', 'ls', '-1']);
    assert.match(out, /^\/usr\/bin\/ls, [1-9]\d* librar(y|ies), \d+ files: [\d.]+MB\nLoaded image: micro-ls:latest\n$/);
    const img = await inspect('micro-ls');
    assert.deepEqual(img.Config.Entrypoint, ['/usr/bin/ls']);
    assert.deepEqual(img.Config.Cmd, ['-1']);
    assert.ok(img.Size < 8 * 1024 * 1024, `${img.Size} bytes`);
    assert.equal(img.Architecture, process.arch === 'x64' ? 'amd64' : process.arch);
    const root = (await berth(['run', '--rm', 'micro-ls', '/'])).split('\n').filter(Boolean);
    // Only what the program needs (and what every container gets: /dev, /proc, /sys, /etc's files).
    assert.deepEqual(root.filter((n) => !['dev', 'proc', 'sys'].includes(n)), ['etc', 'lib', 'lib64', 'tmp', 'usr']);
    assert.equal((await berth(['run', '--rm', 'micro-ls'])).trim().split('\n').length >= 5, true);
    const viaDocker = await d.docker(['run', '--rm', 'micro-ls', '-ld', '/tmp']);
    assert.equal(viaDocker.code, 0, viaDocker.stderr);
    assert.match(viaDocker.stdout, /^drwxrwxrwt /);
    const history = await berth(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'micro-ls']);
    assert.equal(history.trim(), 'berth image micro /usr/bin/ls -1');
  });

  test('a static program is the whole image; --add brings files and other programs with their libraries', async () => {
    // The --add source does not exist yet: refused by name, nothing loaded.
    const missing = await d.berth(['image', 'micro', '-t', 'micro-bb', '--add', `${dir}/greeting:/srv/greeting`, '/bin/busybox']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /--add .*greeting: no such file or directory/);
    assert.equal((await d.request('GET', '/images/micro-bb/json')).status, 404);
    await writeFile(join(dir, 'greeting'), 'hello from a micro image\n');
    const out = await berth(['image', 'micro', '-t', 'micro-bb', '--add', '/usr/bin/cat', '--add', `${dir}/greeting:/srv/greeting`, '-u', 'nobody', '/bin/busybox', 'sh']);
    assert.match(out, /^\/bin\/busybox, [1-9]\d* librar/, 'cat brought its libraries (busybox has none)');
    assert.equal((await inspect('micro-bb')).Config.User, 'nobody');
    assert.equal(await berth(['run', '--rm', 'micro-bb', 'sh', '-c', 'id -u; cat /srv/greeting']), '65534\nhello from a micro image\n');
    assert.match(await berth(['run', '--rm', '--entrypoint', '/usr/bin/cat', 'micro-bb', '/etc/passwd']), /^root:x:0:0:.*\nnobody:x:65534:65534:/);
  });

  test('reproducible: the same files give the same archive bytes and the same image ID', async () => {
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    const a = join(dir, 'a.tar');
    const b = join(dir, 'b.tar');
    const r1 = await d.berth(['image', 'micro', '-o', a, '-t', 'repro:1', 'ls'], { env });
    const r2 = await d.berth(['image', 'micro', '-o', b, '-t', 'repro:1', 'ls'], { env });
    assert.equal(r1.code, 0, r1.stderr);
    assert.equal(r2.code, 0, r2.stderr);
    const hash = async (p: string) => createHash('sha256').update(await readFile(p)).digest('hex');
    assert.equal(await hash(a), await hash(b));
    const id = /^(sha256:[0-9a-f]{64})$/m.exec(r1.stderr)?.[1];
    assert.ok(id, r1.stderr);
    const loaded = await d.docker(['load', '-i', a]);
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout, /Loaded image: repro:1/);
    const img = await inspect('repro:1');
    assert.equal(img.Id, id);
    assert.equal(img.Created, '2023-11-14T22:13:20Z');
  });

  test('refusals: a script, a missing program, a relative image path, a bad tag', async () => {
    for (const [args, message] of [
      [['/usr/bin/ldd'], /\/usr\/bin\/ldd is not an ELF program/],
      [['no-such-program-here'], /no-such-program-here: executable file not found in \$PATH/],
      [['--add', '/etc/hostname:etc/hostname', 'ls'], /the path in the image must be absolute/],
      [['-t', 'Bad:Name', 'ls'], /invalid argument "Bad:Name" for "-t, --tag" flag/],
    ] as const) {
      const r = await d.berth(['image', 'micro', ...args]);
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, message);
    }
  });
});
