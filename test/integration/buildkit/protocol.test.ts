/**
 * Issue 11, the pure parts of the BuildKit API (no daemon): message decoding
 * refuses malformed wire data, gRPC framing bounds its messages, frontend
 * options map onto the classic build's parameters (or are refused by name),
 * and the classic builder's stream becomes vertexes named like BuildKit's.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { decode, encode } from '../../../src/buildkit/messages.js';
import { ByteBudget, frame, readMessages } from '../../../src/buildkit/grpc-frames.js';
import { BuildProgress } from '../../../src/buildkit/progress.js';
import { StepVertexes } from '../../../src/buildkit/step-vertexes.js';
import { paramsFromFrontendOpts } from '../../../src/api/grpc/dockerfile-frontend.js';
import { parseDockerfile } from '../../../src/build/parser/index.js';

function varint(n: number): Buffer {
  const out: number[] = [];
  for (; n > 127; n = Math.floor(n / 128)) out.push((n & 127) | 128);
  out.push(n);
  return Buffer.from(out);
}

describe('message decoding', () => {
  test('a message round-trips, with maps, repeated and nested fields', () => {
    const bytes = encode('SolveRequest', { Ref: 'r1', Session: 's', FrontendAttrs: { a: 'b' }, Exporters: [{ Type: 'moby', Attrs: { name: 'x' } }] });
    const m = decode<{ Ref: string; FrontendAttrs: Record<string, string>; Exporters: { Type: string; Attrs: Record<string, string> }[]; Entitlements: string[] }>('SolveRequest', bytes);
    assert.equal(m.Ref, 'r1');
    assert.deepEqual(m.FrontendAttrs, { a: 'b' });
    assert.deepEqual(m.Exporters, [{ Type: 'moby', Attrs: { name: 'x' } }]);
    assert.deepEqual(m.Entitlements, []);
  });

  const bad: [string, number[]][] = [
    ['a string longer than the message', [0x0a, 0x05, 0x41]],
    ['a length that runs past the end', [0x0a, 0xff, 0xff, 0xff, 0x0f, 0x01]],
    ['a cut varint', [0x08, 0x80]],
    ['a nested message cut short', [0x6a, 0x04, 0x0a, 0x05, 0x41, 0x41]],
    ['a map entry cut short', [0x3a, 0x03, 0x0a, 0x05, 0x41]],
    ['wire type 3 (groups)', [0x0b]],
    ['field number 0', [0x02, 0x00]],
  ];
  for (const [what, bytes] of bad) {
    test(`${what} is refused`, () => {
      assert.throws(() => decode('SolveRequest', Buffer.from(bytes)), { name: 'InvalidParameterError', message: /malformed SolveRequest/ });
    });
  }

  // protobufjs makes an object per element: 16 MiB of empty Exporters (two bytes each) were 8 million of them, 2 GB of heap
  // and half a minute of decoding in which berthd served nobody. 100,000 are refused before any is made.
  test('a message of more fields than a message may hold is refused', () => {
    const emptyExporters = Buffer.alloc(2 * 100_000);
    for (let i = 0; i < emptyExporters.length; i += 2) emptyExporters[i] = 0x6a;
    assert.throws(() => decode('SolveRequest', emptyExporters), { name: 'InvalidParameterError', message: /malformed SolveRequest message: more than 65536 fields/ });
    // Nested fields count too: one RefMap whose entries are many.
    const refs = encode('RefMap', { refs: Object.fromEntries(Array.from({ length: 30_000 }, (_, i) => [`r${i}`, { id: 'x' }])) });
    assert.throws(() => decode('Result', Buffer.concat([Buffer.from([0x22]), varint(refs.length), refs])), /more than 65536 fields/);
  });

  test('a large but ordinary message decodes: 20,000 build args', () => {
    const attrs = Object.fromEntries(Array.from({ length: 20_000 }, (_, i) => [`build-arg:A${i}`, `value ${i}`]));
    const m = decode<{ FrontendAttrs: Record<string, string> }>('SolveRequest', encode('SolveRequest', { Ref: 'r', FrontendAttrs: attrs }));
    assert.equal(Object.keys(m.FrontendAttrs).length, 20_000);
  });
});

describe('gRPC framing', () => {
  test('messages split across chunks and several in one chunk are read in order', async () => {
    const a = frame(Buffer.from('one'));
    const b = frame(Buffer.from('two'));
    const all = Buffer.concat([a, b]);
    const chunks = [all.subarray(0, 2), all.subarray(2, 9), all.subarray(9)];
    const got: string[] = [];
    for await (const m of readMessages(Readable.from(chunks))) got.push(m.toString());
    assert.deepEqual(got, ['one', 'two']);
  });

  test('a message over the limit is refused from its header alone', async () => {
    const head = Buffer.from([0, 0xff, 0xff, 0xff, 0xff]);
    await assert.rejects(async () => { for await (const m of readMessages(Readable.from([head]), 1024)) void m; }, { name: 'PayloadTooLargeError' });
  });

  test('a connection\'s own share is not drawn from the daemon\'s, and all is given back', () => {
    const daemon = new ByteBudget('daemon', 100);
    const hog = new ByteBudget('hog', 200, daemon, 10);
    const other = new ByteBudget('other', 200, daemon, 10);
    hog.take(110);
    assert.equal(daemon.inUse, 100);
    assert.throws(() => hog.take(1), { name: 'PayloadTooLargeError' });
    other.take(10);
    assert.equal(other.tryTake(1), false);
    other.give(10);
    hog.give(50);
    assert.equal(daemon.inUse, 50);
    assert.equal(other.tryTake(30), true);
    assert.equal(daemon.inUse, 70);
    other.give(30);
    hog.give(60);
    assert.equal(daemon.inUse, 0);
  });

  test('a stream that ends inside a message is an error, not a short message', async () => {
    await assert.rejects(async () => { for await (const m of readMessages(Readable.from([frame(Buffer.from('abcdef')).subarray(0, 7)]))) void m; }, /ended inside a message/);
  });
});

describe('dockerfile.v0 frontend options', () => {
  test('buildx\'s options become the classic build\'s parameters', () => {
    const { params, filename } = paramsFromFrontendOpts({
      filename: 'sub/Dev.dockerfile', target: 'b', 'build-arg:X': '1', 'label:L': 'v', 'no-cache': '', 'image-resolve-mode': 'pull',
      'force-network-mode': 'none', platform: '', 'attest:provenance': 'mode=min,inline-only=true',
    });
    assert.equal(filename, 'sub/Dev.dockerfile');
    assert.equal(params.target, 'b');
    assert.deepEqual(params.buildArgs, { X: '1' });
    assert.deepEqual(params.labels, { L: 'v' });
    assert.equal(params.noCache, true);
    assert.equal(params.pull, true);
    assert.equal(params.networkMode, 'none');
  });

  test('add-hosts fields become the classic builder\'s name:address extra hosts', () => {
    assert.deepEqual(paramsFromFrontendOpts({ 'add-hosts': 'a=1.2.3.4,b=::1' }).params.extraHosts, ['a:1.2.3.4', 'b:::1']);
  });

  for (const [opts, re] of [
    [{ 'add-hosts': 'a:1.2.3.4' }, /invalid add-host entry/],
    [{ 'add-hosts': '=1.2.3.4' }, /invalid add-host entry/],
    [{ 'add-hosts': 'a=1.2.3.4,b=::1' }, null],
    [{ platform: 'linux/s390x' }, /linux\/s390x is not supported/],
    [{ 'context:base': 'docker-image://x' }, /named build contexts/],
    [{ 'no-cache': 'stage1' }, /--no-cache-filter/],
    [{ 'attest:sbom': '' }, null],
    [{ 'attest:sbom': 'generator=x' }, /attestations \(sbom\)/],
    [{ 'something-new': '1' }, /"something-new" is not supported/],
    [{ filename: '../outside' }, /invalid Dockerfile name/],
    [{ 'force-network-mode': 'container:x' }, /invalid network mode/],
  ] as [Record<string, string>, RegExp | null][]) {
    test(`${JSON.stringify(opts)} is ${re ? 'refused by name' : 'accepted'}`, () => {
      if (re) assert.throws(() => paramsFromFrontendOpts(opts), re);
      else assert.doesNotThrow(() => paramsFromFrontendOpts(opts));
    });
  }
});

describe('vertexes from the classic stream', () => {
  function vertexNames(dockerfile: string, lines: string[]): { names: string[]; cached: string[]; logs: string[] } {
    const p = new BuildProgress('ref');
    const names: string[] = [];
    const cached = new Set<string>();
    const logs: string[] = [];
    const byDigest = new Map<string, string>();
    p.subscribe((m) => {
      if (!m) return;
      const s = decode<{ vertexes: { digest: string; name: string; cached: boolean }[]; logs: { vertex: string; msg: Buffer }[] }>('StatusResponse', m);
      for (const v of s.vertexes) {
        if (!byDigest.has(v.digest)) { byDigest.set(v.digest, v.name); names.push(v.name); }
        if (v.cached) cached.add(v.name);
      }
      for (const l of s.logs) logs.push(`${byDigest.get(l.vertex)}: ${l.msg.toString()}`);
    });
    const v = new StepVertexes(p, parseDockerfile(dockerfile));
    for (const l of lines) {
      const m = /^(Step \d+\/\d+ : .*)$/.exec(l);
      if (m) { v.stream(m[1]); v.stream('\n'); } else v.stream(l);
    }
    v.end();
    return { names, cached: [...cached], logs };
  }

  test('a multi-stage build: stage names, per-stage numbering, no vertex for metadata steps or a stage base', () => {
    const df = 'FROM busybox AS build\nENV A=1\nRUN make\nFROM build AS test\nRUN check\nFROM scratch\nCOPY --from=build /out /\nCMD ["x"]\n';
    const r = vertexNames(df, [
      'Step 1/8 : FROM busybox AS build', ' ---> 0123456789ab\n',
      'Step 2/8 : ENV A=1', ' ---> Running in 0123456789ab\n', ' ---> 0123456789ab\n',
      'Step 3/8 : RUN make', ' ---> Using cache\n', ' ---> 0123456789ab\n',
      'Step 4/8 : FROM build AS test', 'Step 5/8 : RUN check', ' ---> Running in 0123456789ab\n', 'checked\n', 'Removing intermediate container 0123456789ab\n',
      'Step 6/8 : FROM scratch', 'Step 7/8 : COPY --from=build /out /', 'Step 8/8 : CMD ["x"]', 'Successfully built 0123456789ab\n',
    ]);
    assert.deepEqual(r.names, [
      '[build 1/2] FROM docker.io/library/busybox:latest', '[build 2/2] RUN make', '[test 2/2] RUN check', '[stage-2 2/2] COPY --from=build /out /',
    ]);
    assert.deepEqual(r.cached, ['[build 2/2] RUN make']);
    assert.deepEqual(r.logs, ['[test 2/2] RUN check: checked\n']);
  });

  test('one unnamed stage has no stage prefix; counts pad like BuildKit\'s', () => {
    const runs = Array.from({ length: 10 }, (_, i) => `RUN echo ${i}`);
    const r = vertexNames(`FROM busybox\n${runs.join('\n')}\n`, ['Step 1/11 : FROM busybox', ...runs.map((x, i) => `Step ${i + 2}/11 : ${x}`)]);
    assert.equal(r.names[0], '[ 1/11] FROM docker.io/library/busybox:latest');
    assert.equal(r.names[10], '[11/11] RUN echo 9');
  });
});
