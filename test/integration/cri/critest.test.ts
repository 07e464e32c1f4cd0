/**
 * Issue 12: cri-tools' own validation suite (critest v1.29.0) against a
 * private berthd, on the specs berth passes today, so none of them slips
 * back. The whole suite (78 specs) takes minutes and needs images this
 * machine cannot fetch; this file runs the part that finishes well inside a
 * minute with one busybox-based image:
 *
 * - critest's default test image, registry.k8s.io/e2e-test-images/busybox:
 *   Debian's static busybox with its applets as hard links (critest masks
 *   /bin/ls and expects only `ls` gone, which a symlink to busybox would
 *   not give), and `pgrep` and `ipcs -m` of a few lines each (Debian's
 *   busybox has neither);
 *   imported under its real name and pushed to Debian's docker-registry
 *   under critest's `--registry-prefix` names (critest drops the tag when it
 *   rewrites a name for the prefix, so `:latest` too).
 *
 * Set CRITEST_FOCUS to run another part (e.g. '' for all).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, existsSync } from 'node:fs';
import { chmod, link, lstat, mkdir, readdir, readlink, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand, skipUnlessRoot, startDaemon, type Daemon } from '../../helpers/daemon.js';
import { makeBusyboxRootfs } from '../../helpers/busybox.js';
import { startDockerRegistry, type DockerRegistry } from '../../helpers/docker-registry.js';

const CRITEST = process.env.CRITEST ?? '/var/cache/berth-go-clients/critest';
const skip = skipUnlessRoot() || (existsSync(CRITEST) ? false : `no critest at ${CRITEST}: run shared/tools/build-go-clients.sh`);

const TEST_IMAGE = 'registry.k8s.io/e2e-test-images/busybox:1.29-2';

/**
 * The images, by critest's names, all on the one busybox layer: the default
 * test image, and web servers (busybox httpd) standing in for nginx and
 * Apache httpd on port 80; Apache's stand-in logs the command line the
 * multi-container specs look for in its log.
 */
const IMAGES: [string, string[]][] = [
  [TEST_IMAGE, ['CMD ["sh"]']],
  ['registry.k8s.io/e2e-test-images/nginx:1.14-2', ['ENTRYPOINT ["httpd", "-f", "-p", "80", "-h", "/www"]']],
  ['registry.k8s.io/e2e-test-images/httpd:2.4.39-4', [
    'ENTRYPOINT ["sh", "-c", "echo \\"Command line: \'httpd -D FOREGROUND\'\\" >&2; exec httpd -f -p 80 -h /www"]',
  ]],
  // The host-network web server of the streaming and networking specs listens on 12003.
  [`gcr.io/k8s-staging-cri-tools/hostnet-nginx-${process.arch === 'arm64' ? 'arm64' : 'amd64'}:latest`, ['ENTRYPOINT ["httpd", "-f", "-p", "12003", "-h", "/www"]']],
];

/** The specs berth passes (critest's names, matched as a regular expression). */
const FOCUS = process.env.CRITEST_FOCUS ?? [
  'PodSandbox runtime should support basic operations',
  'PodSandbox runtime should support sysctls',
  'Container runtime should support basic operations on container runtime should support (creating|starting|stopping|removing|execSync)',
  'Container runtime should support basic operations on container runtime should support listing',
  'Container runtime should support log',
  'Container runtime should support adding volume',
  'Runtime info',
  'Networking runtime should support networking runtime should support (DNS config|set hostname|port mapping)',
  'Multiple Containers',
  // Not MaskedPaths: Debian's busybox sh runs `ls` as a built-in applet, so a masked /bin/ls cannot show.
  'Security Context bucket runtime should support (RunAsUser|RunAsGroup|ReadOnlyRootfs|Privileged|adding|dropping|ReadonlyPaths)',
  'Security Context SeccompProfilePath',
  'Security Context NamespaceOption runtime should support (HostNetwork|HostIpc|PodPID)',
  // Exec, attach and port forwarding (pod and host network) through the streaming server.
  'Streaming runtime should support streaming interfaces',
].join('|');

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

/** A busybox root filesystem whose applets are hard links to /bin/busybox, plus pgrep. */
async function makeTestRootfs(dir: string): Promise<void> {
  await makeBusyboxRootfs(dir);
  for (const sub of ['bin', 'sbin', 'usr/bin', 'usr/sbin']) {
    for (const name of await readdir(join(dir, sub)).catch(() => [] as string[])) {
      const p = join(dir, sub, name);
      if (!(await lstat(p)).isSymbolicLink() || !(await readlink(p)).endsWith('busybox')) continue;
      await unlink(p);
      await link(join(dir, 'bin/busybox'), p);
    }
  }
  await mkdir(join(dir, 'www'), { recursive: true });
  await writeFile(join(dir, 'www/index.html'), '<h1>berth test web server</h1>\n');
  for (const [name, script] of [['pgrep', PGREP], ['ipcs', IPCS]]) {
    await writeFile(join(dir, 'bin', name), script);
    await chmod(join(dir, 'bin', name), 0o755);
  }
}

describe('critest against berthd', { skip }, () => {
  let d: Daemon;
  let reg: DockerRegistry;

  before(async () => {
    d = await startDaemon();
    const dir = join(d.tmpDir, 'critest');
    await mkdir(join(dir, 'registry'), { recursive: true });
    reg = await startDockerRegistry(join(dir, 'registry'));
    const rootfs = join(dir, 'rootfs');
    await makeTestRootfs(rootfs);
    const tar = join(dir, 'image.tar');
    const packed = await runCommand('tar', ['-C', rootfs, '--numeric-owner', '-cf', tar, '.']);
    assert.equal(packed.code, 0, packed.stderr);
    for (const [ref, changes] of IMAGES) {
      const colon = ref.lastIndexOf(':');
      const q = new URLSearchParams({ fromSrc: '-', repo: ref.slice(0, colon), tag: ref.slice(colon + 1) });
      for (const c of changes) q.append('changes', c);
      const res = await d.request('POST', `/images/create?${q}`, createReadStream(tar), { headers: { 'Content-Type': 'application/x-tar' }, timeoutMs: 120_000 });
      assert.equal(res.status, 200, ref);
    }
    for (const tag of ['1.29-2', 'latest']) {
      const name = `${reg.host}/e2e-test-images/busybox:${tag}`;
      assert.equal((await d.berth(['tag', TEST_IMAGE, name])).code, 0);
      const push = await d.berth(['push', name]);
      assert.equal(push.code, 0, push.stderr);
      assert.equal((await d.berth(['rmi', name])).code, 0);
    }
  });

  after(async () => {
    await reg?.stop();
    await d?.stop();
  });

  test('the specs berth passes', async () => {
    const sock = `unix://${d.execRoot}/cri.sock`;
    const r = await runCommand(CRITEST, [
      '--runtime-endpoint', sock, '--image-endpoint', sock, '--registry-prefix', reg.host,
      '-ginkgo.no-color', '-ginkgo.focus', FOCUS, '-ginkgo.timeout', '10m',
    ], { timeoutMs: 660_000, cwd: d.tmpDir });
    const summary = r.stdout.split('\n').filter((l) => /^\s*\[FAIL\]|^Ran \d+ of \d+ Specs|Passed \|/.test(l)).join('\n');
    process.stderr.write(`critest: ${summary}\n`);
    assert.equal(r.code, 0, `critest failed:\n${summary}\n${r.stdout.slice(-6000)}\n--- berthd:\n${d.logs().slice(-3000)}`);
    assert.match(summary, /SUCCESS|0 Failed/);
  });
});
