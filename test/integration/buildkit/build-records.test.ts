/**
 * Trust: what a BuildKit client can make berthd keep, and whose session a
 * build talks to.
 *
 * - Only a Control.Solve makes a build's record (api/grpc/build-records.ts).
 *   A Status or gateway call naming a Ref waits for its Solve, as
 *   BuildKit's do, and fails NOT_FOUND `no such job` when none comes.
 *   Before, each such call on a new Ref made a record kept a minute, so a
 *   client made as many as it could send calls.
 * - Records are at most 1024: with as many builds running, a Solve is
 *   refused with RESOURCE_EXHAUSTED (and the calls waiting for its Ref
 *   hear why); builds that finished make room for new ones.
 * - A `/session` whose ID a connected session has is refused with 400
 *   before its upgrade, as moby refuses it; the first session serves on.
 *   Before, the second replaced the first (and took its builds' files,
 *   secrets and ssh-agents over).
 *
 * The client is hand-made (hand-made-client.ts) to send what buildx never would.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDaemon, skipUnlessRoot, waitFor, withTimeout, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { encode } from '../../../src/buildkit/messages.js';
import { frame } from '../../../src/buildkit/grpc-frames.js';
import { fakeSession, grpcCallOn, grpcConnection, upgradeH2c, type CallResult, type GrpcConnection } from './hand-made-client.js';

let d!: Daemon;

before(async () => {
  if (skipUnlessRoot()) return;
  d = await startDaemon();
  await importBusybox(d);
}, { timeout: 120_000 });

after(async () => { await d?.stop(); });

const SOLVE = '/moby.buildkit.v1.Control/Solve';
const STATUS = '/moby.buildkit.v1.Control/Status';
const PING = '/moby.buildkit.v1.frontend.LLBBridge/Ping';

const connect = (): Promise<GrpcConnection> => grpcConnection(d.socket);

/** A Solve with no frontend: its build runs until the client's gateway returns, or the call ends. */
const gatewaySolve = (ref: string) => frame(encode('SolveRequest', { Ref: ref, Session: 'nosuchsession' }));
const status = (ref: string) => frame(encode('StatusRequest', { Ref: ref }));
const ping = () => frame(encode('PingRequest', {}));
const buildId = (ref: string) => ({ 'buildkit-controlapi-buildid': ref });

async function alive(): Promise<void> {
  assert.equal((await d.request('GET', '/_ping')).status, 200);
}

/** The whole HTTP answer to a POST /session with these headers (one that is refused before its upgrade). */
function refusedSession(headers: Record<string, string>): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(d.socket);
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    s.write(`POST /session HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n${extra}\r\n`);
    let text = '';
    s.on('data', (c: Buffer) => {
      text += c.toString();
      if (text.startsWith('HTTP/1.1 101') || /\r\n\r\n.*\}/s.test(text)) { s.destroy(); resolve(text); }
    });
    s.on('error', reject);
    s.on('close', () => resolve(text));
  });
}

