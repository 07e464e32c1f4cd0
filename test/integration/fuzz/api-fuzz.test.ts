/**
 * Issue 9, systematic defences: a structure-aware fuzzer of the Engine API.
 *
 * HOST SAFETY: every request is filtered before it is sent (safety.ts), so
 * the fuzzer cannot harm the host by design, whatever berthd does with it:
 * no Privileged, CapAdd, devices, security options, sysctls, cgroup parents,
 * host PID/network/IPC/UTS/user/cgroup namespaces, no binds outside a temp
 * directory this test owns, no volume or network driver options, no
 * subnets outside this daemon's pool, no ports below 20000, no log drivers
 * other than local files, no commands but harmless busybox applets, and
 * nothing that reaches the internet (pull, push and login only to
 * 127.0.0.1:9, import only from the request body, builds without remote
 * contexts or pulls). Swarm, plugin, secret, config, service, node, task,
 * session, distribution and search endpoints are not called at all.
 *
 * For ~27 s (60% of BERTH_FUZZ_SECONDS, default 45) it sends requests made
 * from docker-engine-api-v1.50.yaml: random operations, path templates
 * filled with real names and ids or junk (`..`, encoded slashes, NUL, very
 * long strings), query parameters with wrong types and huge values, JSON
 * bodies generated from the schemas and mutated (wrong types, 2^70,
 * negative numbers, missing required fields, null anywhere, deep nesting,
 * long arrays, unicode, duplicate keys), garbage and truncated bodies, wrong
 * Content-Types, chunked and broken chunked encodings, clients that hang up
 * mid-body. The seed is printed first: `BERTH_FUZZ_SEED=<seed>` replays it,
 * `BERTH_FUZZ_SECONDS=600` runs longer, `BERTH_FUZZ_SAVE=<dir>` keeps the
 * failing requests' bytes. The invariants are in invariants.ts and
 * host-canary.ts; 500s are listed in the summary but do not fail the test.
 */
import { describe, test } from 'node:test';
import { skipUnlessRoot } from '../../helpers/daemon.js';
import { apiRequest, type ApiGenContext } from './api-request.js';
import { fuzzSession, runLoop } from './session.js';
import { loadSpec, specPath } from './spec-model.js';
import type { Kind } from './fixtures.js';

const SHARE = 0.6;

/** Which pool a successful create adds its id to. */
function createdKind(label: string): Kind | undefined {
  if (label === 'POST /containers/create') return 'container';
  if (label === 'POST /networks/create') return 'network';
  if (label === 'POST /volumes/create') return 'volume';
  if (label === 'POST /containers/{id}/exec') return 'exec';
  if (label === 'POST /commit') return 'image';
  return undefined;
}

describe('API fuzzer', { skip: skipUnlessRoot() || (specPath() ? false : 'the Engine API spec is missing (set BERTH_API_SPEC)') }, () => {
  test('requests generated from the Engine API spec never crash berthd, lose a reply, touch the host or spoil a record', { timeout: 600_000 + Number(process.env.BERTH_FUZZ_SECONDS ?? 45) * SHARE * 1000 }, async () => {
    await fuzzSession('API fuzzer', SHARE, async (s) => {
      const spec = loadSpec();
      const ctx: ApiGenContext = { spec, fx: s.fx, safety: s.safety, ops: spec.operations };
      await runLoop(s, (rng) => { ctx.safety = s.safety; return [apiRequest(ctx, rng)]; }, (req, o) => {
        if (o.kind !== 'response' || o.res.status >= 300) return;
        const kind = createdKind(req.label);
        if (!kind) return;
        try {
          const body = JSON.parse(o.res.body.toString('utf8')) as { Id?: string; Name?: string };
          s.fx.learn(kind, kind === 'volume' ? body.Name : body.Id);
        } catch { /* not JSON: nothing to learn */ }
      });
    });
  });
});
