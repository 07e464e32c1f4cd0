/**
 * Issue 9, systematic defences: a fuzzer of everything berthd unpacks.
 *
 * HOST SAFETY: the hostile archives are built so that they cannot harm the
 * host even if berthd extracts them as naively as possible (tar-mutate.ts):
 * whatever reaches outside only creates new files named with a marker
 * (found and deleted at the end), hard links to host files and entries for
 * `/` carry the host files' own mode, owner and mtime, whiteouts never hold
 * `..`, byte mutations never touch a name, link name, pax record or
 * compressed data, and build contexts' Dockerfiles are never mutated (no
 * build asks a registry for anything but 127.0.0.1:9, where nothing
 * listens). Reads of host files are what the fuzzer probes for: the canary's
 * secret must never come back in a response.
 *
 * For ~18 s (40% of BERTH_FUZZ_SECONDS, default 45) it sends mutated tar,
 * gzip, docker-save and OCI-layout archives to `POST /images/load`,
 * `POST /images/create?fromSrc=-`, `POST /build` and
 * `PUT /containers/{id}/archive` (archive-request.ts), reads back what was
 * accepted, and checks the same invariants as the API fuzzer
 * (invariants.ts, host-canary.ts). The seed is printed first;
 * BERTH_FUZZ_SEED, BERTH_FUZZ_SECONDS and BERTH_FUZZ_SAVE work as there.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { skipUnlessRoot } from '../../helpers/daemon.js';
import { archiveRequest, type ArchiveGenContext } from './archive-request.js';
import { fuzzSession, runLoop } from './session.js';
import { readTar } from './tar-read.js';

const SHARE = 0.4;

describe('archive fuzzer', { skip: skipUnlessRoot() }, () => {
  test('mutated tar, gzip, docker-save and OCI archives never crash berthd, lose a reply, touch the host or spoil a record', { timeout: 600_000 + Number(process.env.BERTH_FUZZ_SECONDS ?? 45) * SHARE * 1000 }, async () => {
    await fuzzSession('archive fuzzer', SHARE, async (s) => {
      const save = await s.d.request('GET', '/images/get?names=busybox', undefined, { timeoutMs: 60_000 });
      assert.equal(save.status, 200, `docker save of busybox: ${save.text.slice(0, 300)}`);
      const g: ArchiveGenContext = { canary: s.canary, hostile: { canary: s.canary, counter: { n: 0 } }, busyboxSave: await readTar(save.body) };
      await runLoop(s, (rng, i) => [archiveRequest(g, rng, i)]);
    });
  });
});