describe('BuildKit build records and sessions', { skip: skipUnlessRoot() }, () => {
  test('a Status for a Ref no Solve names fails NOT_FOUND "no such job" (no record is made for it)', async () => {
    const c = await connect();
    try {
      // Before, the call held a new record and its stream open for a minute, then ended OK.
      const r = await withTimeout(c.call(STATUS, status('nobody-solves-this')), 30_000, 'the Status call');
      assert.equal(r.status, '5', r.message);
      assert.equal(r.message, 'no such job nobody-solves-this');
      assert.equal(r.messages.length, 0);
    } finally {
      c.close();
    }
    await alive();
  });

  test('Status and gateway calls made before their Solve get its build', async () => {
    const c = await connect();
    const closeSession = await fakeSession(d.socket, 'early1', { dockerfile: [{ path: 'Dockerfile', mode: 0o644, content: Buffer.from('FROM busybox\nRUN echo early\n') }], context: [] });
    try {
      const st = c.call(STATUS, status('early1'));
      const pong = c.call(PING, ping(), buildId('early1'));
      const solve = c.call(SOLVE, frame(encode('SolveRequest', {
        Ref: 'early1', Session: 'early1', Frontend: 'dockerfile.v0', FrontendAttrs: { filename: 'Dockerfile' },
        Exporters: [{ Type: 'moby', Attrs: { name: 'fake:early1' } }],
      })));
      const [s, p, v] = await withTimeout(Promise.all([solve, pong, st]), 120_000, 'the build');
      assert.equal(s.status, '0', s.message);
      assert.equal(p.status, '0', p.message);
      assert.equal(v.status, '0', v.message);
      assert.ok(v.messages.length > 0, 'the Status call streamed the build');
    } finally {
      closeSession();
      c.close();
    }
    await d.docker(['rmi', 'fake:early1']);
  });

  test('past 1024 running builds a Solve is RESOURCE_EXHAUSTED and makes nothing; finished builds make room', { timeout: 300_000 }, async () => {
    const conns: GrpcConnection[] = [];
    const probe = await connect();
    try {
      // 8 connections of 128 concurrent Solves (a connection's limit of streams): 1024 builds waiting for a gateway that never returns.
      const solves: Promise<CallResult>[] = [];
      const refs: string[] = [];
      for (let c = 0; c < 8; c++) {
        const conn = await connect();
        conns.push(conn);
        for (let i = 0; i < 128; i++) {
          const ref = `cap-${c}-${i}`;
          refs.push(ref);
          solves.push(conn.call(SOLVE, gatewaySolve(ref)));
        }
      }
      // Each build is known once a gateway call naming it is answered.
      for (let i = 0; i < refs.length; i += 64) {
        const pongs = await withTimeout(Promise.all(refs.slice(i, i + 64).map((ref) => probe.call(PING, ping(), buildId(ref)))), 60_000, 'pings');
        for (const p of pongs) assert.equal(p.status, '0', p.message);
      }

      const extra = await connect();
      conns.push(extra);
      const waiting = extra.call(STATUS, status('cap-extra'));
      // Before, the Solve made a record past any bound, and waited.
      const refused = await withTimeout(extra.call(SOLVE, gatewaySolve('cap-extra')), 30_000, 'the 1025th Solve');
      assert.equal(refused.status, '8', refused.message);
      assert.equal(refused.message, 'too many builds: 1024 are running');
      // Its Status call, made alongside, hears why rather than waiting.
      const heard = await withTimeout(waiting, 30_000, 'the Status call for the refused build');
      assert.equal(heard.status, '8', heard.message);

      // The first connection goes: its 128 builds end, and their records make room.
      conns[0].close();
      const after = await connect();
      conns.push(after);
      const accepted = after.call(SOLVE, gatewaySolve('cap-after'));
      const known = await waitFor(async () => {
        const p = await probe.call(PING, ping(), buildId('cap-after'));
        return p.status === '0' ? p : undefined;
      }, 60_000, 'the new build to be known');
      assert.equal(known.status, '0');
      after.close();
      const ended = await withTimeout(accepted, 30_000, 'the new build to end with its call');
      assert.notEqual(ended.status, '8', ended.message);
    } finally {
      for (const c of conns) c.close();
      probe.close();
    }
    await alive();
  });

  test('a second /session with the ID of a connected one is refused before the upgrade; the first serves on', async () => {
    const dockerfile = Buffer.from('FROM busybox\nCOPY a.txt /a.txt\n');
    const closeFirst = await fakeSession(d.socket, 'dup1', {
      dockerfile: [{ path: 'Dockerfile', mode: 0o644, content: dockerfile }], context: [{ path: 'a.txt', mode: 0o644, content: Buffer.from('from the first session\n') }],
    });
    let closeFirstOnce = closeFirst;
    try {
      const answer = await withTimeout(refusedSession({ 'X-Docker-Expose-Session-Uuid': 'dup1', 'X-Docker-Expose-Session-Name': 'thief' }), 30_000, 'the second session\'s answer');
      assert.match(answer, /^HTTP\/1.1 400 /);
      assert.match(answer, /session dup1 already exists/);

      const r = await grpcCallOn(d.socket, SOLVE, frame(encode('SolveRequest', {
        Ref: 'dup1', Session: 'dup1', Frontend: 'dockerfile.v0', FrontendAttrs: { filename: 'Dockerfile' },
        Exporters: [{ Type: 'moby', Attrs: { name: 'fake:dup1' } }],
      })));
      assert.equal(r.status, '0', r.message);
      const out = await d.docker(['run', '--rm', 'fake:dup1', 'cat', '/a.txt']);
      assert.equal(out.stdout, 'from the first session\n');

      // Once the first is gone its ID is free again.
      closeFirst();
      closeFirstOnce = () => undefined;
      const again = await waitFor(async () => {
        const s = await upgradeH2c(d.socket, '/session', { 'X-Docker-Expose-Session-Uuid': 'dup1' });
        s.destroy();
        return true;
      }, 30_000, 'the ID to be free');
      assert.equal(again, true);
    } finally {
      closeFirstOnce();
    }
    await d.docker(['rmi', 'fake:dup1']);
    await alive();
  });
});
