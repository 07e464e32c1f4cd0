/**
 * The checker for a Jepsen-style run against a replicated key-value store
 * (`berth fault check HISTORY`): reads a history — one JSON object a line —
 * and says whether the store kept its promises while the nemesis broke its
 * network. Pure: it takes the lines and returns the findings.
 *
 * History records (times in milliseconds since the run began):
 *
 *   {"type":"config","electionTimeoutMs":1000}
 *   {"type":"invoke","process":3,"f":"incr","key":"c1","member":"etcd2","time":120}
 *   {"type":"ok","process":3,"f":"incr","key":"c1","value":5,"revision":41,"member":"etcd2","time":131}
 *   {"type":"fail"|"info", …}             fail: surely not done; info: unknown (a time-out)
 *   {"type":"nemesis","f":"partition-start","isolated":["etcd1"],"time":5000}
 *   {"type":"nemesis","f":"partition-end","time":15000}          (other nemesis records are kept, not checked)
 *   {"type":"leader","member":"etcd2","leader":"etcd3","time":5200}   a member's view of the leader
 *   {"type":"final","key":"c1","value":17,"time":30000}               read from a healthy majority at the end
 *
 * Operations: `incr` (a compare-and-swap loop adding 1; `value` is the new
 * count), `cas` (compare-and-swap; `value` is what was written), `write`,
 * `read` (`linearizable` false for a serializable read, which may be stale).
 * Every `ok` must follow its `invoke` by the same process.
 *
 * What is checked:
 * 1. every acknowledged write is present at the end: a counter's final
 *    value is at least its acknowledged increments (and at most those plus
 *    the unknown ones); a written or swapped key ends with the value of an
 *    operation that did not fail;
 * 2. no two different values were acknowledged for one revision;
 * 3. while a partition isolated members, none of them acknowledged a write or
 *    a linearizable read invoked and completed inside it (a minority cannot
 *    reach a quorum);
 * 4. after a partition that isolated the leader, the majority saw a new
 *    leader within 3× the election timeout.
 */

export interface HistoryOp {
  type: 'invoke' | 'ok' | 'fail' | 'info';
  process: number;
  f: 'incr' | 'cas' | 'write' | 'read';
  key: string;
  value?: unknown;
  revision?: number;
  member: string;
  linearizable?: boolean;
  time: number;
}

type Record_ =
  | HistoryOp
  | { type: 'config'; electionTimeoutMs: number }
  | { type: 'nemesis'; f: string; isolated?: string[]; time: number }
  | { type: 'leader'; member: string; leader: string; time: number }
  | { type: 'final'; key: string; value: unknown; time: number };

export interface CheckResult {
  ok: boolean;
  operations: { ok: number; fail: number; info: number };
  violations: string[];
  notes: string[];
}

function parseLines(text: string): Record_[] {
  const out: Record_[] = [];
  text.split('\n').forEach((line, n) => {
    if (!line.trim()) return;
    let r: unknown;
    try {
      r = JSON.parse(line);
    } catch {
      throw new Error(`history line ${n + 1}: not JSON`);
    }
    if (!r || typeof r !== 'object' || typeof (r as { type?: unknown }).type !== 'string') throw new Error(`history line ${n + 1}: no "type"`);
    out.push(r as Record_);
  });
  return out;
}

const WRITES = new Set(['incr', 'cas', 'write']);

