#!/usr/bin/env node
// Testing a distributed system with berth: a 3-member etcd cluster (Debian's
// etcd-server, packed with `berth image micro`), clients writing through every
// member (increments and compare-and-swap, linearizable reads) and recording a
// history, a nemesis schedule (`berth fault run`) that partitions the leader
// away, heals, loses 30% of a follower's packets, delays a member and pauses a
// follower — and `berth fault check` on the history.
//
//   node examples/etcd-partition/run.mjs [--broken] [--out DIR] [--seed N]
//
// --broken: the client acknowledges a write when it sends it, before etcd has
// committed it — a broken "database" the checker must catch (exit status 1).
// BERTH: the berth command as a JSON array (default ["berth"]), e.g. with -H.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const broken = args.includes('--broken');
const outDir = args.includes('--out') ? args[args.indexOf('--out') + 1] : `/tmp/etcd-partition-${process.pid}`;
const seed = args.includes('--seed') ? Number(args[args.indexOf('--seed') + 1]) : 1;
const BERTH = process.env.BERTH ? JSON.parse(process.env.BERTH) : ['berth'];
const MEMBERS = ['etcdpart1', 'etcdpart2', 'etcdpart3'];
const NET = 'etcdpart';
const IMAGE = 'berth-example/etcd:micro';
const ELECTION_MS = 1000;

mkdirSync(outDir, { recursive: true });
const berth = (a, opts = {}) => execFileSync(BERTH[0], [...BERTH.slice(1), ...a], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts });
const quiet = (a) => { try { berth(a); } catch { /* already gone */ } };
const b64 = (s) => Buffer.from(String(s)).toString('base64');
const unb64 = (s) => Buffer.from(s, 'base64').toString('utf8');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let rand = seed >>> 0;
const random = () => { rand = (rand * 1664525 + 1013904223) >>> 0; return rand / 2 ** 32; }; // a seeded LCG

let cleaned = false;
function cleanup() {
  cleaned = true;
  quiet(['rm', '-f', ...MEMBERS]);
  quiet(['network', 'rm', NET]);
}
// Whatever ends the run (an error, Ctrl-C: the nemesis, in the same process group, undoes its faults itself), the cluster goes.
process.on('exit', () => { if (!cleaned) cleanup(); });
process.on('SIGINT', () => process.exit(130));

// --- the cluster -------------------------------------------------------------
cleanup();
berth(['image', 'micro', '-t', IMAGE, '/usr/bin/etcd']);
berth(['network', 'create', NET]);
const cluster = MEMBERS.map((m) => `${m}=http://${m}:2380`).join(',');
for (const m of MEMBERS) {
  berth(['run', '-d', '--name', m, '--network', NET, '--tmpfs', '/data', IMAGE,
    '--name', m, '--data-dir', '/data', '--heartbeat-interval', '100', '--election-timeout', String(ELECTION_MS),
    '--listen-client-urls', 'http://0.0.0.0:2379', '--advertise-client-urls', `http://${m}:2379`,
    '--listen-peer-urls', 'http://0.0.0.0:2380', '--initial-advertise-peer-urls', `http://${m}:2380`,
    '--initial-cluster', cluster, '--initial-cluster-state', 'new', '--initial-cluster-token', NET]);
}
const ip = Object.fromEntries(MEMBERS.map((m) => [m, berth(['inspect', '-f', `{{.NetworkSettings.Networks.${NET}.IPAddress}}`, m]).trim()]));

