/**
 * Request bodies are checked at the API boundary as dockerd checks them:
 * wrong JSON types and values dockerd refuses are 400s in Docker's words,
 * `null` bodies are `{}`, a JSON body over the limit is a 413 that closes
 * the connection, and whatever create accepts inspects back into the API's
 * shape. Raw HTTP against a private daemon.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { startDaemon, withTimeout, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { parseBody } from '../../../src/api/validate.js';
import { MAX_JSON_BODY_BYTES } from '../../../src/api/json-body.js';

let d: Daemon;
before(async () => {
  d = await startDaemon();
  await importBusybox(d);
});
after(async () => { await d?.stop(); });

const json = { 'Content-Type': 'application/json' };

async function refused(path: string, body: string, status: number, message: string): Promise<void> {
  const r = await d.request('POST', path, body, { headers: json });
  assert.equal(r.status, status, `${path} ${body}: ${r.text}`);
  assert.equal(r.json().message, message, `${path} ${body}`);
}

/** The invariant: a stored container inspects, and its Config and HostConfig decode as the API's Go types. */
async function inspectsBack(id: string): Promise<any> {
  const r = await d.request('GET', `/containers/${id}/json`);
  assert.equal(r.status, 200, r.text);
  const view = r.json();
  parseBody(JSON.stringify(view.Config), 'Commit');
  parseBody(JSON.stringify({ HostConfig: view.HostConfig }), 'ContainerCreate');
  return view;
}

async function containerCount(): Promise<number> {
  return (await d.request('GET', '/containers/json?all=1')).json().length;
}

describe('wrong JSON types are 400s with Go encoding/json wording', () => {
  const cases: [string, string][] = [
    ['{"Image":5}', 'invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Image of type string'],
    ['{"Image":"busybox","Cmd":{}}', 'invalid JSON: json: cannot unmarshal object into Go value of type string'],
    ['{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":"lots"}}', 'invalid JSON: json: cannot unmarshal string into Go struct field HostConfig.HostConfig.Memory of type int64'],
    ['{"Image":"busybox","Cmd":["true"],"HostConfig":{"Memory":1180591620717411303424}}',
      'invalid JSON: json: cannot unmarshal number 1180591620717411303424 into Go struct field HostConfig.HostConfig.Memory of type int64'],
    ['{"Image":"busybox","Cmd":["true"],"Env":"A=1"}', 'invalid JSON: json: cannot unmarshal string into Go struct field CreateRequest.Env of type []string'],
    ['[]', 'invalid JSON: json: cannot unmarshal array into Go value of type container.CreateRequest'],
  ];
  for (const [body, message] of cases) {
    test(`create ${body}`, async () => {
      const before = await containerCount();
      await refused('/containers/create', body, 400, message);
      assert.equal(await containerCount(), before, 'nothing was created');
    });
  }

  test('update, exec, network and volume bodies are checked too', async () => {
    const id = (await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] })).json().Id;
    await refused(`/containers/${id}/update`, '{"Memory":"x"}', 400, 'invalid JSON: json: cannot unmarshal string into Go struct field UpdateConfig.Memory of type int64');
    await refused(`/containers/${id}/exec`, '{"Cmd":"ls"}', 400, 'invalid JSON: json: cannot unmarshal string into Go struct field ExecOptions.Cmd of type []string');
    await refused('/networks/create', '{"Name":5}', 400, 'invalid JSON: json: cannot unmarshal number into Go struct field CreateRequest.Name of type string');
    await refused('/volumes/create', '{"Labels":["a"]}', 400, 'invalid JSON: json: cannot unmarshal array into Go struct field CreateOptions.Labels of type map[string]string');
    await inspectsBack(id);
  });
});

