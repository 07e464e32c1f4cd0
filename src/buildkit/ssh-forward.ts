/**
 * The client's ssh-agents over its session (`moby.sshforward.v1.SSH`, which
 * buildx serves for `--ssh default|<id>=<socket or key>`):
 *
 * - `CheckAgent{ID}` is a unary call that fails when the client has no
 *   agent of that id (buildx: "unset ssh forward key <id>");
 * - `ForwardAgent` is one bidirectional stream per connection a RUN makes
 *   to its agent socket. The agent's id rides in the call's metadata
 *   (`buildkit.ssh.id`); the bytes travel as BytesMessage chunks both ways.
 *   Ending the writing side (the RUN's connection half-closes) ends the
 *   request stream; the end of the response closes the connection.
 *
 * What flows here is the agent protocol of the client's keys: it is never
 * logged, and a failure on either side ends that one connection.
 */
import { once } from 'node:events';
import type net from 'node:net';
import type { SshAgents } from '../build/ssh-mounts.js';
import { noAgentError } from '../build/ssh-mounts.js';
import { errorMessage } from '../errors.js';
import type { ClientCall } from './grpc-client.js';
import { GrpcCode } from './grpc-frames.js';
import { GrpcStatusError } from './grpc-server.js';
import { decode, encode } from './messages.js';
import type { ClientSession } from './sessions.js';

export const CHECK_AGENT_METHOD = '/moby.sshforward.v1.SSH/CheckAgent';
export const FORWARD_AGENT_METHOD = '/moby.sshforward.v1.SSH/ForwardAgent';
/** The metadata key naming the agent of a ForwardAgent call (buildkit's sshforward.KeySSHID). */
export const SSH_ID_METADATA = 'buildkit.ssh.id';

export function sessionSshAgents(session: ClientSession): SshAgents {
  return {
    check: (id, signal) => checkAgent(session, id, signal),
    forward: (id, conn) => forwardAgent(session, id, conn),
  };
}

async function checkAgent(session: ClientSession, id: string, signal: AbortSignal): Promise<string | undefined> {
  // A client without --ssh serves no SSH methods: BuildKit's answer to UNIMPLEMENTED.
  if (!session.methods.has(CHECK_AGENT_METHOD) || !session.methods.has(FORWARD_AGENT_METHOD)) return noAgentError(id);
  let call: ClientCall;
  try {
    call = session.conn.call(CHECK_AGENT_METHOD);
  } catch (e) {
    return errorMessage(e);
  }
  const onAbort = () => call.cancel();
  signal.addEventListener('abort', onAbort);
  try {
    call.send(encode('CheckAgentRequest', { ID: id }));
    call.end();
    for await (const m of call.messages()) decode('CheckAgentResponse', m);
    await call.done;
    return undefined;
  } catch (e) {
    if (e instanceof GrpcStatusError && e.code === GrpcCode.UNIMPLEMENTED) return noAgentError(id);
    return errorMessage(e);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

function forwardAgent(session: ClientSession, id: string, conn: net.Socket): void {
  let call: ClientCall;
  try {
    call = session.conn.call(FORWARD_AGENT_METHOD, { [SSH_ID_METADATA]: id });
  } catch {
    conn.destroy();
    return;
  }
  const cut = () => { call.cancel(); conn.destroy(); };
  // The RUN closed its connection (or release cut it): the call has nobody to answer.
  conn.once('close', () => call.cancel());
  call.done.catch(cut);

  // RUN → agent: each chunk the connection gives is one message; its end is the request's end.
  void (async () => {
    for await (const chunk of conn as AsyncIterable<Buffer>) await call.write(encode('BytesMessage', { data: chunk }));
    call.end();
  })().catch(cut);

  // agent → RUN, at the pace the RUN reads.
  void (async () => {
    for await (const m of call.messages()) {
      const { data } = decode<{ data: Buffer }>('BytesMessage', m);
      if (data.length === 0 || conn.destroyed) continue;
      if (!conn.write(data)) await Promise.race([once(conn, 'drain'), once(conn, 'close')]);
    }
    if (!conn.destroyed) conn.end();
  })().catch(cut);
}
