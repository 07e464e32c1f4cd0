/**
 * Rotation of a container's log into several files, as Docker's json-file
 * driver does with `max-size` and `max-file` (moby
 * `daemon/logger/loggerutils/logfile.go`): at most `max-file` files of about
 * `max-size` bytes each, the oldest dropped, and `docker logs` reading them
 * all in order.
 *
 * The writer is conmon. With `--log-size-max` it ends a file itself before
 * a write would pass the limit: it creates `<log>.tmp` (O_TRUNC) and renames
 * it over `<log>`, which unlinks the old file. berth keeps the old files by
 * giving every log file a second, numbered name before conmon replaces it:
 *
 * - the file being written has a link `<log>.<n>`;
 * - a fresh empty file is made ready as `<log>.<n+1>` and linked as
 *   `<log>.tmp`, so when conmon rotates it opens (and renames into place) a
 *   file that already has its numbered name;
 * - the old file keeps its numbered name when conmon renames over `<log>`;
 *   numbered files past `max-file - 1` (besides the one being written) go.
 *
 * A `LogRotator` does this on every change of the log's directory (and once
 * a second, in case a watch event is lost). Output is lost only when conmon
 * rotates twice before the rotator sees the first (more than `max-size`
 * written in one such moment), or while berthd is down: conmon then still
 * keeps each file under `max-size`, as with one file.
 *
 * Numbered names are berth's own (Docker's are `<log>.1` for the newest);
 * nothing outside berth reads them.
 */
import { watch, type FSWatcher } from 'node:fs';
import { link, open, readdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** How often the rotator looks without a change notification. */
const POLL_MS = 1000;

interface Numbered { seq: number; path: string; ino: number }

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException).code;
}

async function inode(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).ino;
  } catch (e) {
    if (errCode(e) === 'ENOENT') return undefined;
    throw e;
  }
}

/** `<log>.<n>` files, by number. */
async function numbered(logPath: string): Promise<Numbered[]> {
  const dir = dirname(logPath);
  const prefix = `${basename(logPath)}.`;
  const out: Numbered[] = [];
  let names: string[];
  try { names = await readdir(dir); } catch (e) { if (errCode(e) === 'ENOENT') return out; throw e; }
  for (const name of names) {
    if (!name.startsWith(prefix) || !/^\d{1,15}$/.test(name.slice(prefix.length))) continue;
    const path = join(dir, name);
    const ino = await inode(path);
    if (ino !== undefined) out.push({ seq: Number(name.slice(prefix.length)), path, ino });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

/**
 * The rotated files of a log, oldest first: every numbered file but the
 * one being written (which is read as `<log>` itself) and the empty one
 * made ready for conmon's next rotation.
 */
export async function rotatedLogFiles(logPath: string, openIno?: number): Promise<string[]> {
  const [files, current, ready] = await Promise.all([numbered(logPath), inode(logPath), inode(`${logPath}.tmp`)]);
  // `openIno`: the file a reader holds as the current one, which a rotation may have numbered since.
  return files.filter((f) => f.ino !== current && f.ino !== ready && f.ino !== openIno).map((f) => f.path);
}

/** Keeps the rotated files of one running container's log (see the module comment). */
export class LogRotator {
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private closed = false;

  /** `maxFiles` counts the file being written too, as Docker's `max-file` does (≥ 2). */
  constructor(private readonly logPath: string, private readonly maxFiles: number, private readonly onError: (e: unknown) => void = () => undefined) {}

  /** Links the current file and makes the next one ready, then follows the directory. */
  async start(): Promise<void> {
    await this.step();
    if (this.closed) return;
    const dir = dirname(this.logPath);
    const names = new Set([basename(this.logPath), `${basename(this.logPath)}.tmp`]);
    try {
      this.watcher = watch(dir, { persistent: false }, (event, name) => {
        // A rotation is a rename in the directory; writes to the log are `change`s and need nothing.
        if (event === 'rename' && (!name || names.has(name.toString()))) this.kick();
      });
      this.watcher.on('error', () => { this.watcher?.close(); this.watcher = null; });
    } catch {
      this.watcher = null; // the timer alone
    }
    this.timer = setInterval(() => this.kick(), POLL_MS);
    this.timer.unref();
  }

  /** Stops following; the files stay (the reader needs them until the container is removed). */
  async close(): Promise<void> {
    this.closed = true;
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One step at a time; a kick during a step runs one more after it. */
  private kick(): void {
    if (this.closed) return;
    if (this.running) { this.again = true; return; }
    this.running = this.step().catch(this.onError).finally(() => {
      this.running = null;
      if (this.again) { this.again = false; this.kick(); }
    });
  }

  private async step(): Promise<void> {
    const log = this.logPath;
    const ready = `${log}.tmp`;
    let files = await numbered(log);
    let next = (files.at(-1)?.seq ?? 0) + 1;
    const current = await inode(log);
    if (current === undefined) return; // conmon has not made it yet
    if (!files.some((f) => f.ino === current)) {
      // The file being written has no number yet (the first one, or one conmon made itself).
      await link(log, `${log}.${next}`).catch((e) => { if (errCode(e) !== 'EEXIST') throw e; });
      next++;
    }
    if ((await inode(ready)) === undefined) {
      const path = `${log}.${next}`;
      const fh = await open(path, 'wx', 0o600);
      await fh.close();
      try {
        await link(path, ready);
      } catch (e) {
        await unlink(path).catch(() => undefined);
        if (errCode(e) !== 'EEXIST') throw e; // conmon is creating its own .tmp this instant: next step
      }
    }
    files = await numbered(log);
    const [cur, tmp] = await Promise.all([inode(log), inode(ready)]);
    const old = files.filter((f) => f.ino !== cur && f.ino !== tmp);
    for (const f of old.slice(0, Math.max(0, old.length - (this.maxFiles - 1)))) {
      await unlink(f.path).catch((e) => { if (errCode(e) !== 'ENOENT') throw e; });
    }
  }
}
