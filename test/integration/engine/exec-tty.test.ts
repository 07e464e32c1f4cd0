/**
 * Exec's pty and framing, as dockerd has them (daemon/exec.go,
 * api/server/router/container/exec.go): the pty is the one exec *create*
 * asked for (`Tty`), while start's `Tty` only picks how the output comes
 * back (raw bytes, or stdcopy frames). docker-py's ExecDemuxTest creates
 * with a tty and starts without one, and expects the pty's `\r\n` output in
 * stdout frames. The detach keys are create's, read in any letter case like
 * every body key (Go's decoder), checked at create, and only a pty has them;
 * the end of the client's stdin closes the process's stdin without a pty
 * and ends the attachment with one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startDaemon, skipUnlessRoot, withTimeout, type Daemon } from '../../helpers/daemon.js';
import { importBusybox } from '../../helpers/busybox.js';
import { createContainer, start } from './api.js';
import { byStream, demux, hijack } from './hijack-client.js';

const OUT_ERR = ['sh', '-c', 'echo hello out; echo hello err >&2'];

describe('exec: the pty comes from create, the framing from start', { skip: skipUnlessRoot() }, () => {
  let d!: Daemon;
  let ctr = '';
  before(async () => {
    d = await startDaemon();
    await importBusybox(d);
    ctr = await createContainer(d, { Cmd: ['sleep', '100000'] });
    await start(d, ctr);
  }, { timeout: 120_000 });
  after(async () => { await d?.stop(); });

  const execCreate = async (body: Record<string, unknown>): Promise<string> => {
    const r = await d.request('POST', `/containers/${ctr}/exec`, body);
    assert.equal(r.status, 201, r.text);
    return r.json().Id as string;
  };
  const execInspect = async (id: string): Promise<any> => {
    const r = await d.request('GET', `/exec/${id}/json`);
    assert.equal(r.status, 200, r.text);
    return r.json();
  };

  test('created with a tty, started without: the pty output (\\r\\n) in stdout frames', async () => {
    const id = await execCreate({ Cmd: OUT_ERR, Tty: true, AttachStdout: true, AttachStderr: true });
    const h = await hijack(d.socket, 'POST', `/exec/${id}/start`, { body: { Tty: false, Detach: false } });
    assert.equal(h.status, 101);
    assert.equal(h.headers['content-type'], 'application/vnd.docker.multiplexed-stream');
    const frames = demux(await withTimeout(h.rest, 30_000, 'exec output'));
    assert.deepEqual(byStream(frames), { stdout: 'hello out\r\nhello err\r\n', stderr: '' });
  });

  test('created without a tty, started with one: no pty, the two streams raw and unframed', async () => {
    const id = await execCreate({ Cmd: OUT_ERR, AttachStdout: true, AttachStderr: true });
    const h = await hijack(d.socket, 'POST', `/exec/${id}/start`, { body: { Tty: true } });
    assert.equal(h.status, 101);
    assert.equal(h.headers['content-type'], 'application/vnd.docker.raw-stream');
    const out = (await withTimeout(h.rest, 30_000, 'exec output')).toString('utf8');
    assert.ok(out.includes('hello out\n') && out.includes('hello err\n'), JSON.stringify(out));
    assert.ok(!out.includes('\r'), `no pty, so no \\r: ${JSON.stringify(out)}`);
  });

  test('a plain (not upgraded) start frames the same way', async () => {
    const id = await execCreate({ Cmd: OUT_ERR, Tty: true, AttachStdout: true, AttachStderr: true });
    const r = await d.request('POST', `/exec/${id}/start`, { Tty: false });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(byStream(demux(r.body)), { stdout: 'hello out\r\nhello err\r\n', stderr: '' });
  });

  test("start's ConsoleSize needs start's Tty; create's applies to the pty", async () => {
    // crun 1.8 sizes an exec's pty a moment after the process starts (runc before): ask until it has a size.
    const sttySize = 'for i in $(seq 100); do s=$(stty size 2>/dev/null); [ -n "$s" ] && break; sleep 0.05; done; echo "$s"';
    const id = await execCreate({ Cmd: ['sh', '-c', sttySize], Tty: true, ConsoleSize: [30, 100], AttachStdout: true });
    const h = await hijack(d.socket, 'POST', `/exec/${id}/start`, { body: { Tty: false, ConsoleSize: [10, 20] } });
    assert.deepEqual(byStream(demux(await withTimeout(h.rest, 30_000, 'exec output'))), { stdout: '30 100\r\n', stderr: '' });
  });

  test('create keys in any letter case; the detach keys (ctrl-x) end a pty session, the process runs on', async () => {
    const id = await execCreate({ cmd: ['cat'], tty: true, attachstdin: true, ATTACHSTDOUT: true, detachKeys: 'ctrl-x' });
    const info = await execInspect(id);
    assert.equal(info.ProcessConfig.tty, true);
    assert.equal(info.OpenStdin, true);
    // moby's ExecInspect carries the keys as bytes: base64 in JSON.
    assert.equal(info.DetachKeys, Buffer.from([24]).toString('base64'));
    const h = await hijack(d.socket, 'POST', `/exec/${id}/start`, { body: { tty: true } });
    assert.equal(h.status, 101);
    h.socket.write('hi\n');
    // The pty echoes the input and cat repeats it; then ctrl-x detaches.
    let seen = '';
    await withTimeout(new Promise<void>((resolve) => {
      h.socket.on('data', (b: Buffer) => { seen += b.toString('utf8'); if (seen.split('hi').length > 2) resolve(); });
    }), 30_000, 'echo of the input');
    h.socket.write(Buffer.from([0x18]));
    await withTimeout(h.rest, 30_000, 'the detach to end the stream');
    const after = await execInspect(id);
    assert.equal(after.Running, true, 'detaching leaves the process running');
  });

  test('without a pty there are no detach keys: the bytes reach the process', async () => {
    const id = await execCreate({ Cmd: ['cat'], AttachStdin: true, AttachStdout: true, DetachKeys: 'ctrl-x' });
    const h = await hijack(d.socket, 'POST', `/exec/${id}/start`, { body: { Tty: false } });
    h.socket.end(Buffer.from('a\x18b\n'));
    const frames = demux(await withTimeout(h.rest, 30_000, 'exec output'));
    assert.deepEqual(byStream(frames), { stdout: 'a\x18b\n', stderr: '' });
    assert.equal((await execInspect(id)).ExitCode, 0);
  });

  test("with a pty, the end of the client's stdin ends the attachment", async () => {
    const id = await execCreate({ Cmd: ['cat'], Tty: true, AttachStdin: true, AttachStdout: true });
    const h = await hijack(d.socket, 'POST', `/exec/${id}/start`, { body: { Tty: true } });
    assert.equal(h.status, 101);
    h.socket.end();
    await withTimeout(h.rest, 30_000, 'the stream to end after stdin ended');
  });

  test('an unknown user is refused at create (400, dockerd 28 words); streams not asked for are not attached', async () => {
    const r = await d.request('POST', `/containers/${ctr}/exec`, { Cmd: ['whoami'], User: 'postgres', AttachStdout: true });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.json().message, 'unable to find user postgres: no matching entries in passwd file');
    // Go's zero values: without AttachStdout/AttachStderr the exec runs, its output goes nowhere.
    const id = await execCreate({ Cmd: OUT_ERR });
    const h = await hijack(d.socket, 'POST', `/exec/${id}/start`, { body: {} });
    assert.equal(h.status, 101);
    assert.equal((await withTimeout(h.rest, 30_000, 'exec output')).length, 0);
    assert.equal((await execInspect(id)).ExitCode, 0);
  });

  test("a missing working directory is runc's error in the stream, worded as dockerd (with runc) words it", async () => {
    const c2 = await createContainer(d, { Cmd: ['sleep', '100000'], HostConfig: { Runtime: 'runc' } });
    try {
      await start(d, c2);
      const r = await d.request('POST', `/containers/${c2}/exec`, { Cmd: ['pwd'], WorkingDir: '/var/opt', AttachStdout: true, AttachStderr: true });
      assert.equal(r.status, 201, r.text);
      const h = await hijack(d.socket, 'POST', `/exec/${r.json().Id}/start`, { body: { Tty: false } });
      const out = byStream(demux(await withTimeout(h.rest, 30_000, 'exec output')));
      assert.equal(out.stdout, 'OCI runtime exec failed: exec failed: unable to start container process: chdir to cwd ("/var/opt") set in config.json failed: no such file or directory: unknown\r\n');
    } finally {
      await d.request('DELETE', `/containers/${c2}?force=1`);
    }
  });

  test('detach keys that are not Docker key names are refused at create, in dockerd words', async () => {
    for (const keys of ['ctrl-P', 'ctrl-p, ctrl-q', 'ctrl-', 'alt-x', 'é']) {
      const r = await d.request('POST', `/containers/${ctr}/exec`, { Cmd: ['true'], DetachKeys: keys });
      assert.equal(r.status, 500, `${keys}: ${r.text}`);
      assert.equal(r.json().message, `Invalid escape keys (${keys}) provided`);
    }
    for (const keys of ['ctrl-p,ctrl-q', 'a,DEL', 'ctrl-@,ctrl-_', 'ctrl-\\']) {
      const r = await d.request('POST', `/containers/${ctr}/exec`, { Cmd: ['true'], DetachKeys: keys });
      assert.equal(r.status, 201, `${keys}: ${r.text}`);
    }
  });
});
