/**
 * The worker thread of exec-off-thread.ts: runs each command it is sent with
 * `execFile` and posts back its outcome. Spawning blocks the thread that
 * spawns until the child has exec'd; here that thread is this one.
 */
import { execFile } from 'node:child_process';
import { parentPort } from 'node:worker_threads';
import type { ExecReply, ExecRequest } from './exec-off-thread.js';

parentPort!.on('message', (m: ExecRequest) => {
  execFile(m.file, m.args, { maxBuffer: m.maxBuffer }, (err, stdout, stderr) => {
    const reply: ExecReply = {
      id: m.id, stdout, stderr,
      failure: err ? { code: typeof err.code === 'number' ? err.code : null, message: err.message } : undefined,
    };
    parentPort!.postMessage(reply);
  });
});
