/** Option parsers of run/create and friends that are not covered by the captured bodies. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePortSpec, parsePorts } from '../../../src/cli/opts/ports.js';
import { parseMountOpt, parseVolumeSpec, splitVolumes } from '../../../src/cli/opts/mounts.js';
import { parseUlimit } from '../../../src/cli/opts/ulimit.js';
import { parseRestartPolicy } from '../../../src/cli/opts/restart.js';
import { parseKeyValueText, validateEnv } from '../../../src/cli/opts/kvfile.js';
import { parseCsvRecord } from '../../../src/cli/opts/csv.js';
import { filtersQuery } from '../../../src/cli/opts/filters.js';
import { subnetContains } from '../../../src/cli/opts/cidr.js';
import { ipamConfig } from '../../../src/cli/network/create.js';
import { isExcluded, parseDockerignore } from '../../../src/cli/image/dockerignore.js';
import { encodeQuery } from '../../../src/cli/client.js';
import { encodeAuthHeader, registryKey } from '../../../src/cli/config-file.js';
import { displayablePorts } from '../../../src/cli/container/ps.js';

test('-p forms', () => {
  assert.deepEqual(parsePortSpec('80'), [{ port: '80/tcp', binding: { HostIp: '', HostPort: '' } }]);
  assert.deepEqual(parsePortSpec('127.0.0.1:8080:80/udp'), [{ port: '80/udp', binding: { HostIp: '127.0.0.1', HostPort: '8080' } }]);
  assert.deepEqual(parsePortSpec('[::1]:53:53'), [{ port: '53/tcp', binding: { HostIp: '::1', HostPort: '53' } }]);
  assert.deepEqual(parsePortSpec('8000-8010:80').map((m) => m.binding.HostPort), ['8000-8010']);
  assert.equal(parsePortSpec('1000-1001:2000-2001').length, 2);
  assert.throws(() => parsePortSpec('1000-1001:2000-2002'), /invalid ranges specified/);
  assert.throws(() => parsePortSpec('80/xyz'), /invalid proto: xyz/);
  assert.throws(() => parsePortSpec('300.1.1.1:80:80'), /invalid IP address: 300.1.1.1/);
  assert.deepEqual([...parsePorts(['published=8080,target=80'], ['90-91/udp']).exposed].sort(), ['80/tcp', '90/udp', '91/udp']);
});

test('--mount forms and refusals', () => {
  assert.deepEqual(parseMountOpt('type=bind,source=/src,target=/dst,readonly'), { Type: 'bind', Source: '/src', Target: '/dst', ReadOnly: true });
  assert.deepEqual(parseMountOpt('type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1777'), { Type: 'tmpfs', Target: '/t', TmpfsOptions: { SizeBytes: 1048576, Mode: 0o1777 } });
  assert.deepEqual(parseMountOpt('src=v,dst=/d,volume-label=a=b'), { Type: 'volume', Source: 'v', Target: '/d', VolumeOptions: { Labels: { a: 'b' }, DriverConfig: {} } });
  assert.equal(parseMountOpt('type=bind,"src=/a,b",dst=/c').Source, '/a,b');
  assert.throws(() => parseMountOpt('type=bind,src=/a'), /target is required/);
  assert.throws(() => parseMountOpt('type=bind,dst=/a,volume-nocopy'), /cannot mix 'volume-\*' options with mount type 'bind'/);
  assert.throws(() => parseMountOpt('type=volume,dst=/a,foo=bar'), /unexpected key 'foo' in 'foo=bar'/);
});

test('-v: what is a bind, a named volume, or an anonymous volume', () => {
  assert.deepEqual(parseVolumeSpec('/data'), { source: '', target: '/data', type: 'volume' });
  assert.deepEqual(parseVolumeSpec('v1:/data:ro'), { source: 'v1', target: '/data', type: 'volume' });
  assert.deepEqual(parseVolumeSpec('/h:/c'), { source: '/h', target: '/c', type: 'bind' });
  assert.throws(() => parseVolumeSpec('a::b'), /empty section between colons/);
  assert.throws(() => parseVolumeSpec('a:b:c:d'), /too many colons/);
  assert.deepEqual(splitVolumes(['/anon', 'v:/x', '/anon']), { binds: ['v:/x'], volumes: { '/anon': {} } });
});

test('--ulimit and --restart', () => {
  assert.deepEqual(parseUlimit('nofile=1024:2048'), { Name: 'nofile', Hard: 2048, Soft: 1024 });
  assert.deepEqual(parseUlimit('nproc=10'), { Name: 'nproc', Hard: 10, Soft: 10 });
  assert.throws(() => parseUlimit('bogus=1'), /invalid ulimit type: bogus/);
  assert.deepEqual(parseRestartPolicy('on-failure:3'), { Name: 'on-failure', MaximumRetryCount: 3 });
  assert.throws(() => parseRestartPolicy('on-failure:x'), /maximum retry count must be an integer/);
  assert.throws(() => parseRestartPolicy(':3'), /no policy provided before colon/);
});

test('env files: comments, blanks, BOM, host lookups', () => {
  const lookup = (k: string) => (k === 'HOME' ? '/root' : undefined);
  assert.deepEqual(parseKeyValueText('\uFEFFA=1\n# c\n\n  B=two words \nHOME\nUNSET\n', lookup), ['A=1', 'B=two words ', 'HOME=/root']);
  assert.deepEqual(parseKeyValueText('L=1\nK\n', undefined), ['L=1']);
  assert.throws(() => parseKeyValueText('BAD KEY=1\n', lookup), /variable 'BAD KEY' contains whitespaces/);
  assert.equal(validateEnv('HOME', lookup), 'HOME=/root');
  assert.equal(validateEnv('NOPE', lookup), 'NOPE');
  assert.throws(() => validateEnv('=x', lookup), /invalid environment variable: =x/);
});

test('CSV records as Go reads them', () => {
  assert.deepEqual(parseCsvRecord('a,b,"c,d",""'), ['a', 'b', 'c,d', '']);
  assert.deepEqual(parseCsvRecord('"x ""q"" y"'), ['x "q" y']);
});

test('filters and query strings encode like Go', () => {
  assert.equal(filtersQuery(['label=app=demo', 'status=exited', 'Label = b']), '{"label":{"app=demo":true,"b":true},"status":{"exited":true}}');
  assert.equal(filtersQuery([]), undefined);
  assert.equal(encodeQuery({ tag: 'latest', fromImage: 'docker.io/library/busybox', all: true, none: false, x: undefined }), '?all=1&fromImage=docker.io%2Flibrary%2Fbusybox&tag=latest');
  assert.equal(encodeQuery({ changes: ['ENV X=1', 'CMD ["sh"]'] }), '?changes=ENV+X%3D1&changes=CMD+%5B%22sh%22%5D');
});

test('registry auth header and keys', () => {
  assert.equal(encodeAuthHeader({}), 'e30=');
  assert.equal(Buffer.from(encodeAuthHeader({ username: 'u', password: 'p', serveraddress: 's' }), 'base64').toString(), '{"username":"u","password":"p","serveraddress":"s"}');
  assert.equal(registryKey('docker.io'), 'https://index.docker.io/v1/');
  assert.equal(registryKey('https://127.0.0.1:5000/'), '127.0.0.1:5000');
});

test('network IPAM pairs gateways and ranges with their subnets', () => {
  assert.equal(subnetContains('10.0.0.0/24', '10.0.0.7'), true);
  assert.equal(subnetContains('10.0.0.0/24', '10.0.1.7'), false);
  assert.equal(subnetContains('fd00::/64', 'fd00::5'), true);
  assert.deepEqual(ipamConfig(['10.1.0.0/16', '10.2.0.0/16'], ['10.2.1.0/24'], ['10.1.0.1'], {}),
    [{ Subnet: '10.1.0.0/16', Gateway: '10.1.0.1' }, { Subnet: '10.2.0.0/16', IPRange: '10.2.1.0/24' }]);
  assert.throws(() => ipamConfig(['10.1.0.0/16'], [], ['10.9.0.1'], {}), /no matching subnet for gateway 10.9.0.1/);
  assert.throws(() => ipamConfig([], [], ['10.9.0.1'], {}), /every ip-range or gateway must have a corresponding subnet/);
});

test('.dockerignore: globs, **, directories and exceptions', () => {
  const p = parseDockerignore('# comment\nnode_modules\n*.log\n!keep.log\n**/tmp\ndocs/*.md\n');
  assert.equal(isExcluded('node_modules/x/y.js', p), true);
  assert.equal(isExcluded('a.log', p), true);
  assert.equal(isExcluded('keep.log', p), false);
  assert.equal(isExcluded('src/deep/tmp/file', p), true);
  assert.equal(isExcluded('docs/readme.md', p), true);
  assert.equal(isExcluded('docs/sub/readme.md', p), false);
  assert.equal(isExcluded('src/index.ts', p), false);
});

test('PORTS column groups ranges and lists host mappings', () => {
  assert.equal(displayablePorts([
    { PrivatePort: 80, Type: 'tcp' }, { PrivatePort: 81, Type: 'tcp' }, { PrivatePort: 82, Type: 'tcp' },
    { IP: '0.0.0.0', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' }, { IP: '::', PrivatePort: 80, PublicPort: 8080, Type: 'tcp' },
    { IP: '127.0.0.1', PrivatePort: 53, PublicPort: 53, Type: 'udp' },
  ]), '127.0.0.1:53->53/udp, 80-82/tcp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp');
});