describe('values dockerd refuses at create are 400s with its words', () => {
  const base = { Image: 'busybox', Cmd: ['true'] };
  const cases: [Record<string, unknown>, string][] = [
    [{ Env: [''] }, 'invalid environment variable: '],
    [{ Env: ['='] }, 'invalid environment variable: ='],
    [{ Env: ['=foo'] }, 'invalid environment variable: =foo'],
    [{ Healthcheck: { Test: ['CMD', 'true'], Interval: 500_000 } }, 'Interval in Healthcheck cannot be less than 1ms'],
    [{ Healthcheck: { Test: ['CMD', 'true'], Retries: -1 } }, 'Retries in Healthcheck cannot be negative'],
    [{ HostConfig: { OomScoreAdj: 5000 } }, 'Invalid value 5000, range for oom score adj is [-1000, 1000]'],
    [{ HostConfig: { ShmSize: -1 } }, 'SHM size can not be less than 0'],
    [{ HostConfig: { RestartPolicy: { Name: 'on-failure', MaximumRetryCount: -1 } } }, 'invalid restart policy: maximum retry count cannot be negative'],
  ];
  for (const [extra, message] of cases) {
    test(`create ${JSON.stringify(extra)}`, async () => {
      await refused('/containers/create', JSON.stringify({ ...base, ...extra }), 400, message);
    });
  }
});

describe('null and odd bodies that dockerd accepts', () => {
  test('a null commit body (the Go client sends one) commits', async () => {
    const id = (await d.request('POST', '/containers/create', { Image: 'busybox', Cmd: ['true'] })).json().Id;
    const r = await d.request('POST', `/commit?container=${id}&repo=validation-null-commit`, 'null', { headers: json });
    assert.equal(r.status, 201, r.text);
    assert.match(r.json().Id, /^sha256:/);
    const u = await d.request('POST', `/containers/${id}/update`, 'null', { headers: json });
    assert.equal(u.status, 200, u.text);
  });

  test('a null create body is dockerd\'s "config cannot be empty"', async () => {
    await refused('/containers/create', 'null', 400, 'config cannot be empty in order to create a container');
  });

  test('accepted odd inputs inspect back into the API shape', async () => {
    const bodies = [
      '{"image":"busybox","cmd":"true","hostconfig":{"memory":8388608}}',
      '{"Image":"busybox","Cmd":"true","Env":null,"Labels":null,"HostConfig":null,"NetworkingConfig":null,"Bogus":{"x":[1]}}',
      '{"Image":"busybox","Cmd":["true",null],"Entrypoint":null,"HostConfig":{"Memory":null,"RestartPolicy":null,"PidsLimit":null,"ConsoleSize":null}}',
      '{"Image":"busybox","Cmd":["true"],"Healthcheck":{"Test":["CMD","true"],"Interval":1000000},"HostConfig":{"OomScoreAdj":-1000,"ShmSize":0,"Isolation":"default"}}',
    ];
    for (const body of bodies) {
      const r = await d.request('POST', '/containers/create', body, { headers: json });
      assert.equal(r.status, 201, `${body}: ${r.text}`);
      const view = await inspectsBack(r.json().Id);
      assert.ok(Array.isArray(view.Config.Cmd) && view.Config.Cmd.every((s: unknown) => typeof s === 'string'), body);
      assert.equal(typeof view.HostConfig.Memory, 'number', body);
      assert.equal(view.Config.Bogus, undefined);
    }
  });
});

