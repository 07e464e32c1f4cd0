/**
 * One fuzz run from start to verdict: a private berthd with busybox, the
 * host canaries and their snapshot, the fixtures, the request loop with its
 * per-request checks until the time is up, then the expensive checks
 * (every record readable, host unchanged), clean-up, and the summary.
 */
import assert from 'node:assert/strict';
import { startDaemon, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import type { RawOutcome } from '../../helpers/raw-http.js';
import { fuzzConfig, type FuzzConfig } from './fuzz-config.js';
import { Findings } from './findings.js';
import { Fixtures } from './fixtures.js';
import { shareHostUsers } from '../../helpers/host-users-lock.js';
import { compare, makeCanary, removeCanary, snapshot, type Canary, type Snapshot } from './host-canary.js';
import { checkAlive, checkRecords, sendAndCheck, shapeBaseline, type CheckContext } from './invariants.js';
import { loadSpec, specPath } from './spec-model.js';
import { Rng } from './rng.js';
import type { SafetyContext } from './safety.js';
import type { FuzzRequest } from './wire.js';

export interface Session {
  name: string;
  cfg: FuzzConfig;
  d: Daemon;
  fx: Fixtures;
  canary: Canary;
  findings: Findings;
  check: CheckContext;
  safety: SafetyContext;
  before: Snapshot;
  /** Held from the first host fingerprint to the last: no test changes the host's users meanwhile. */
  releaseHostUsers: () => Promise<void>;
}

/** How often (in requests) fixtures are put back and the lists checked. */
const REFRESH_EVERY = 40;

export async function startSession(name: string, share: number): Promise<Session> {
  const cfg = fuzzConfig(name, share);
  const releaseHostUsers = await shareHostUsers();
  let canary: Canary;
  let before: Snapshot;
  let d: Daemon;
  try {
    canary = await makeCanary();
    before = await snapshot(canary);
  } catch (e) {
    await releaseHostUsers();
    throw e;
  }
  try {
    d = await startDaemon();
  } catch (e) {
    await removeCanary(canary);
    await releaseHostUsers();
    throw e;
  }
  const findings = new Findings();
  const fx = new Fixtures(d);
  const session: Session = {
    name, cfg, d, fx, canary, findings, before, releaseHostUsers,
    check: { d, findings, secret: canary.secret, pid: d.pid },
    safety: {
      bindDir: canary.bindDir,
      // `base=10.<octet>.0.0/16,size=24`
      poolOctet: d.net.pool.slice('base='.length).split('.')[1],
      safeSubnet: d.net.userSubnet(2),
      hostNetwork: fx.hostNetwork,
    },
  };
  try {
    await importBusybox(d);
    await fx.refresh();
    session.safety.hostNetwork = fx.hostNetwork;
    const spec = specPath() ? loadSpec() : undefined;
    if (spec) {
      session.check.spec = spec;
      session.check.shapeBaseline = await shapeBaseline(session.check);
      for (const b of session.check.shapeBaseline) findings.note(`berthd's own records differ from the spec before fuzzing: ${b}`);
    }
  } catch (e) {
    await d.stop();
    await removeCanary(canary);
    await releaseHostUsers();
    throw e;
  }
  return session;
}

export type Generator = (rng: Rng, index: number) => Promise<FuzzRequest[]> | FuzzRequest[];

/** Sends generated requests until the time is up; `after` sees each outcome (to learn ids). */
export async function runLoop(s: Session, gen: Generator, after?: (req: FuzzRequest, o: RawOutcome) => void | Promise<void>): Promise<void> {
  const deadline = Date.now() + s.cfg.seconds * 1000;
  for (let i = 1; Date.now() < deadline; i++) {
    if (i % REFRESH_EVERY === 0) {
      try {
        await s.fx.refresh();
        s.safety.hostNetwork = s.fx.hostNetwork;
      } catch (e) {
        s.findings.note(`fixture refresh failed: ${(e as Error).message.slice(0, 160)}`);
      }
      await checkRecords(s.check, false);
      await checkAlive(s.check, undefined, i);
    }
    const rng = Rng.forItem(s.cfg.seed, i);
    let reqs: FuzzRequest[];
    try {
      reqs = await gen(rng, i);
    } catch (e) {
      s.findings.note(`generator error: ${(e as Error).message.slice(0, 160)}`);
      continue;
    }
    while (reqs.length) {
      const req = reqs.shift()!;
      const o = await sendAndCheck(s.check, req, i);
      if (after) await after(req, o);
      if (req.then) reqs.unshift(...req.then(o));
    }
  }
}

/**
 * The end: every record inspected, everything the fuzzer made removed,
 * berthd stopped, the host compared with its snapshot. Resolves with the
 * summary; the failures are in `s.findings.failures`.
 */
export async function finishSession(s: Session): Promise<string> {
  const t0 = Date.now();
  let t1 = t0;
  let t2 = t0;
  try {
    await checkAlive(s.check, undefined, -1);
    await checkRecords(s.check, true);
    t1 = Date.now();
    for (const h of await s.fx.cleanup()) s.findings.fail('every request gets a status', `clean-up: ${h}`);
  } finally {
    t2 = Date.now();
    await s.d.stop();
  }
  const after = await snapshot(s.canary).finally(() => s.releaseHostUsers());
  for (const diff of compare(s.before, after)) s.findings.fail('nothing outside the data root changes', diff);
  await removeCanary(s.canary);
  s.findings.note(`end: records checked in ${((t1 - t0) / 1000).toFixed(1)} s, cleaned up in ${((t2 - t1) / 1000).toFixed(1)} s, berthd stopped in ${((Date.now() - t2) / 1000).toFixed(1)} s`);
  return s.findings.summary(s.name, s.cfg.seed);
}

/** Clean-up for a run that threw half-way. */
export async function abortSession(s: Session | undefined): Promise<void> {
  if (!s) return;
  await s.d.stop().catch(() => undefined);
  await removeCanary(s.canary).catch(() => undefined);
  await s.releaseHostUsers();
}

/**
 * One whole fuzzing session: started, `body` run against it, finished, and
 * its invariant failures asserted away (the summary is printed either way);
 * a session that throws half-way is cleaned up.
 */
export async function fuzzSession(name: string, share: number, body: (s: Session) => Promise<void>): Promise<void> {
  let s: Session | undefined;
  try {
    s = await startSession(name, share);
    await body(s);
  } catch (e) {
    await abortSession(s);
    throw e;
  }
  const summary = await finishSession(s);
  console.log(summary);
  assert.deepEqual(s.findings.failures.map((f) => `${f.invariant}: ${f.detail.split('\n')[0]}`), [], summary);
}
