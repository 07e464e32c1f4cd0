/**
 * The images critest v1.29 (cri-tools pkg/validate) pulls, made offline on
 * busybox and pushed into a registry that stands in for registry.k8s.io
 * and gcr.io (berthd and containerd reach it as a mirror of both, so the
 * images keep their real names, which the Image Manager specs compare).
 * Each image has what its specs look at:
 *
 * - e2e-test-images/busybox:1.29-2, critest's default image: Debian's
 *   static busybox with its applets as hard links (MaskedPaths masks
 *   /bin/ls; a symlink would mask busybox itself) and /bin/sh Debian's
 *   dynamically linked busybox with its libraries: the static build runs
 *   `ls` inside the shell without exec, so a masked /bin/ls could not show
 *   ("/bin/sh: ls: Permission denied"); plus `pgrep` and `ipcs -m` of a few
 *   lines each (Debian's busybox has neither), and www-data and nobody in
 *   /etc/passwd as in the real image.
 * - e2e-test-images/nginx:1.14-2: nginx.c, a process named nginx with
 *   nginx's master-process title and pid file, serving HTML on port 80.
 * - e2e-test-images/httpd:2.4.39-4: busybox httpd on port 80 that logs the
 *   command line the multi-container specs look for.
 * - e2e-test-images/nonewprivs:1.3: nnp.c, setuid root, printing its
 *   effective uid.
 * - k8s-staging-cri-tools/test-image-*: distinct images per repository
 *   (a label), tags of one repository on one image, `USER` as cri-tools'
 *   images/build sets it; test-image-predefined-group with default-user
 *   (1000) in group 50000; hostnet-nginx-<arch> serving on port 12003.
 *
 * Not made: test-image-digest@sha256:9700f9a2…, whose manifest only the
 * real gcr.io holds (no image made here can have that digest).
 */
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, readdir, readlink, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { makeBusyboxRootfs, BUSYBOX_CACHE_DIR } from './busybox.js';
import { repoRoot } from './paths.js';
import type { Daemon } from './daemon.js';

const E2E = 'registry.k8s.io/e2e-test-images';
const STAGING = 'gcr.io/k8s-staging-cri-tools';
const ARCH = ({ x64: 'amd64', arm64: 'arm64', arm: 'arm', ppc64: 'ppc64le', s390x: 's390x' } as Record<string, string>)[process.arch] ?? process.arch;
const SOURCES = join(repoRoot, 'test', 'helpers', 'critest-images');

/** Which root filesystem an image is made of. */
type Rootfs = 'busybox' | 'predefined-group';

interface CritestImage {
  /** Repository with its registry, as critest names it. */
  repo: string;
  tags: string[];
  rootfs: Rootfs;
  /** Dockerfile instructions for the image config (import's `changes`). */
  changes: string[];
}

const stagingImage = (name: string, tags: string[], changes: string[] = [], rootfs: Rootfs = 'busybox'): CritestImage => ({
  // The label makes each repository its own image (cri-tools ADDs a file named after it).
  repo: `${STAGING}/${name}`, tags, rootfs, changes: ['CMD ["sh"]', `LABEL io.berth.critest.image=${name}`, ...changes],
});

/** Every image's config has PATH, as images built FROM busybox do (containerd adds none of its own). */
const PATH_ENV = 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const CRITEST_IMAGES: CritestImage[] = [
  { repo: `${E2E}/busybox`, tags: ['1.29-2'], rootfs: 'busybox', changes: ['CMD ["sh"]'] },
  { repo: `${E2E}/nginx`, tags: ['1.14-2'], rootfs: 'busybox', changes: ['CMD ["/usr/sbin/nginx"]', 'EXPOSE 80'] },
  {
    repo: `${E2E}/httpd`, tags: ['2.4.39-4'], rootfs: 'busybox',
    changes: ['ENTRYPOINT ["sh", "-c", "echo \\"Command line: \'httpd -D FOREGROUND\'\\" >&2; exec httpd -f -p 80 -h /usr/share/nginx/html"]', 'EXPOSE 80'],
  },
  { repo: `${E2E}/nonewprivs`, tags: ['1.3'], rootfs: 'busybox', changes: ['CMD ["/usr/local/bin/nnp"]'] },
  stagingImage('test-image-latest', ['latest']),
  stagingImage('test-image-tag', ['test', 'all']),
  stagingImage('test-image-1', ['latest']),
  stagingImage('test-image-2', ['latest']),
  stagingImage('test-image-3', ['latest']),
  stagingImage('test-image-tags', ['1', '2', '3']),
  stagingImage('test-image-user-uid', ['latest'], ['USER 1002']),
  stagingImage('test-image-user-username', ['latest'], ['USER www-data']),
  stagingImage('test-image-user-uid-group', ['latest'], ['USER 1003:1004']),
  stagingImage('test-image-user-username-group', ['latest'], ['USER www-data:1004']),
  stagingImage('test-image-predefined-group', ['latest'], ['USER 1000'], 'predefined-group'),
  stagingImage(`hostnet-nginx-${ARCH}`, ['latest'], ['ENTRYPOINT ["httpd", "-f", "-p", "12003", "-h", "/usr/share/nginx/html"]']),
  // Not critest's: the pod sandbox image containerd 1.6 runs (berth makes its own), for the reference count.
  {
    repo: 'registry.k8s.io/pause', tags: ['3.6'], rootfs: 'busybox',
    changes: ['ENTRYPOINT ["sh", "-c", "trap \'exit 0\' TERM INT; while :; do sleep 3600 & wait $!; done"]'],
  },
];