describe('body size', () => {
  test('a declared Content-Length over the limit is a 413 that closes the connection', async () => {
    const r = await rawRequest(
      `POST /containers/create HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nContent-Length: ${MAX_JSON_BODY_BYTES + 1}\r\n\r\n{"Image":"`,
    );
    assert.match(r, /^HTTP\/1\.1 413 /);
    assert.match(r, /\r\nConnection: close\r\n/i);
    assert.match(r, /request body is too large/);
  });

  test('a hijacked exec start declaring a body over the limit is a 413 before anything is read', async () => {
    const r = await rawRequest(
      `POST /exec/${'0'.repeat(64)}/start HTTP/1.1\r\nHost: berth\r\nConnection: Upgrade\r\nUpgrade: tcp\r\nContent-Type: application/json\r\n`
      + `Content-Length: ${100 * 1024 * 1024}\r\n\r\n{"Detach":false,`,
    );
    assert.match(r, /^HTTP\/1\.1 413 /, r.slice(0, 200));
  });

  test('a chunked body is cut at the limit with a 413 while /_ping still answers during the upload', async () => {
    const sock = connect(d.socket);
    await new Promise<void>((resolve, reject) => { sock.once('connect', resolve); sock.once('error', reject); });
    const got: Buffer[] = [];
    let answered: () => void = () => undefined;
    const answer = new Promise<void>((resolve) => { answered = resolve; });
    sock.on('data', (c) => { got.push(c); if (Buffer.concat(got).includes('\r\n\r\n')) answered(); });
    const closed = new Promise<void>((resolve) => sock.once('close', () => { answered(); resolve(); }));
    sock.on('error', () => undefined); // the server may reset a socket it stopped reading
    try {
      sock.write('POST /containers/create HTTP/1.1\r\nHost: berth\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n');
      const chunk = Buffer.alloc(256 * 1024, 'a');
      const writeChunk = () => new Promise<void>((resolve) => {
        if (sock.destroyed) { resolve(); return; }
        sock.write(`${chunk.length.toString(16)}\r\n`);
        sock.write(chunk);
        sock.write('\r\n', () => resolve());
      });
      for (let i = 0; i < 4; i++) await writeChunk();
      // The upload is in progress and unfinished: other requests are answered meanwhile.
      const ping = await d.request('GET', '/_ping');
      assert.equal(ping.status, 200);
      for (let sent = 4 * chunk.length; sent <= MAX_JSON_BODY_BYTES && !sock.destroyed && got.length === 0; sent += chunk.length) await writeChunk();
      // Past the limit; a server that kept reading gets the end of the body and answers whatever it answers.
      if (!sock.destroyed && got.length === 0) sock.write('0\r\n\r\n');
      await withTimeout(answer, 60_000, 'the answer to the oversized upload');
      const text = Buffer.concat(got).toString('latin1');
      assert.match(text, /^HTTP\/1\.1 413 /, text.slice(0, 200));
      await withTimeout(closed, 30_000, 'the server closing the connection after its 413');
    } finally {
      sock.destroy();
    }
    assert.equal((await d.request('GET', '/_ping')).status, 200);
  });
});

describe('normal clients still pass', () => {
  test('docker run with healthcheck, limits and a restart policy', async () => {
    const r = await d.docker([
      'run', '--rm', '-e', 'A=1', '--health-cmd', 'true', '--health-interval', '1s', '--memory', '64m', '--shm-size', '32m',
      '--oom-score-adj', '100', '--label', 'x=y', 'busybox', 'sh', '-c', 'echo $A',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), '1');
    const c = await d.docker(['create', '--restart', 'on-failure:3', '--name', 'validation-restart', 'busybox', 'true']);
    assert.equal(c.code, 0, c.stderr);
    const commit = await d.docker(['commit', 'validation-restart', 'validation-committed']);
    assert.equal(commit.code, 0, commit.stderr);
  });
});

/** Writes `head` on a fresh connection and returns everything the server sends until it closes. */
function rawRequest(head: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock: Socket = connect(d.socket, () => sock.write(head));
    const got: Buffer[] = [];
    const timer = setTimeout(() => { sock.destroy(); reject(new Error(`no close: ${Buffer.concat(got).toString('latin1')}`)); }, 30_000);
    sock.on('data', (c) => got.push(c));
    sock.on('error', () => undefined);
    sock.on('close', () => { clearTimeout(timer); resolve(Buffer.concat(got).toString('latin1')); });
  });
}