export function checkHistory(text: string): CheckResult {
  const records = parseLines(text);
  const violations: string[] = [];
  const notes: string[] = [];
  const ops = { ok: 0, fail: 0, info: 0 };
  const electionTimeout = (records.find((r) => r.type === 'config') as { electionTimeoutMs?: number } | undefined)?.electionTimeoutMs;

  // Pair each completion with its invocation (the same process's last open one).
  const open = new Map<number, HistoryOp>();
  const completed: { invoke: HistoryOp; done: HistoryOp }[] = [];
  for (const r of records) {
    if (r.type === 'invoke') {
      open.set(r.process, r);
    } else if (r.type === 'ok' || r.type === 'fail' || r.type === 'info') {
      const invoke = open.get(r.process);
      if (!invoke) { violations.push(`process ${r.process}: a ${r.type} of ${r.f} ${r.key} at ${r.time} ms with no invocation`); continue; }
      open.delete(r.process);
      ops[r.type]++;
      completed.push({ invoke, done: r });
    }
  }
  for (const invoke of open.values()) { ops.info++; completed.push({ invoke, done: { ...invoke, type: 'info' } }); }

  // 1. Acknowledged writes are present at the end.
  const finals = new Map<string, unknown>();
  for (const r of records) if (r.type === 'final') finals.set(r.key, r.value);
  const keys = new Set(completed.filter((c) => WRITES.has(c.invoke.f)).map((c) => c.invoke.key));
  for (const key of keys) {
    const onKey = completed.filter((c) => c.invoke.key === key && WRITES.has(c.invoke.f));
    if (!finals.has(key)) { violations.push(`${key}: no final read`); continue; }
    const final = finals.get(key);
    const incrs = onKey.filter((c) => c.invoke.f === 'incr');
    if (incrs.length === onKey.length) {
      const acked = incrs.filter((c) => c.done.type === 'ok').length;
      const unknown = incrs.filter((c) => c.done.type === 'info').length;
      if (typeof final !== 'number' || final < acked) violations.push(`${key}: ${acked} increments acknowledged, but the counter ends at ${JSON.stringify(final)}: acknowledged writes were lost`);
      else if (final > acked + unknown) violations.push(`${key}: the counter ends at ${final}, above the ${acked} acknowledged and ${unknown} unknown increments`);
    } else {
      const possible = onKey.filter((c) => c.done.type !== 'fail').map((c) => JSON.stringify(c.done.type === 'ok' ? c.done.value : c.invoke.value));
      const lastAcked = onKey.filter((c) => c.done.type === 'ok').sort((a, b) => a.done.time - b.done.time).pop();
      if (lastAcked && !possible.includes(JSON.stringify(final))) {
        violations.push(`${key}: ends as ${JSON.stringify(final)}, which no write that did not fail put there`);
      }
    }
  }

  // 2. One value per revision.
  const byRevision = new Map<number, string>();
  for (const { done } of completed) {
    if (done.type !== 'ok' || !WRITES.has(done.f) || done.revision === undefined) continue;
    const what = `${done.key}=${JSON.stringify(done.value)}`;
    const seen = byRevision.get(done.revision);
    if (seen !== undefined && seen !== what) violations.push(`revision ${done.revision} acknowledged for two values: ${seen} and ${what}`);
    else byRevision.set(done.revision, what);
  }

  // 3. No linearizable acknowledgement from an isolated minority.
  const partitions: { start: number; end: number; isolated: string[] }[] = [];
  for (const r of records) {
    if (r.type !== 'nemesis') continue;
    if (r.f === 'partition-start') partitions.push({ start: r.time, end: Infinity, isolated: r.isolated ?? [] });
    else if (r.f === 'partition-end' && partitions.length && partitions[partitions.length - 1].end === Infinity) partitions[partitions.length - 1].end = r.time;
  }
  for (const p of partitions) {
    for (const { invoke, done } of completed) {
      if (done.type !== 'ok' || !p.isolated.includes(invoke.member)) continue;
      if (invoke.time < p.start || done.time > p.end) continue;
      if (WRITES.has(invoke.f) || (invoke.f === 'read' && invoke.linearizable !== false)) {
        violations.push(`${invoke.member} was isolated from ${p.start} to ${p.end} ms but acknowledged ${invoke.f} ${invoke.key} at ${done.time} ms`);
      }
    }
  }

  // 4. A new leader within 3× the election timeout after the leader was cut off.
  const leaders = records.filter((r): r is { type: 'leader'; member: string; leader: string; time: number } => r.type === 'leader');
  for (const p of partitions) {
    const before = leaders.filter((l) => l.time <= p.start).pop()?.leader;
    if (!before || !p.isolated.includes(before)) continue;
    if (electionTimeout === undefined) { violations.push('no election timeout in the history (a "config" record)'); break; }
    const elected = leaders.find((l) => l.time > p.start && !p.isolated.includes(l.member) && l.leader !== before && !p.isolated.includes(l.leader));
    if (!elected) violations.push(`the leader ${before} was isolated at ${p.start} ms and the majority never saw a new one`);
    else if (elected.time - p.start > 3 * electionTimeout) {
      violations.push(`the leader ${before} was isolated at ${p.start} ms; ${elected.leader} was seen leading only ${elected.time - p.start} ms later (more than 3 × ${electionTimeout} ms)`);
    } else notes.push(`leader ${before} isolated at ${p.start} ms: ${elected.leader} seen leading ${elected.time - p.start} ms later`);
  }

  return { ok: violations.length === 0, operations: ops, violations, notes };
}

/** The short report `berth fault check` prints. */
export function formatReport(r: CheckResult): string {
  const lines = [`operations: ${r.operations.ok} ok, ${r.operations.fail} failed, ${r.operations.info} unknown`];
  for (const n of r.notes) lines.push(`  ${n}`);
  if (r.ok) lines.push('valid: every acknowledged write is present, one value per revision, no acknowledgement from an isolated minority, leaders elected in time');
  else {
    lines.push(`INVALID: ${r.violations.length} violation${r.violations.length === 1 ? '' : 's'}`);
    for (const v of r.violations) lines.push(`  ${v}`);
  }
  return `${lines.join('\n')}\n`;
}
