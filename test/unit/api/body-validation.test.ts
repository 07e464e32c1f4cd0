import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseBody } from '../../../src/api/validate.js';
import { statusFromError } from '../../../src/api/status.js';
import { scriptsDir } from '../../helpers/paths.js';

const refused = (text: string, name: Parameters<typeof parseBody>[1], msg: string) => {
  assert.throws(() => parseBody(text, name), (e: Error) => {
    assert.equal(statusFromError(e), 400);
    assert.equal(e.message, msg);
    return true;
  });
};

test('a value of the wrong JSON kind is a 400 in Go encoding/json words', () => {
  refused('{"Image":5}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Image of type string');
  refused('{"Image":"b","Env":"A=1"}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.Env of type []string');
  refused('{"HostConfig":{"Memory":"lots"}}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64');
  refused('{"Labels":{"a":1}}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Labels of type string');
  refused('{"Healthcheck":{"Interval":"1s"}}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal string into Go struct field HealthConfig.Healthcheck.Interval of type int64');
  refused('{"HostConfig":{"Mounts":[{"ReadOnly":"yes"}]}}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal string into Go struct field Mount.HostConfig.Mounts.ReadOnly of type bool');
  refused('{"Memory":"x"}', 'ContainerUpdate', 'invalid JSON: json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64');
  refused('{"Cmd":[1]}', 'ExecCreate', 'invalid JSON: json: cannot unmarshal number into Go struct field ExecOptions.Cmd of type string');
  refused('{"Labels":[]}', 'VolumeCreate', 'invalid JSON: json: cannot unmarshal array into Go struct field CreateOptions.Labels of type map[string]string');
  refused('[1]', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal array into Go value of type container.CreateRequest');
});

test('StrSlice fields (Cmd, Entrypoint) take a string or strings, and report as Go StrSlice does', () => {
  refused('{"Image":"b","Cmd":{}}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal object into Go value of type string');
  refused('{"Entrypoint":5}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal number into Go value of type string');
  assert.deepEqual(parseBody('{"Cmd":"echo hi"}', 'ContainerCreate'), { Cmd: ['echo hi'] });
});

test('integers must be whole and fit their Go kind', () => {
  refused('{"HostConfig":{"Memory":1180591620717411303424}}', 'ContainerCreate',
    'invalid JSON: json: cannot unmarshal number 1180591620717411303424 into Go struct field HostConfig.HostConfig.Memory of type int64');
  refused('{"HostConfig":{"Memory":1.5}}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal number 1.5 into Go struct field HostConfig.HostConfig.Memory of type int64');
  refused('{"HostConfig":{"BlkioWeight":-1}}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal number -1 into Go struct field HostConfig.HostConfig.BlkioWeight of type uint16');
  refused('{"BlkioWeight":70000}', 'ContainerUpdate', 'invalid JSON: json: cannot unmarshal number 70000 into Go struct field UpdateConfig.BlkioWeight of type uint16');
  refused('{"HostConfig":{"ConsoleSize":[-1,2]}}', 'ContainerCreate', 'invalid JSON: json: cannot unmarshal number -1 into Go struct field HostConfig.HostConfig.ConsoleSize of type uint');
  assert.deepEqual(parseBody('{"HostConfig":{"Memory":9223372036854774784,"MemorySwap":-1}}', 'ContainerCreate'),
    { HostConfig: { Memory: 9223372036854774784, MemorySwap: -1 } });
});

test('keys match case-insensitively, come out in the spec spelling, and unknown fields are dropped', () => {
  assert.deepEqual(parseBody('{"image":"busybox","hostconfig":{"memory":7000000},"Bogus":{"x":1}}', 'ContainerCreate'),
    { Image: 'busybox', HostConfig: { Memory: 7000000 } });
});

test('null: the body is {}, pointers, slices and maps keep it, other fields are left unset, list items become zero', () => {
  assert.deepEqual(parseBody('null', 'Commit'), {});
  assert.deepEqual(parseBody('', 'ContainerUpdate'), {});
  assert.deepEqual(parseBody('  ', 'ExecStart'), {});
  assert.deepEqual(parseBody('{"Image":null,"Env":null,"HostConfig":{"PidsLimit":null,"Memory":null},"Cmd":[null,"x"]}', 'ContainerCreate'),
    { Env: null, HostConfig: { PidsLimit: null }, Cmd: ['', 'x'] });
});

test('bodies without a schema must still be objects; broken JSON is a 400', () => {
  assert.deepEqual(parseBody('{"a":1}'), { a: 1 });
  assert.throws(() => parseBody('[1]'), /cannot unmarshal array into Go value of type map\[string\]interface \{\}/);
  assert.throws(() => parseBody('{"Image":'), (e: Error) => statusFromError(e) === 400 && /^invalid JSON: /.test(e.message));
});

test('what the docker CLI sends for `run` decodes to itself', () => {
  const body = {
    Hostname: '', Domainname: '', User: '', AttachStdin: false, AttachStdout: true, AttachStderr: true, Tty: false, OpenStdin: false,
    StdinOnce: false, Env: ['A=1'], Cmd: ['sh', '-c', 'echo hi'], Image: 'busybox', Volumes: {}, WorkingDir: '', Entrypoint: null,
    OnBuild: null, Labels: { a: 'b' }, ExposedPorts: { '80/tcp': {} },
    HostConfig: {
      Binds: null, ContainerIDFile: '', LogConfig: { Type: '', Config: {} }, NetworkMode: 'default', PortBindings: { '80/tcp': [{ HostIp: '', HostPort: '8080' }] },
      RestartPolicy: { Name: 'no', MaximumRetryCount: 0 }, AutoRemove: true, VolumeDriver: '', VolumesFrom: null, ConsoleSize: [40, 120],
      CapAdd: null, CapDrop: null, CgroupnsMode: '', Dns: [], DnsOptions: [], DnsSearch: [], ExtraHosts: null, GroupAdd: null, IpcMode: '',
      Cgroup: '', Links: null, OomScoreAdj: 0, PidMode: '', Privileged: false, PublishAllPorts: false, ReadonlyRootfs: false, SecurityOpt: null,
      UTSMode: '', UsernsMode: '', ShmSize: 0, Isolation: '', CpuShares: 0, Memory: 0, NanoCpus: 0, CgroupParent: '', BlkioWeight: 0,
      BlkioWeightDevice: [], Devices: [], Ulimits: [], MemorySwappiness: null, OomKillDisable: null, PidsLimit: null, Init: null,
      Mounts: [{ Type: 'volume', Source: 'v', Target: '/data', VolumeOptions: {} }], MaskedPaths: null, ReadonlyPaths: null,
    },
    NetworkingConfig: { EndpointsConfig: { default: { IPAMConfig: null, Links: null, Aliases: null, MacAddress: '', DriverOpts: null, GwPriority: 0 } } },
  };
  assert.deepEqual(parseBody(JSON.stringify(body), 'ContainerCreate'), body);
});

test('the committed Go-type table matches the Engine API spec', { skip: !specAvailable() && 'the Engine API spec is not on this machine' }, async () => {
  await promisify(execFile)(process.execPath, [join(scriptsDir, 'gen-api-schemas.mjs'), '--check']);
});

function specAvailable(): boolean {
  return ['../shared', '../../shared', '/work/shared'].some((d) => existsSync(join(scriptsDir, '..', d, 'reference', 'docker-engine-api-v1.50.yaml')) || existsSync(join(d, 'reference', 'docker-engine-api-v1.50.yaml')))
    || !!process.env.BERTH_API_SPEC;
}
