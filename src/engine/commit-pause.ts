/**
 * The pause `commit` makes, and its undoing after a crash. commit freezes a
 * running container while it reads the upper dir (a consistent layer); a
 * berthd killed meanwhile would leave the container frozen for good, and a
 * restarted berthd could not tell that pause from one the user asked for.
 *
 * So commit writes a marker, `containers/<id>/commit-paused`, before it
 * freezes and removes it after it thaws. At start-up, a marker means the
 * pause (if any) is berth's own: the container is resumed — whether its
 * record says paused or berthd died between the freeze and the record — and
 * the marker goes. Without a marker a pause is the user's and stays.
 */
import { open, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DataPaths } from '../store/paths.js';
import type { ContainerRecord } from '../store/container-store.js';
import type { OciRuntime } from '../runtime/oci-runtime.js';
import { errorMessage } from '../errors.js';

function markerPath(paths: DataPaths, id: string): string {
  return join(paths.containerDir(id), 'commit-paused');
}

/**
 * Freezes the container for a commit, the marker first (on disk before the
 * freeze). Called with the container's operation queue held, and only for a
 * container that is running and not paused then.
 */
export async function pauseForCommit(paths: DataPaths, id: string, pause: () => Promise<void>): Promise<void> {
  const fh = await open(markerPath(paths, id), 'w', 0o600);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  try {
    await pause();
  } catch (e) {
    await rm(markerPath(paths, id), { force: true });
    throw e;
  }
}

/**
 * Whether the container's pause is still commit's own: the marker is gone
 * once the user unpaused it (forgetCommitPause), and then a pause it has now
 * is the user's, which commit must not undo.
 */
export async function isCommitPause(paths: DataPaths, id: string): Promise<boolean> {
  return stat(markerPath(paths, id)).then(() => true, () => false);
}

/**
 * Thaws the container after a commit; the marker goes once the thaw is done.
 * A thaw that failed keeps it, so the next start-up tries again.
 */
export async function unpauseAfterCommit(paths: DataPaths, id: string, unpause: () => Promise<void>): Promise<void> {
  await unpause();
  await rm(markerPath(paths, id), { force: true });
}

/**
 * The user unpaused the container: whatever pause comes next is theirs, so a
 * commit still running must not leave a marker that a restart would take for
 * its own.
 */
export async function forgetCommitPause(paths: DataPaths, id: string): Promise<void> {
  await rm(markerPath(paths, id), { force: true });
}

export interface CommitPauseHost {
  all(): ContainerRecord[];
  /** The API's unpause: resumes the container and records it (an `unpause` event). */
  unpause(id: string): Promise<void>;
  runtime(c: ContainerRecord): OciRuntime;
}

/**
 * Start-up reconciliation (after the containers' own): resumes every
 * container a commit paused when berthd died, and only those.
 */
export async function undoCommitPauses(paths: DataPaths, host: CommitPauseHost): Promise<void> {
  for (const c of host.all()) {
    const marker = markerPath(paths, c.Id);
    if (!(await isCommitPause(paths, c.Id))) continue;
    try {
      let resumed = false;
      if (c.State.Running && c.State.Paused) {
        await host.unpause(c.Id);
        resumed = true;
      } else if (c.State.Running) {
        // Frozen by the runtime, but berthd died before it recorded the pause.
        const runtime = host.runtime(c);
        if ((await runtime.state(c.Id))?.status === 'paused') { await runtime.resume(c.Id); resumed = true; }
      }
      if (resumed) console.error(`berthd: container ${c.Id.slice(0, 12)} was paused by a commit berthd did not finish; resumed it`);
    } catch (e) {
      console.error(`berthd: resuming container ${c.Id.slice(0, 12)} after an unfinished commit: ${errorMessage(e)}`);
    }
    await rm(marker, { force: true });
  }
}
