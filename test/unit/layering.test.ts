/**
 * The dependency rule of ARCHITECTURE.md and STYLE.md, checked on the
 * sources: data flows `cli → (HTTP) → api → engine → store, image,
 * registry, build, runtime, network`; nothing imports upward, the CLI is a
 * client of the HTTP API only, and `api/types` (wire types) and the files at
 * `src/` top level are leaves every layer may use. Also: no import cycles.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { repoRoot } from '../helpers/paths.js';

const SRC = join(repoRoot, 'src');
const LOWER = ['store', 'image', 'registry', 'build', 'runtime', 'network'];

/** Folders each top-level folder must never import (api/types excepted: see `area`). */
const FORBIDDEN: Record<string, string[]> = {
  ...Object.fromEntries(LOWER.map((l) => [l, ['engine', 'api', 'cli', 'daemon']])),
  engine: ['api', 'cli', 'daemon', 'cri'],
  cri: ['cli', 'daemon'],
  kube: ['cli', 'daemon'],
  // Rootless berthd's namespaces and slirp4netns: below the daemon and the engine that use it.
  rootless: ['engine', 'api', 'cli', 'daemon', 'cri'],
  buildkit: ['engine', 'api', 'cli', 'daemon', 'store'],
  api: ['cli', 'daemon', 'store'],
  cli: ['engine', 'api', 'store', 'daemon', 'runtime', 'build'],
  'api/types': ['*'],
  '(root)': ['*'],
};

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

/** A module's area: its top-level folder, `api/types`, or `(root)` for src/*.ts. */
function area(file: string): string {
  const rel = relative(SRC, file);
  if (rel.startsWith('api/types/')) return 'api/types';
  return rel.includes('/') ? rel.split('/')[0] : '(root)';
}

/** Relative imports and re-exports of a module, resolved to .ts files under src/ (type-only ones included). */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^'"]*?\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    out.push(resolve(dirname(file), m[1]).replace(/\.js$/, '.ts'));
  }
  for (const m of text.matchAll(/^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    out.push(resolve(dirname(file), m[1]).replace(/\.js$/, '.ts'));
  }
  return out;
}

const files = sources(SRC);
const graph = new Map(files.map((f) => [f, importsOf(f)]));

test('no module imports a layer above its own', () => {
  const breaches: string[] = [];
  for (const [file, deps] of graph) {
    const from = area(file);
    for (const dep of deps) {
      const to = area(dep);
      if (to === from || to === 'api/types' || (to === '(root)' && from !== 'api/types')) continue;
      const banned = FORBIDDEN[from] ?? [];
      if (banned.includes('*') || banned.includes(to)) breaches.push(`${relative(SRC, file)} → ${relative(SRC, dep)}`);
    }
  }
  assert.deepEqual(breaches, []);
});

test('every relative import names a source file', () => {
  const known = new Set(files);
  const missing = [...graph].flatMap(([f, deps]) => deps.filter((d) => !known.has(d)).map((d) => `${relative(SRC, f)} → ${relative(SRC, d)}`));
  assert.deepEqual(missing, []);
});

test('no import cycles', () => {
  const state = new Map<string, 'open' | 'done'>();
  const cycles: string[] = [];
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, 'open');
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (state.get(d) === 'open') cycles.push([...stack.slice(stack.indexOf(d)), d].map((x) => relative(SRC, x)).join(' → '));
      else if (!state.has(d) && graph.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, 'done');
  };
  for (const f of files) if (!state.has(f)) visit(f);
  assert.deepEqual(cycles, []);
});