async function call(member, path, body, timeoutMs = 1000) {
  const res = await fetch(`http://${ip[member]}:2379/v3/${path}`, { method: 'POST', body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  const json = await res.json();
  if (!res.ok || json.error) throw new Error(json.error ?? json.message ?? `status ${res.status}`);
  return json;
}

const t0 = Date.now();
const now = () => Date.now() - t0;
const history = [{ type: 'config', electionTimeoutMs: ELECTION_MS }];
const record = (r) => history.push({ ...r, time: now() });

// Member IDs to names, and a leader before anything starts.
let names = {};
let leader;
for (let i = 0; i < 100 && !leader; i++) {
  try {
    const list = await call(MEMBERS[0], 'cluster/member/list', {});
    names = Object.fromEntries(list.members.map((x) => [x.ID, x.name]));
    leader = names[(await call(MEMBERS[0], 'maintenance/status', {})).leader];
  } catch { await sleep(200); }
}
if (!leader) { cleanup(); throw new Error('the cluster never elected a leader'); }

// --- the nemesis ---------------------------------------------------------------
const followers = MEMBERS.filter((m) => m !== leader);
const schedule = {
  seed, end: '19s',
  steps: [
    { at: '2s', fault: 'partition', target: leader, peers: followers, for: '5s' },
    { at: '8s', fault: 'loss', target: { oneOf: followers }, probability: '30%', direction: 'both', for: '3s' },
    { at: '12s', fault: 'delay', target: { oneOf: MEMBERS }, delay: '100ms', for: '3s' },
    { at: '16s', fault: 'pause', target: { oneOf: followers }, for: '2s' },
  ],
};
writeFileSync(join(outDir, 'schedule.json'), JSON.stringify(schedule, null, 2));
const nemesis = spawn(BERTH[0], [...BERTH.slice(1), 'fault', 'run', join(outDir, 'schedule.json')], { stdio: ['ignore', 'pipe', 'inherit'] });
let nemesisLog = '';
nemesis.stdout.on('data', (chunk) => {
  nemesisLog += chunk;
  for (const line of String(chunk).split('\n')) {
    const m = /^(\S+) (apply|undo) (\w+) (\S+)/.exec(line);
    if (!m) continue;
    const time = Date.parse(m[1]) - t0;
    if (m[3] === 'partition') history.push({ type: 'nemesis', f: m[2] === 'apply' ? 'partition-start' : 'partition-end', isolated: [m[4]], time });
    else history.push({ type: 'nemesis', f: `${m[3]}-${m[2] === 'apply' ? 'start' : 'end'}`, member: m[4], time });
  }
});
const nemesisDone = new Promise((r) => nemesis.once('close', r));
let running = true;
void nemesisDone.then(() => { running = false; });

// --- the clients ---------------------------------------------------------------
const COUNTERS = ['c0', 'c1'];
const CAS_KEYS = ['k0'];

async function range(member, key, serializable = false) {
  const r = await call(member, 'kv/range', { key: b64(key), serializable });
  const kv = r.kvs?.[0];
  return { value: kv ? unb64(kv.value) : undefined, modRevision: kv ? kv.mod_revision : '0' };
}

async function txnSwap(member, key, modRevision, value) {
  const r = await call(member, 'kv/txn', {
    compare: [{ key: b64(key), target: 'MOD', result: 'EQUAL', mod_revision: modRevision }],
    success: [{ request_put: { key: b64(key), value: b64(value) } }],
  });
  return { succeeded: r.succeeded === true, revision: Number(r.header.revision) };
}

async function worker(process_, member) {
  while (running) {
    const pick = random();
    if (pick < 0.5) {
      const key = COUNTERS[Math.floor(random() * COUNTERS.length)];
      record({ type: 'invoke', process: process_, f: 'incr', key, member });
      let phase = 'read';
      try {
        let done = false;
        for (let attempt = 0; attempt < 5 && !done; attempt++) {
          phase = 'read';
          const cur = await range(member, key);
          const next = (Number(cur.value ?? 0)) + 1;
          phase = 'write';
          if (broken) record({ type: 'ok', process: process_, f: 'incr', key, value: next, member });
          const r = await txnSwap(member, key, cur.modRevision, next);
          if (r.succeeded) {
            if (!broken) record({ type: 'ok', process: process_, f: 'incr', key, value: next, revision: r.revision, member });
            done = true;
          } else if (broken) {
            done = true; // already acknowledged
          }
        }
        if (!done) record({ type: 'fail', process: process_, f: 'incr', key, member });
      } catch {
        if (!broken) record({ type: phase === 'read' ? 'fail' : 'info', process: process_, f: 'incr', key, member });
        else if (phase === 'read') record({ type: 'fail', process: process_, f: 'incr', key, member });
      }
    } else if (pick < 0.75) {
      const key = CAS_KEYS[0];
      const value = `${process_}-${history.length}`;
      record({ type: 'invoke', process: process_, f: 'cas', key, value, member });
      let phase = 'read';
      try {
        const cur = await range(member, key);
        phase = 'write';
        if (broken) record({ type: 'ok', process: process_, f: 'cas', key, value, member });
        const r = await txnSwap(member, key, cur.modRevision, value);
        if (!broken) record({ type: r.succeeded ? 'ok' : 'fail', process: process_, f: 'cas', key, value, ...(r.succeeded ? { revision: r.revision } : {}), member });
      } catch {
        if (!broken || phase === 'read') record({ type: phase === 'read' ? 'fail' : 'info', process: process_, f: 'cas', key, value, member });
      }
    } else {
      const key = COUNTERS[Math.floor(random() * COUNTERS.length)];
      record({ type: 'invoke', process: process_, f: 'read', key, member, linearizable: true });
      try {
        const cur = await range(member, key);
        record({ type: 'ok', process: process_, f: 'read', key, value: cur.value, member, linearizable: true });
      } catch {
        record({ type: 'fail', process: process_, f: 'read', key, member, linearizable: true });
      }
    }
    await sleep(20);
  }
}

async function leaderPoller() {
  while (running) {
    await Promise.all(MEMBERS.map(async (m) => {
      try {
        const s = await call(m, 'maintenance/status', {}, 300);
        if (names[s.leader]) record({ type: 'leader', member: m, leader: names[s.leader] });
      } catch { /* cut off, paused: no view */ }
    }));
    await sleep(100);
  }
}

await Promise.all([...MEMBERS.flatMap((m, i) => [worker(2 * i, m), worker(2 * i + 1, m)]), leaderPoller(), nemesisDone]);
const nemesisStatus = nemesis.exitCode;

// --- the end: final reads through any member that answers, then the checker ------
for (const key of [...COUNTERS, ...CAS_KEYS]) {
  let read;
  for (let i = 0; i < 50 && read === undefined; i++) {
    for (const m of MEMBERS) {
      try { read = await range(m, key); break; } catch { /* try the next */ }
    }
    if (read === undefined) await sleep(200);
  }
  const value = key.startsWith('c') ? Number(read?.value ?? 0) : read?.value;
  record({ type: 'final', key, value });
}
const historyFile = join(outDir, 'history.jsonl');
writeFileSync(historyFile, `${history.map((r) => JSON.stringify(r)).join('\n')}\n`);
writeFileSync(join(outDir, 'nemesis.log'), nemesisLog);
cleanup();
process.stdout.write(`nemesis (seed ${seed}, leader at start: ${leader}):\n${nemesisLog.replace(/^/gm, '  ')}\nhistory: ${historyFile}\n`);
if (nemesisStatus !== 0) { process.stderr.write(`berth fault run ended with status ${nemesisStatus}\n`); process.exit(2); }
let status = 0;
try {
  process.stdout.write(berth(['fault', 'check', historyFile]));
} catch (e) {
  process.stdout.write(e.stdout ?? '');
  status = e.status ?? 1;
}
process.exit(status);