/** The registries the images are named after: each is mirrored to the one registry holding them. */
export const CRITEST_REGISTRIES = ['registry.k8s.io', 'gcr.io'];

const PGREP = `#!/bin/sh
# pgrep NAME: the pids of the processes called NAME (Debian's busybox has no pgrep).
found=1
for d in /proc/[0-9]*; do
  if [ "$(cat "$d/comm" 2>/dev/null)" = "$1" ]; then echo "\${d#/proc/}"; found=0; fi
done
exit $found
`;

const IPCS = `#!/bin/sh
# ipcs -m: the shared memory segments of this IPC namespace (Debian's busybox has no ipcs).
cat /proc/sysvipc/shm
`;

/** /etc/passwd and /etc/group of the busybox image on Docker Hub (the e2e image's base), which has www-data. */
const PASSWD = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`;
const GROUP = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
wheel:x:10:root
mail:x:12:
www-data:x:33:
operator:x:37:
users:x:100:
nogroup:x:65534:
`;

function run(file: string, args: string[], cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${[file, ...args].join(' ')} failed: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

const exists = (p: string) => stat(p).then(() => true, () => false);

/**
 * Debian's dynamically linked busybox (package `busybox`, which conflicts
 * with the installed busybox-static, so it is only downloaded and
 * unpacked, once, into the test cache). Undefined when apt cannot fetch it:
 * the image then keeps the static shell and the MaskedPaths spec fails.
 */
async function dynamicBusybox(log: (msg: string) => void): Promise<string | undefined> {
  const dir = join(BUSYBOX_CACHE_DIR, 'busybox-dynamic');
  const bin = join(dir, 'root', 'bin', 'busybox');
  if (await exists(bin)) return bin;
  try {
    await mkdir(dir, { recursive: true });
    await run('apt-get', ['download', 'busybox'], dir);
    const deb = (await readdir(dir)).find((f) => f.startsWith('busybox_') && f.endsWith('.deb'));
    if (!deb) throw new Error('apt-get download busybox left no .deb');
    await run('dpkg', ['-x', join(dir, deb), join(dir, 'root')]);
    return bin;
  } catch (e) {
    log(`no dynamically linked busybox (${(e as Error).message}); /bin/sh stays the static one`);
    return undefined;
  }
}

/** Copies `binary` to `dest` in `rootfs` with the shared libraries `ldd` names, at the same paths. */
async function installWithLibraries(rootfs: string, binary: string, dest: string): Promise<void> {
  await rm(join(rootfs, dest), { force: true });
  await copyFile(binary, join(rootfs, dest));
  await chmod(join(rootfs, dest), 0o755);
  for (const m of (await run('ldd', [binary])).matchAll(/(\/\S+) \(0x/g)) {
    // Debian's /lib is a symlink to /usr/lib; in the image the path is a real directory.
    const target = join(rootfs, m[1]);
    if (await exists(target)) continue;
    await mkdir(dirname(target), { recursive: true });
    await copyFile(m[1], target);
  }
}

async function compile(source: string, out: string): Promise<void> {
  await run('gcc', ['-static', '-O2', '-o', out, join(SOURCES, source)]);
}

/** Writes the root filesystem `kind` into `dir`. */
async function makeRootfs(dir: string, kind: Rootfs, log: (msg: string) => void): Promise<void> {
  await makeBusyboxRootfs(dir);
  for (const sub of ['bin', 'sbin', 'usr/bin', 'usr/sbin']) {
    for (const name of await readdir(join(dir, sub)).catch(() => [] as string[])) {
      const p = join(dir, sub, name);
      if (!(await lstat(p)).isSymbolicLink() || !(await readlink(p)).endsWith('busybox')) continue;
      await unlink(p);
      await link(join(dir, 'bin/busybox'), p);
    }
  }
  const sh = await dynamicBusybox(log);
  if (sh) await installWithLibraries(dir, sh, 'bin/sh');
  for (const [name, script] of [['pgrep', PGREP], ['ipcs', IPCS]]) {
    await writeFile(join(dir, 'bin', name), script, { mode: 0o755 });
  }
  await mkdir(join(dir, 'usr/share/nginx/html'), { recursive: true });
  await writeFile(join(dir, 'usr/share/nginx/html/index.html'), '<h1>Welcome to a berth stand-in for nginx</h1>\n');
  await mkdir(join(dir, 'var/run'), { recursive: true });
  await mkdir(join(dir, 'usr/local/bin'), { recursive: true });
  await compile('nginx.c', join(dir, 'usr/sbin/nginx'));
  await compile('nnp.c', join(dir, 'usr/local/bin/nnp'));
  await chmod(join(dir, 'usr/local/bin/nnp'), 0o4755);
  if (kind === 'predefined-group') {
    // cri-tools' images/image-predefined-group: adduser -u 1000 default-user, addgroup -g 50000, USER 1000.
    await writeFile(join(dir, 'etc/passwd'), `${PASSWD}default-user:x:1000:1000::/home/default-user:/bin/sh\n`);
    await writeFile(join(dir, 'etc/group'), `${GROUP}default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n`);
  } else {
    await writeFile(join(dir, 'etc/passwd'), PASSWD);
    await writeFile(join(dir, 'etc/group'), GROUP);
  }
}

/**
 * Makes every image in `d` under `registryHost` (the mirror's names: the
 * repository's path without its registry), pushes it there, and removes
 * the local names again. `work` holds the root filesystems while it runs.
 */
export async function fillCritestRegistry(
  d: Pick<Daemon, 'request'>, registryHost: string, work: string, log: (msg: string) => void = () => undefined,
): Promise<void> {
  const tars = new Map<Rootfs, string>();
  for (const kind of new Set(CRITEST_IMAGES.map((i) => i.rootfs))) {
    const dir = join(work, `rootfs-${kind}`);
    await makeRootfs(dir, kind, log);
    const tar = join(work, `${kind}.tar`);
    await run('tar', ['-C', dir, '--numeric-owner', '-cf', tar, '.']);
    await rm(dir, { recursive: true, force: true });
    tars.set(kind, tar);
  }
  for (const img of CRITEST_IMAGES) {
    const target = `${registryHost}/${img.repo.slice(img.repo.indexOf('/') + 1)}`;
    const q = new URLSearchParams({ fromSrc: '-', repo: target, tag: img.tags[0] });
    for (const c of [PATH_ENV, ...img.changes]) q.append('changes', c);
    const res = await d.request('POST', `/images/create?${q}`, createReadStream(tars.get(img.rootfs)!), {
      headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 120_000,
    });
    if (res.status !== 200 || /"error"/.test(res.text)) throw new Error(`importing ${target}: ${res.status} ${res.text.slice(0, 500)}`);
    for (const tag of img.tags) {
      if (tag !== img.tags[0]) {
        const t = await d.request('POST', `/images/${target}:${img.tags[0]}/tag?${new URLSearchParams({ repo: target, tag })}`);
        if (t.status !== 201) throw new Error(`tagging ${target}:${tag}: ${t.status} ${t.text}`);
      }
      const push = await d.request('POST', `/images/${target}/push?tag=${encodeURIComponent(tag)}`, undefined, { timeoutMs: 120_000 });
      if (push.status !== 200 || /"error"/.test(push.text)) throw new Error(`pushing ${target}:${tag}: ${push.status} ${push.text.slice(0, 500)}`);
    }
    for (const tag of img.tags) {
      const rmi = await d.request('DELETE', `/images/${target}:${tag}`);
      if (rmi.status !== 200) throw new Error(`removing ${target}:${tag}: ${rmi.status} ${rmi.text}`);
    }
    log(`${img.repo}:${img.tags.join(',')} → ${target}`);
  }
}
