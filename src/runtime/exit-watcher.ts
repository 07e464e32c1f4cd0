/**
 * conmon records a container's end by writing its exit code, as decimal
 * text, to `<exit-dir>/<container id>` (after all output was logged). One
 * inotify watch on that directory therefore sees every container exit, and
 * a scan at start-up catches the exits that happened while nobody watched
 * (conmon outlives the daemon).
 */
import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from 'node:fs';
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

  const check = (name: string): void => {
    // conmon's temp files are `<id>.XXXXXX`; container and exec ids never contain a dot.
    if (name.includes('.')) return;
    let identity: string;
    try {
      const st = statSync(join(exitDir, name));
      if (!st.isFile()) return;
      identity = `${st.ino}:${st.mtimeMs}`;
    } catch {
      reported.delete(name); // removed (the engine consumed it): a new one is a new exit
      return;
    }
    if (reported.get(name) === identity) return;
    const code = readExitCode(exitDir, name);
    if (code === null) return;
    reported.set(name, identity);
    try {
      onExit(name, code);
    } catch (e) {
      console.error(`exit watcher: handling exit of ${name}:`, e);
    }
  };

  // Watch first, then scan: a file written in between is seen by one or both (reported once).
  const watcher: FSWatcher = watch(exitDir, { persistent: true }, (_event, filename) => {
    if (filename) check(filename.toString());
    else scan(); // queue overflow: look at everything
  });
  watcher.on('error', (e) => console.error(`exit watcher: ${exitDir}:`, e));
  const scan = (): void => {
    let names: string[];
    try {
      names = readdirSync(exitDir);
    } catch (e) {
      console.error(`exit watcher: ${exitDir}:`, e);
      return;
    }
    for (const name of names) check(name);
  };
  scan();
  // A safety net under inotify: an exit whose event went missing (seen once under heavy load:
  // containers left "running" after conmon had written their exit) is found within seconds.
  const sweep = setInterval(scan, 3000);
  sweep.unref();
  return { close: () => { clearInterval(sweep); watcher.close(); } };
}
