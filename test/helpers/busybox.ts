/**
 * busybox test images without Docker Hub: a root filesystem made by
 * scripts/make-busybox-rootfs.sh from Debian's busybox-static, packed once
 * per machine into a tar under /var/tmp/berth-test-cache/ and imported into
 * each test daemon.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scriptsDir } from './paths.js';
import type { Daemon } from './daemon.js';

export const BUSYBOX_CACHE_DIR = '/var/tmp/berth-test-cache';
export const MAKE_BUSYBOX_ROOTFS = join(scriptsDir, 'make-busybox-rootfs.sh');
/** Like the busybox image on Docker Hub: `docker run -it busybox` gives a shell. */
export const BUSYBOX_CHANGES = ['CMD ["sh"]'];

function run(file: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${[file, ...args].join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

/**
 * Writes a busybox root filesystem into `dir` (created if missing): the
 * static busybox with its applet links, /etc/passwd and /etc/group with
 * root, app (1000) and nobody, /tmp (1777), /root, /home/app. Needs root.
 */
export async function makeBusyboxRootfs(dir: string): Promise<void> {
  await run('bash', [MAKE_BUSYBOX_ROOTFS, dir]);
}

/**
 * Path of a tar of the busybox root filesystem, built on first use and kept
 * in /var/tmp/berth-test-cache/. Its name carries a hash of the busybox
 * binary and of the script, so changing either builds a new one. The tar is
 * reproducible (sorted names, fixed mtime, numeric owners), so importing it
 * twice gives the same layer digest.
 */
export async function busyboxTar(): Promise<string> {
  const hash = createHash('sha256');
  hash.update(await readFile('/bin/busybox'));
  hash.update(await readFile(MAKE_BUSYBOX_ROOTFS));
  hash.update('tar-v1');
  const tarPath = join(BUSYBOX_CACHE_DIR, `busybox-${hash.digest('hex').slice(0, 16)}.tar`);
  if (await stat(tarPath).then((s) => s.isFile(), () => false)) return tarPath;

  await mkdir(BUSYBOX_CACHE_DIR, { recursive: true });
  const work = await mkdtemp(join(BUSYBOX_CACHE_DIR, 'build-'));
  try {
    const rootfs = join(work, 'rootfs');
    await makeBusyboxRootfs(rootfs);
    const tmpTar = join(work, 'busybox.tar');
    await run('tar', [
      '-C', rootfs, '--format=ustar', '--sort=name', '--mtime=@1704067200', '--numeric-owner', '-cf', tmpTar, '.',
    ]);
    // Another test file may be building the same tar: rename is atomic, and both are identical.
    await rename(tmpTar, tarPath);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return tarPath;
}

/**
 * Imports the busybox tar into `d` as `ref` through the API (POST
 * /images/create?fromSrc=-), independent of the CLI. Resolves with the
 * image id.
 */
export async function importBusybox(
  d: Pick<Daemon, 'request'>,
  ref = 'busybox:latest',
  changes: string[] = BUSYBOX_CHANGES,
): Promise<string> {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  const [repo, tag] = colon > slash ? [ref.slice(0, colon), ref.slice(colon + 1)] : [ref, 'latest'];
  const q = new URLSearchParams({ fromSrc: '-', repo, tag });
  for (const c of changes) q.append('changes', c);
  const res = await d.request('POST', `/images/create?${q}`, createReadStream(await busyboxTar()), {
    headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 120_000,
  });
  if (res.status !== 200) throw new Error(`importing busybox as ${ref}: ${res.status} ${res.text.trim()}`);
  let id = '';
  for (const line of res.text.split(/\r?\n/).filter(Boolean)) {
    const msg = JSON.parse(line) as { status?: string; error?: string };
    if (msg.error) throw new Error(`importing busybox as ${ref}: ${msg.error}`);
    if (msg.status?.startsWith('sha256:')) id = msg.status;
  }
  if (!id) throw new Error(`importing busybox as ${ref}: no image id in the response: ${res.text.slice(0, 500)}`);
  return id;
}

/**
 * Builds `ref` from busybox (imported first if `base` is missing) plus host
 * files copied in: `files` maps a path in the image to a file on the host.
 * Goes through `berth build` (a `FROM` + `COPY` Dockerfile), not `cp`, so
 * tests of `cp` can make their images without the code under test.
 */
export async function buildBusyboxWith(
  d: Pick<Daemon, 'request' | 'berth'>, ref: string, files: Record<string, string>, base = 'busybox:latest',
): Promise<void> {
  if ((await d.request('GET', `/images/${encodeURIComponent(base)}/json`)).status === 404) await importBusybox(d, base);
  const ctx = await mkdtemp(join(tmpdir(), 'berth-test-ctx-'));
  try {
    const lines = [`FROM ${base}`];
    let i = 0;
    for (const [inImage, host] of Object.entries(files)) {
      const name = `f${i++}`;
      await copyFile(host, join(ctx, name));
      lines.push(`COPY ${name} ${inImage}`);
    }
    await writeFile(join(ctx, 'Dockerfile'), lines.join('\n') + '\n');
    const r = await d.berth(['build', '-q', '-t', ref, ctx], { timeoutMs: 120_000 });
    if (r.code !== 0) throw new Error(`building ${ref}: ${r.stderr.trim()}`);
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}
