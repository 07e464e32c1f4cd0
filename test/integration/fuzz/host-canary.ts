/**
 * Canaries for "nothing outside the data root changes". Before fuzzing:
 * a directory the test owns (a secret file, a sub-directory the hostile
 * archives' symlinks point at, a FIFO), a directory binds may use, and a
 * fingerprint of the host: hashes and mtimes of /etc/passwd, /etc/group,
 * /etc/shadow, /etc/hosts, /etc/hostname and /etc/resolv.conf, the
 * top-level names of `/`, and any file named with the fuzzer's marker
 * under /, /etc, /tmp, /root and /var/tmp (hostile archives only ever try
 * to create files with that marker, which no one else uses; /tmp itself
 * changes all the time as other tests run, so only the marker counts).
 * After fuzzing, `compare` lists every difference, and `removeMarkers`
 * deletes what a breach created.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const MARKER = 'berth-fuzz-mark';
const HOST_FILES = ['/etc/passwd', '/etc/group', '/etc/shadow', '/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];
const MARKER_DIRS = ['/', '/etc', '/tmp', '/root', '/var/tmp', '/run'];

export interface Canary {
  /** The test-owned directory archives point at: secret.txt, target/, fifo, link-to-etc. */
  dir: string;
  /** The only host directory binds may name. */
  bindDir: string;
  /** A string that appears in no response unless berthd read the canary. */
  secret: string;
  secretFile: string;
  targetDir: string;
}

export type Snapshot = Map<string, string>;

async function fingerprintTree(root: string, out: Snapshot): Promise<void> {
  const walk = async (p: string): Promise<void> => {
    const st = await lstat(p);
    let what = `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs}`;
    if (st.isSymbolicLink()) what += ` -> ${await readlink(p)}`;
    else if (st.isFile()) what += ` ${createHash('sha256').update(await readFile(p)).digest('hex')}`;
    out.set(p, what);
    if (st.isDirectory()) for (const n of (await readdir(p)).sort()) await walk(join(p, n));
  };
  await walk(root);
}

export async function makeCanary(): Promise<Canary> {
  const dir = await mkdtemp('/tmp/berth-fuzz-canary-');
  const bindDir = await mkdtemp('/tmp/berth-fuzz-binds-');
  const secret = `berth-fuzz-secret-${randomBytes(12).toString('hex')}`;
  const secretFile = join(dir, 'secret.txt');
  const targetDir = join(dir, 'target');
  await writeFile(secretFile, `${secret}\n`, { mode: 0o600 });
  await mkdir(targetDir);
  await writeFile(join(targetDir, 'inner.txt'), `${secret} inner\n`);
  await symlink('/etc', join(dir, 'link-to-etc'));
  execFileSync('mkfifo', [join(dir, 'fifo')]);
  await mkdir(join(bindDir, 'sub'));
  await writeFile(join(bindDir, 'sub', 'file'), 'bind me\n');
  return { dir, bindDir, secret, secretFile, targetDir };
}

async function markersUnder(d: string): Promise<string[]> {
  const names = await readdir(d).catch(() => [] as string[]);
  return names.filter((n) => n.includes(MARKER)).map((n) => join(d, n));
}

export async function snapshot(c: Canary): Promise<Snapshot> {
  const s: Snapshot = new Map();
  await fingerprintTree(c.dir, s);
  for (const f of HOST_FILES) {
    const st = await stat(f).catch(() => undefined);
    if (!st) continue;
    s.set(f, `${st.mode.toString(8)} ${st.uid}:${st.gid} ${st.size} ${st.mtimeMs} ${createHash('sha256').update(await readFile(f)).digest('hex')}`);
  }
  for (const d of ['/', '/etc']) {
    const st = await stat(d);
    s.set(`${d} (mode)`, `${st.mode.toString(8)} ${st.uid}:${st.gid}`);
  }
  s.set('/ (names)', (await readdir('/')).sort().join(' '));
  for (const d of [...MARKER_DIRS, c.bindDir]) s.set(`${d} (marker files)`, (await markersUnder(d)).join(' '));
  return s;
}

/** What changed between two snapshots, one line each. */
export function compare(before: Snapshot, after: Snapshot): string[] {
  const out: string[] = [];
  for (const [k, v] of before) {
    const w = after.get(k);
    if (w === undefined) out.push(`${k}: gone (was ${v})`);
    else if (w !== v) out.push(`${k}: changed: ${v} → ${w}`);
  }
  for (const [k, v] of after) if (!before.has(k)) out.push(`${k}: new (${v})`);
  return out;
}

/** Deletes marker files a breach left on the host, and the canary directories. */
export async function removeCanary(c: Canary): Promise<void> {
  for (const d of MARKER_DIRS) for (const p of await markersUnder(d)) await rm(p, { recursive: true, force: true });
  await rm(c.dir, { recursive: true, force: true });
  await rm(c.bindDir, { recursive: true, force: true });
}
