#!/usr/bin/env node
// Runs berth's compiled test suite: `npm test` = `npm run build && node scripts/run-tests.mjs`.
//
//   node scripts/run-tests.mjs [unit|integration|e2e|helpers]... [PATH-SUBSTRING]...
//
// Unit tests run first, then the test helpers' own tests, integration and
// end-to-end tests, each phase as one `node --test --test-concurrency=2
// --test-reporter=spec --test-timeout=<per-file limit>` over
// dist/test/<suite>/**/*.test.js. Around the run it checks the host for what
// berth leaves behind (mounts, conmon/runtime/berthd/aardvark processes,
// container cgroups, network namespaces, bridges and veths, netavark's
// iptables rules, test directories): leftovers present before
// are only reported, new ones fail the run. The last line printed is the
// summary, e.g. `berth tests: 123 passed, 0 failed, 4 skipped in 312 s`.
//
// Environment: BERTH_TEST_TIMEOUT (seconds per test file; default 120 for
// unit, 900 for the rest), BERTH_TEST_CONCURRENCY (default 2).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';

const root = fileURLToPath(new URL('..', import.meta.url));
const dist = join(root, 'dist', 'test');
const started = Date.now();

const PHASES = [
  { name: 'unit', suites: ['unit'], timeoutS: 120 },
  { name: 'integration and e2e', suites: ['helpers', 'integration', 'e2e'], timeoutS: 900 },
];
const SUITES = PHASES.flatMap((p) => p.suites);

function fail(msg) {
  process.stderr.write(`run-tests: ${msg}\n`);
  process.exit(1);
}

// ---- arguments --------------------------------------------------------------
const args = process.argv.slice(2);
if (args.includes('-h') || args.includes('--help')) {
  process.stdout.write('usage: node scripts/run-tests.mjs [unit|integration|e2e|helpers]... [PATH-SUBSTRING]...\n');
  process.exit(0);
}
const wantedSuites = args.filter((a) => SUITES.includes(a));
const unitOnly = wantedSuites.length > 0 && wantedSuites.every((s) => s === 'unit');

// Unit tests are pure logic; everything else needs root.
if (process.getuid?.() !== 0 && !unitOnly) {
  fail('berth\'s tests must run as root: they mount overlays, create namespaces and cgroups, and run\n'
    + 'conmon, runc and crun against a private berthd. Run `sudo npm test`\n'
    + '(or `node scripts/run-tests.mjs unit` for the unit tests alone).');
}
if (!existsSync(dist)) fail(`no compiled tests in ${relative(root, dist)}: run \`npm test\` (it builds first) or \`npm run build\``);
const patterns = args.filter((a) => !SUITES.includes(a));
const concurrency = Number(process.env.BERTH_TEST_CONCURRENCY ?? 2) || 2;

function findTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findTests(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}

/** dist/test/unit/x.test.js → test/unit/x.test.ts, the name people know. */
const sourceName = (file) => relative(join(root, 'dist'), file).replace(/\.js$/, '.ts');

const plan = PHASES.map((phase) => {
  const suites = phase.suites.filter((s) => wantedSuites.length === 0 || wantedSuites.includes(s));
  const files = suites.flatMap((s) => findTests(join(dist, s)))
    .filter((f) => patterns.length === 0 || patterns.some((p) => f.includes(p) || sourceName(f).includes(p)));
  return { ...phase, files };
}).filter((p) => p.files.length > 0);
if (plan.length === 0) fail(`no test files match ${args.join(' ') || '(everything)'} under ${relative(root, dist)}`);

// ---- host leftovers ---------------------------------------------------------
let host = null;
try {
  host = await import(pathToFileURL(join(dist, 'helpers', 'host.js')).href);
} catch (e) {
  process.stderr.write(`run-tests: cannot load dist/test/helpers/host.js, so leftovers cannot be checked: ${e.message}\n`);
}
const before = host ? await host.hostLeftovers() : null;
if (host && !host.isClean(before)) {
  process.stdout.write('run-tests: this host already has berth leftovers (not counted against this run):\n'
    + host.formatLeftovers(before, '  ') + '\n\n');
}

