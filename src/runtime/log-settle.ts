/**
 * Waiting for conmon to have logged what a running container already wrote
 * (and, right after its start, for the container to write anything).
 *
 * A container's output reaches its log through conmon: the process writes
 * into a pipe (or its pty), conmon's main loop reads it and writes it to
 * the k8s-file log before it polls again (`write_k8s_log` flushes every
 * call). Between the process's write and conmon's turn on a busy host lie
 * milliseconds to tens of them, so `docker run -d … echo hi` followed by
 * `docker logs` could come back empty although the container had printed.
 *
 * The kernel gives a clean answer to "is anything still in flight": a
 * write into a pipe or pty wakes its poller before the write returns, and
 * conmon only goes back to sleep in poll(2) once nothing is left to read.
 * So once conmon is seen asleep in poll (state `S`, blocked in poll/ppoll,
 * from /proc), everything the container wrote before that moment is in the
 * log. A conmon that is gone has drained and logged everything too (it
 * does so before it writes the exit file). The wait is bounded: a conmon
 * that never rests (a container that writes without pause, a stopped
 * conmon) costs LOG_SETTLE_MAX_MS, then the log is read as it is.
 */
import { readFile, stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

const LOG_SETTLE_MAX_MS = 250;
const LOG_SETTLE_STEP_MS = 2;

/** poll(2) and its relatives by syscall number (`/proc/<pid>/syscall`'s first field); glib's main loop uses poll or ppoll. */
const POLL_SYSCALLS: Record<string, ReadonlySet<string>> = {
  x64: new Set(['7', '271', '23', '270', '232', '281']), // poll ppoll select pselect6 epoll_wait epoll_pwait
  arm64: new Set(['73', '72', '22']), // ppoll pselect6 epoll_pwait
};

type Seen = 'idle' | 'busy' | 'gone';

/** What conmon `pid` is doing now; 'gone' when it is not there (or the pid is no longer a conmon). */
async function conmonState(pid: number, polls: ReadonlySet<string>): Promise<Seen> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'latin1');
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    if (stat.slice(open + 1, close) !== 'conmon') return 'gone';
    const state = stat.slice(close + 2, close + 3);
    if (state === 'Z' || state === 'X') return 'gone';
    if (state !== 'S') return 'busy';
    const syscall = (await readFile(`/proc/${pid}/syscall`, 'latin1')).split(' ')[0];
    return polls.has(syscall) ? 'idle' : 'busy';
  } catch {
    return 'gone';
  }
}

/**
 * Resolves once conmon (its pid in `conmonPidFile`) has logged everything
 * the container wrote before the call, or after LOG_SETTLE_MAX_MS. Never
 * throws: without a pid file, or on a platform whose /proc says nothing
 * useful, it resolves at once.
 */
export async function logWriterSettled(conmonPidFile: string): Promise<void> {
  const polls = POLL_SYSCALLS[process.arch];
  if (!polls) return;
  const pid = Number((await readFile(conmonPidFile, 'latin1').catch(() => '')).trim());
  if (!Number.isInteger(pid) || pid <= 0) return;
  const deadline = Date.now() + LOG_SETTLE_MAX_MS;
  while ((await conmonState(pid, polls)) === 'busy' && Date.now() < deadline) await sleep(LOG_SETTLE_STEP_MS);
}

/** How long after its start a container that has logged nothing yet is given to print. */
const FIRST_OUTPUT_GRACE_MS = 300;
const FIRST_OUTPUT_STEP_MS = 5;

/**
 * `logs` right after `start`: the runtime returns from start before the
 * container's process has run its first instruction, and on dockerd the
 * hops between start and the next request take longer than a process
 * needs to print (docker-py's build tests start `ls -a` and read its logs
 * at once). So a container started less than FIRST_OUTPUT_GRACE_MS ago
 * whose log has not been written since is given until then to write it,
 * or to exit. Nothing else waits: a container with output, or an older
 * one, is read at once.
 */
export async function firstOutputGrace(logPath: string, startedAtMs: number, running: () => boolean): Promise<void> {
  const until = startedAtMs + FIRST_OUTPUT_GRACE_MS;
  while (Date.now() < until && running()) {
    const st = await stat(logPath).catch(() => null);
    // Written since the start was recorded. conmon creates the file before the start, so its
    // creation does not count; output logged before the start was recorded costs the grace.
    if (st && st.mtimeMs >= startedAtMs) return;
    await sleep(FIRST_OUTPUT_STEP_MS);
  }
}
