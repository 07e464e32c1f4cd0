/**
 * `COPY --chown=<name>` looks the name up in the destination's /etc/passwd
 * and /etc/group, read by berthd from the image's layers — which RUN steps
 * and pulled images made. A `RUN truncate -s 64M /etc/passwd` (sparse: no
 * disk) had berthd read all of it into one string, up to the 2 GiB a read
 * allows. The look-up reads at most 4 MiB, as a container start's does
 * (runtime/user.ts), and refuses a bigger file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { skipUnlessRoot, startDaemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';

test('COPY --chown refuses a huge /etc/passwd instead of reading it', { skip: skipUnlessRoot(), timeout: 180_000 }, async (t) => {
  const d = await startDaemon();
  t.after(() => d.stop());
  await importBusybox(d);
  const ctx = await mkdtemp(join(tmpdir(), 'berth-chown-bound-'));
  t.after(() => rm(ctx, { recursive: true, force: true }));
  await writeFile(join(ctx, 'f'), 'x');

  // An ordinary /etc/passwd: the name resolves.
  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nCOPY --chown=app f /f\nRUN test "$(stat -c %U /f)" = app\n');
  const ok = await d.berth(['build', '-q', '-t', 'chown-ok', ctx], { timeoutMs: 120_000 });
  assert.equal(ok.code, 0, ok.stderr);

  await writeFile(join(ctx, 'Dockerfile'), 'FROM busybox\nRUN truncate -s 64M /etc/passwd\nCOPY --chown=app f /f\n');
  const big = await d.berth(['build', '-q', '-t', 'chown-big', ctx], { timeoutMs: 120_000 });
  assert.notEqual(big.code, 0, 'the build read a 64 MiB /etc/passwd');
  assert.match(big.stderr, /etc\/passwd is too large/);
});
