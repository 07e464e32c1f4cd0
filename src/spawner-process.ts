/**
 * The helper process of spawner.ts, forked by berthd: runs each command it
 * is sent with `execFile`, or spawns it and relays its output pipes, and
 * sends back what happened. The forks are this small process's, not
 * berthd's; it ends when berthd lets go of its IPC channel (idle, or
 * berthd exited).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { ExecReply, SpawnerRequest, SpawnEvent } from './spawner.js';

const children = new Map<number, ChildProcess>();
const post = (m: ExecReply | SpawnEvent) => { if (process.connected) process.send!(m); };

// Children already spawned run on (conmon daemonizes; a runtime command finishes): only this relay ends.
process.on('disconnect', () => process.exit(0));

process.on('message', (m: SpawnerRequest) => {
  if (m.type === 'exec') {
    try {
      const child = execFile(m.file, m.args, { maxBuffer: m.maxBuffer, cwd: m.cwd, env: m.env, encoding: 'utf8' }, (err, stdout, stderr) => {
        post({
          type: 'exec', id: m.id, stdout, stderr,
          failure: err ? { code: typeof err.code === 'number' ? err.code : null, message: err.message } : undefined,
        });
      });
      child.stdin?.on('error', () => undefined); // a command that exits without reading: its status tells
      child.stdin?.end(m.input);
    } catch (e) {
      // Bad arguments (a NUL byte) throw at once: that command fails, not the helper and every other in it.
      post({ type: 'exec', id: m.id, stdout: '', stderr: '', failure: { code: null, message: (e as Error).message } });
    }
  } else if (m.type === 'spawn') {
    let child: ChildProcess;
    try {
      child = spawn(m.file, m.args, { cwd: m.cwd, env: m.env, stdio: m.stdio, detached: m.detached });
    } catch (e) {
      post({ type: 'exit', id: m.id, code: null, error: (e as Error).message });
      return;
    }
    children.set(m.id, child);
    let exited = false;
    child.once('error', (e) => { if (!exited) { exited = true; post({ type: 'exit', id: m.id, code: null, error: e.message }); } });
    child.once('exit', (code) => { if (!exited) { exited = true; post({ type: 'exit', id: m.id, code }); } });
    if (m.input !== undefined) {
      child.stdin?.on('error', () => undefined);
      child.stdin?.end(m.input);
    }
    m.stdio.forEach((kind, fd) => {
      if (kind !== 'pipe' || (fd === 0 && m.input !== undefined)) return;
      const s = child.stdio[fd] as Readable;
      let ended = false;
      const end = () => { if (!ended) { ended = true; post({ type: 'end', id: m.id, fd }); } };
      s.on('data', (data: Buffer) => post({ type: 'data', id: m.id, fd, data }));
      s.on('end', end);
      s.on('close', end);
      s.on('error', end);
    });
  } else if (m.type === 'close') {
    const child = children.get(m.id);
    (child?.stdio[m.fd] as Readable | null | undefined)?.destroy();
  } else if (m.type === 'forget') {
    children.get(m.id)?.unref();
    children.delete(m.id);
  }
});
