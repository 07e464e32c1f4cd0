/**
 * The fuzzer's host-safety filter (safety.ts) and the archive generators'
 * protected ranges, checked without a daemon: what could reach the host
 * never leaves the fuzzer, however the body was mutated.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { safeBody, type SafetyContext } from './safety.js';
import { DupObject, toJsonText } from './json-mutate.js';
import { apiRequest } from './api-request.js';
import { loadSpec, specPath } from './spec-model.js';
import { Rng } from './rng.js';
import { encodeRequest } from './wire.js';
import type { Fixtures } from './fixtures.js';
import { mutateBytes } from './tar-mutate.js';
import { file, writeTar } from './tar-write.js';

const ctx: SafetyContext = { bindDir: '/tmp/berth-fuzz-binds-x', poolOctet: '150', safeSubnet: '10.150.248.0/24', hostNetwork: ['host', 'abcdef0123456789'] };

describe('fuzzer host safety', () => {
  test('privilege, host namespaces and host devices are removed at any depth, in any case, under duplicate keys', () => {
    const body = {
      HostConfig: { privileged: true, CapAdd: ['ALL'], Devices: [{ PathOnHost: '/dev/sda' }], NetworkMode: 'host', PidMode: 'HOST', SecurityOpt: ['seccomp=unconfined'], CgroupParent: '/' },
      nested: [{ Privileged: true }],
      NetworkingConfig: { EndpointsConfig: { host: {}, abcdef: {}, 'fz-net': {} } },
    };
    const text = toJsonText(safeBody(body, ctx));
    assert.doesNotMatch(text, /privileged|capadd|devices|securityopt|cgroupparent|"host"|networkmode|pidmode|abcdef/i);
    assert.match(text, /fz-net/);
    const dup = toJsonText(safeBody(new DupObject([['Privileged', false], ['Privileged', true], ['Image', 'busybox']]), ctx));
    assert.equal(dup, '{"Image":"busybox"}');
  });

  test('binds and bind mounts name only the test\'s own directory; volumes by name stay', () => {
    const out = safeBody({ HostConfig: {
      Binds: ['/:/host', '/etc:/e:ro', 'vol:/v', `${ctx.bindDir}/sub:/s`, `${ctx.bindDir}/../..:/x`, 'rel/path:/r', ':/empty'],
      Mounts: [{ Type: 'bind', Source: '/etc', Target: '/e' }, { Type: 'bind', Target: '/nosrc' }, { Type: 'volume', Source: 'v', Target: '/v' }, { Type: 'bind', Source: `${ctx.bindDir}/sub`, Target: '/ok' }],
    } }, ctx) as { HostConfig: { Binds: string[]; Mounts: Array<{ Target: string }> } };
    for (const b of out.HostConfig.Binds) {
      const src = b.split(':')[0];
      assert.ok(!src.includes('/') || (src.startsWith(`${ctx.bindDir}/`) && !src.includes('..')), b);
    }
    assert.ok(out.HostConfig.Binds.includes('vol:/v'));
    assert.deepEqual(out.HostConfig.Mounts.map((m) => m.Target), ['/e', '/v', '/ok']);
    assert.equal((out.HostConfig.Mounts[0] as unknown as { Source: string }).Source, `${ctx.bindDir}/sub`);
  });

  test('only harmless commands run; subnets stay in the pool; ports stay high; log drivers stay local', () => {
    const out = safeBody({
      Cmd: ['reboot', '-f'], Entrypoint: '/bin/sh', Healthcheck: { Test: ['CMD-SHELL', 'rm -rf /'] },
      IPAM: { Config: [{ Subnet: '192.168.0.0/16', Gateway: '10.150.3.1' }] },
      HostConfig: { PortBindings: { '22/tcp': [{ HostIp: '0.0.0.0', HostPort: '22' }, { HostPort: '40000' }] }, LogConfig: { Type: 'syslog', Config: { 'syslog-address': 'tcp://1.2.3.4:514' } } },
    }, ctx) as Record<string, any>;
    assert.deepEqual(out.Cmd, ['true', '-f']);
    assert.equal(out.Entrypoint, 'true');
    assert.deepEqual(out.Healthcheck.Test, ['CMD-SHELL', 'true']);
    assert.equal(out.IPAM.Config[0].Subnet, ctx.safeSubnet);
    assert.equal(out.IPAM.Config[0].Gateway, '10.150.3.1');
    assert.deepEqual(out.HostConfig.PortBindings['22/tcp'], [{}, { HostPort: '40000' }]);
    assert.equal(out.HostConfig.LogConfig, undefined);
    assert.deepEqual(safeBody({ Cmd: ['sleep', '100'] }, ctx), { Cmd: ['sleep', '100'] });
  });

  test('hundreds of generated requests carry nothing the filter forbids', { skip: specPath() ? false : 'no Engine API spec' }, () => {
    const spec = loadSpec();
    const fx = { pool: { container: ['fz-run'], image: ['busybox'], network: ['fz-net'], volume: ['fz-vol'], exec: ['e'] }, hostNetwork: ctx.hostNetwork } as unknown as Fixtures;
    for (let i = 1; i <= 600; i++) {
      const r = apiRequest({ spec, fx, safety: ctx, ops: spec.operations }, Rng.forItem(7, i));
      const text = encodeRequest(r).toString('latin1');
      assert.doesNotMatch(text, /"(privileged|capadd|devices|securityopt|sysctls|cgroupparent|driveropts)"\s*:/i, `request ${i}`);
      assert.doesNotMatch(text, /"(networkmode|pidmode|ipcmode|utsmode|usernsmode|cgroupnsmode)"\s*:\s*"[^"]*host/i, `request ${i}`);
      assert.doesNotMatch(text, /fromImage=(?!127\.0\.0\.1(%3A|:)9)/, `request ${i}`);
      assert.doesNotMatch(text, /[?&](remote|pull|outputs)=/, `request ${i}`);
    }
  });

  test('byte mutations of a tar never touch a name or a host-bound entry', () => {
    const t = writeTar([file('d/g', 'data\n'), { ...file('/etc/berth-fuzz-mark-x', 'x'), hostBound: true }, file('h', 'y')]);
    for (let i = 0; i < 500; i++) {
      const { bytes, what } = mutateBytes(t, Rng.forItem(3, i));
      // Past a truncation (and the junk then appended) or an inserted block, the original bytes are gone or moved.
      const points = what.map((w) => /(?:inserted|truncated) at (\d+)/.exec(w)).filter((m): m is RegExpExecArray => !!m).map((m) => Number(m[1]));
      const limit = Math.min(bytes.length, ...points);
      for (const [a, b] of t.protectedRanges) {
        const end = Math.min(b, limit);
        if (a < end) assert.ok(bytes.subarray(a, end).equals(t.bytes.subarray(a, end)), `mutation ${i} (${what.join(', ')}) changed protected bytes ${a}–${b}`);
      }
    }
  });
});