// ---- phases -----------------------------------------------------------------
// Tests start many `node` processes (berth, berthd); a CA bundle in
// NODE_EXTRA_CA_CERTS triples Node's start-up time and the tests reach no TLS
// server, so drop it.
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;

const totals = { tests: 0, pass: 0, fail: 0, cancelled: 0, skipped: 0, todo: 0 };
const problems = [];

function runPhase(phase) {
  const timeoutS = Number(process.env.BERTH_TEST_TIMEOUT ?? phase.timeoutS) || phase.timeoutS;
  const argv = [
    '--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec',
    `--test-timeout=${timeoutS * 1000}`, ...phase.files,
  ];
  process.stdout.write(`\n── ${phase.name}: ${phase.files.length} file(s), ${timeoutS} s per file ──\n`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, argv, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const counts = {};
    let pending = '';
    const scan = (line) => {
      const m = /^ℹ (tests|pass|fail|cancelled|skipped|todo|duration_ms) ([\d.]+)$/.exec(line.trim());
      if (m) counts[m[1]] = Number(m[2]);
    };
    child.stdout.on('data', (b) => {
      process.stdout.write(b);
      const text = pending + b.toString('utf8');
      const lines = text.split('\n');
      pending = lines.pop() ?? '';
      lines.forEach(scan);
    });
    child.stderr.on('data', (b) => process.stderr.write(b));
    child.on('close', (code, signal) => {
      scan(pending);
      if (counts.tests === undefined) {
        problems.push(`${phase.name}: node --test ended (${signal ?? `exit code ${code}`}) without a summary`);
        totals.fail += 1;
      } else {
        for (const k of Object.keys(totals)) totals[k] += counts[k] ?? 0;
        if (code !== 0 && !(counts.fail || counts.cancelled)) {
          problems.push(`${phase.name}: node --test exited with ${signal ?? code} although no test failed`);
        }
      }
      resolve();
    });
  });
}

let interrupted = false;
process.on('SIGINT', () => { interrupted = true; });
for (const phase of plan) {
  if (interrupted) break;
  await runPhase(phase);
}

// ---- report -----------------------------------------------------------------
let leaked = null;
if (host) {
  leaked = host.subtractLeftovers(await host.hostLeftovers(), before);
  if (!host.isClean(leaked)) {
    await sleep(2000); // conmon and runtimes may still be exiting
    leaked = host.subtractLeftovers(await host.hostLeftovers(), before);
  }
}
const seconds = Math.round((Date.now() - started) / 1000);
const out = process.stdout;
out.write('\n');
if (leaked && !host.isClean(leaked)) {
  out.write('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n');
  out.write('!!  THE TESTS LEFT THESE BEHIND ON THE HOST (a test or berth does not clean up):\n');
  out.write(host.formatLeftovers(leaked, '!!    ') + '\n');
  out.write('!!  Clean up: umount -l <mount>; kill <pid>; rmdir <cgroup>; ip netns del <netns>; ip link del <bridge>;\n');
  out.write('!!  iptables -t <table> -D <rule> / -X <chain>; rm -rf /run/bt-* /tmp/berth-test-*\n');
  out.write('!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\n');
}
if (!host) problems.push('leftovers were not checked (dist/test/helpers/host.js did not load)');
for (const p of problems) out.write(`run-tests: ${p}\n`);
if (interrupted) out.write('run-tests: interrupted\n');

const failed = totals.fail + totals.cancelled;
const leakCount = leaked && !host.isClean(leaked)
  ? host.leftoverCount(leaked)
  : 0;
const extras = [
  totals.cancelled ? `${totals.cancelled} of them cancelled or timed out` : '',
  totals.todo ? `${totals.todo} todo` : '',
  leakCount ? `${leakCount} leftover(s) on the host` : '',
].filter(Boolean);
out.write(`berth tests: ${totals.pass} passed, ${failed} failed, ${totals.skipped} skipped in ${seconds} s`
  + (extras.length ? ` (${extras.join(', ')})` : '') + '\n');
process.exit(failed > 0 || leakCount > 0 || problems.length > 0 || interrupted ? 1 : 0);
