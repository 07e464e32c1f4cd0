/**
 * Review 3: an empty file in a build context sent over the client's
 * session (filesync) hung the build for ever. berthd asks for no bytes of
 * an empty file, and the context tar's entry for it was opened without a
 * body, so tar-stream waited for one: the transfer never ended, the build
 * never started, and its client waited with it. Any context with an empty
 * file (`__init__.py`, `.gitkeep`) did this.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, withTimeout, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { GO_DIR, solveDockerfile } from '../buildkit/hand-made-client.js';

let d!: Daemon;

before(async () => {
  if (skipUnlessRoot()) return;
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => { await d?.stop(); });

test('a context with empty files builds, and the files are in the image, empty', { skip: skipUnlessRoot() }, async () => {
  const r = await withTimeout(solveDockerfile(d.socket, 'empty1', Buffer.from('FROM busybox\nCOPY . /ctx/\n'), [
    { path: '.gitkeep', mode: 0o644, content: Buffer.alloc(0) },
    { path: 'pkg', mode: GO_DIR | 0o755 },
    { path: 'pkg/__init__.py', mode: 0o600, content: Buffer.alloc(0) },
    { path: 'pkg/mod.py', mode: 0o644, content: Buffer.from('x = 1\n') },
  ]), 120_000, 'the build of a context with empty files');
  assert.equal(r.status, '0', r.message);
  const out = await d.docker(['run', '--rm', 'fake:empty1', 'sh', '-c', 'wc -c /ctx/.gitkeep /ctx/pkg/__init__.py /ctx/pkg/mod.py; stat -c %a /ctx/pkg/__init__.py']);
  assert.equal(out.code, 0, out.stderr);
  assert.match(out.stdout, /^\s*0 \/ctx\/\.gitkeep\n\s*0 \/ctx\/pkg\/__init__\.py\n\s*6 \/ctx\/pkg\/mod\.py\n/);
  assert.match(out.stdout, /\n600\n$/);
});
