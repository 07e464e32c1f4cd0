/**
 * What a fuzz run found. Failures break an invariant (berthd died or
 * stalled, a request got no status, a 5xx without a JSON message, host
 * changes, canary content in a response, unreadable records) and fail the
 * test; 500s are findings too but are reported, not failed, grouped by
 * endpoint and message so one cause shows once with a count and a repro.
 * With BERTH_FUZZ_SAVE=<dir>, each failure's request is also written there
 * byte for byte (`socat - UNIX-CONNECT:<socket> < file` replays it).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeRequest, encodeRequest, type FuzzRequest } from './wire.js';

export interface Failure {
  invariant: string;
  detail: string;
  request?: string;
  /** The endpoint or archive kind, for grouping. */
  label?: string;
  index?: number;
}

/** The cause of a failure for grouping: a crash's first error line, or the detail without numbers. */
function failureCause(f: Failure): string {
  const err = /\n\s*((?:\w*Error|Error)[^\n]*)/.exec(f.detail);
  return normalizeMessage(err ? `exited: ${err[1]}` : f.detail.split('\n')[0]);
}

interface Group { count: number; example: string; index: number; status: number }

/** Ids, numbers and quoted junk replaced, so messages that differ only in them group together. */
export function normalizeMessage(m: string): string {
  return m
    .replace(/\/tmp\/berth-test-[^/\s]+/g, '<tmp>')
    .replace(/\/run\/bt-[^/\s]+/g, '<run>')
    .replace(/[0-9a-f]{12,64}/g, '<id>')
    .replace(/"[^"]{0,200}"/g, '"…"')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
}

export class Findings {
  readonly failures: Failure[] = [];
  private readonly serverErrors = new Map<string, Group>();
  readonly notes = new Map<string, number>();
  /** Time spent per endpoint (request and the /_ping after it), to see where a run's time goes. */
  private readonly time = new Map<string, { n: number; ms: number }>();
  requests = 0;
  private readonly saveDir = process.env.BERTH_FUZZ_SAVE;

  fail(invariant: string, detail: string, req?: FuzzRequest, index?: number): void {
    this.failures.push({ invariant, detail, ...(req ? { request: describeRequest(req), label: req.label } : {}), ...(index !== undefined ? { index } : {}) });
    if (req && this.saveDir) {
      mkdirSync(this.saveDir, { recursive: true });
      writeFileSync(join(this.saveDir, `failure-${this.failures.length}-req${index ?? 'x'}.http`), encodeRequest(req));
    }
  }

  serverError(req: FuzzRequest, status: number, message: string, index: number): void {
    // 501 is berth saying loudly what it does not implement (STYLE.md, habit 9), not a fault.
    if (status === 501) { this.note('501 not implemented'); return; }
    message = message.split('\n')[0];
    const key = `${req.label} → ${status} ${normalizeMessage(message)}`;
    const g = this.serverErrors.get(key);
    if (g) g.count++;
    else this.serverErrors.set(key, { count: 1, example: `${describeRequest(req, 300)}\n  answer: ${status} ${message.slice(0, 400)}`, index, status });
  }

  timed(label: string, ms: number): void {
    const t = this.time.get(label) ?? { n: 0, ms: 0 };
    t.n++;
    t.ms += ms;
    this.time.set(label, t);
  }

  note(what: string): void {
    this.notes.set(what, (this.notes.get(what) ?? 0) + 1);
  }

  get serverErrorCount(): number {
    let n = 0;
    for (const g of this.serverErrors.values()) n += g.count;
    return n;
  }

  summary(title: string, seed: number): string {
    const lines = [`=== ${title}: seed ${seed}, ${this.requests} requests, ${this.failures.length} invariant failure(s), ${this.serverErrorCount} 5xx (501 aside) in ${this.serverErrors.size} group(s)`];
    // One block per invariant, endpoint and cause, with its count and first example.
    const groups = new Map<string, { count: number; first: Failure }>();
    for (const f of this.failures) {
      const key = `${f.invariant} | ${f.label ?? '-'} | ${failureCause(f)}`;
      const g = groups.get(key);
      if (g) g.count++;
      else groups.set(key, { count: 1, first: f });
    }
    for (const [key, { count, first: f }] of groups) {
      lines.push(`--- [${count}×] ${key}`, `  first${f.index !== undefined ? ` (request #${f.index})` : ''}: ${f.detail}`);
      if (f.request) lines.push(f.request.split('\n').map((l) => `  ${l}`).join('\n'));
    }
    if (this.serverErrors.size) {
      lines.push('--- 5xx answers other than 501 (reported, not failed), by endpoint and message:');
      for (const [key, g] of [...this.serverErrors].sort((a, b) => b[1].count - a[1].count)) {
        lines.push(`  [${g.count}×] ${key}`, `      e.g. request #${g.index}: ${g.example.split('\n').join('\n      ')}`);
      }
    }
    const slow = [...this.time].sort((a, b) => b[1].ms - a[1].ms).slice(0, 6);
    lines.push(`--- most time: ${slow.map(([k, t]) => `${k} ${t.n}× ${(t.ms / 1000).toFixed(1)} s`).join('; ')}`);
    if (this.notes.size) lines.push(`--- notes: ${[...this.notes].map(([k, v]) => `${k} ×${v}`).join('; ')}`);
    return lines.join('\n');
  }
}
