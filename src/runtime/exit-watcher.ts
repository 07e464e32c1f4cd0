/**
 * conmon records a container's end by writing its exit code, as decimal
 * text, to `<exit-dir>/<container id>` (after all output was logged). One
 * inotify watch on that directory therefore sees every container exit, and
 * a scan at start-up catches the exits that happened while nobody watched
 * (conmon outlives the daemon).
 */
import { readdirSync, readFileSync, statSync, watch, type FSWatcher, type Stats } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The exit code conmon recorded for `id`, or null when there is none (yet).
 * conmon writes the file atomically (temp file + rename), so a present file
 * is complete.
 */
export function readExitCode(exitDir: string, id: string): number | null {
  let text: string;
  try {
    text = readFileSync(join(exitDir, id), 'utf8');
  } catch {
    return null;
  }
  return parseExitCode(text);
}

function parseExitCode(text: string): number | null {
  return /^\s*-?\d+\s*$/.test(text) ? Number.parseInt(text, 10) : null;
}

/**
 * Calls `onExit(id, code)` for every exit file present now and for each one
 * that appears later, once per file (a file replaced by a later run of the
 * same container is reported again). Throws if `exitDir` cannot be watched.
 */
export function watchExits(exitDir: string, onExit: (id: string, code: number) => void): { close(): void } {
  /** id → identity of the file last reported, so repeated events do not repeat exits. */
  const reported = new Map<string, string>();

  /** What a look at one file found: report `code` under `identity`, forget the file (gone), or nothing yet. */
  type Found = { identity: string; code: number } | 'gone' | null;

  let closed = false;
  const settle = (name: string, found: Found): void => {
    // A look that was under way when the watcher closed reports nothing.
    if (closed) return;
    if (found === 'gone') { reported.delete(name); return; } // removed (the engine consumed it): a new one is a new exit
    if (found === null || reported.get(name) === found.identity) return;
    reported.set(name, found.identity);
    try {
      onExit(name, found.code);
    } catch (e) {
      console.error(`exit watcher: handling exit of ${name}:`, e);
    }
  };
  const identityOf = (st: Stats) => `${st.ino}:${st.mtimeMs}`;

  /** The start-up scan, before berthd serves anything: synchronous, so every exit found is handled when watchExits returns. */
  const checkNow = (name: string): void => {
    let found: Found = null;
    try {
      const st = statSync(join(exitDir, name));
      const code = st.isFile() ? readExitCode(exitDir, name) : null;
      if (code !== null) found = { identity: identityOf(st), code };
    } catch {
      found = 'gone';
    }
    settle(name, found);
  };

  /**
   * Later looks, from inotify and the sweep, go through the thread pool: a
   * stat, a read and a directory listing on the event loop wait for the
   * disk, and every request berthd is answering waits with them. One look
   * per file at a time; an event during it asks for another after it.
   */
  const looking = new Map<string, { again: boolean }>();
  const check = (name: string): void => {
    // conmon's temp files are `<id>.XXXXXX`; container and exec ids never contain a dot.
    if (name.includes('.')) return;
    const current = looking.get(name);
    if (current) { current.again = true; return; }
    const look = { again: false };
    looking.set(name, look);
    void (async () => {
      do {
        look.again = false;
        let found: Found = null;
        try {
          const st = await stat(join(exitDir, name));
          // Unchanged since reported: nothing to read.
          if (st.isFile() && reported.get(name) !== identityOf(st)) {
            const code = parseExitCode(await readFile(join(exitDir, name), 'utf8').catch(() => ''));
            if (code !== null) found = { identity: identityOf(st), code };
          }
        } catch {
          found = 'gone';
        }
        settle(name, found);
      } while (look.again);
      looking.delete(name);
    })();
  };

  // Watch first, then scan: a file written in between is seen by one or both (reported once).
  const watcher: FSWatcher = watch(exitDir, { persistent: true }, (_event, filename) => {
    if (filename) check(filename.toString());
    else void scan(); // queue overflow: look at everything
  });
  watcher.on('error', (e) => console.error(`exit watcher: ${exitDir}:`, e));
  const scan = async (): Promise<void> => {
    let names: string[];
    try {
      names = await readdir(exitDir);
    } catch (e) {
      console.error(`exit watcher: ${exitDir}:`, e);
      return;
    }
    for (const name of names) check(name);
  };
  try {
    for (const name of readdirSync(exitDir)) if (!name.includes('.')) checkNow(name);
  } catch (e) {
    console.error(`exit watcher: ${exitDir}:`, e);
  }
  // A safety net under inotify: an exit whose event went missing (seen once under heavy load:
  // containers left "running" after conmon had written their exit) is found within seconds.
  const sweep = setInterval(() => void scan(), 3000);
  sweep.unref();
  return { close: () => { closed = true; clearInterval(sweep); watcher.close(); } };
}
