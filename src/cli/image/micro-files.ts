/**
 * What goes into a microcontainer: a program, the shared libraries its
 * dynamic loader would map (found by asking that loader, `<interp> --list`,
 * which is what ldd does — the program itself does not run), the loader at
 * the path the program names it by, and whatever `--add` brings (ELF files
 * among them get their libraries too). Every file is taken by content: a
 * symlink on the host becomes a regular file at the path the program or the
 * loader uses.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join, posix, resolve } from 'node:path';
import { findExecutable } from '../../executable.js';
import { readElfInfo } from '../../image/elf.js';
import { runCommand } from '../../run-command.js';
import { StatusError } from '../errors.js';

export interface MicroFiles {
  /** Image path (absolute) → host path to read. */
  files: Map<string, string>;
  /** The program's path in the image (the entrypoint). */
  program: string;
  architecture: string;
  /** Libraries and loaders pulled in for ELF files. */
  libraries: number;
}

/** `ls` → `/usr/bin/ls` through PATH, like a shell; a name with a slash is a path. */
export function findProgram(name: string, path = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'): string {
  if (name.includes('/')) return resolve(name);
  const found = findExecutable(name, path.split(':').filter(Boolean));
  if (!found) throw new StatusError(1, `${name}: executable file not found in $PATH`);
  return found;
}

/** The paths in `<interp> --list` output, and the names it could not find. */
export function parseLoaderList(text: string): { paths: string[]; missing: string[] } {
  const paths: string[] = [];
  const missing: string[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    let m = /^(\S+) => not found$/.exec(t);
    if (m) { missing.push(m[1]); continue; }
    m = /^\S+ => (\/\S+) \(0x[0-9a-f]+\)$/.exec(t) ?? /^(\/\S+) \(0x[0-9a-f]+\)$/.exec(t);
    if (m) paths.push(m[1]);
  }
  return { paths, missing };
}

async function librariesOf(host: string, interpreter: string): Promise<string[]> {
  let out: string;
  try {
    // A clean environment: LD_LIBRARY_PATH or LD_PRELOAD of this shell must not decide what the image holds.
    out = await runCommand([interpreter, '--list', host], { env: { PATH: '/usr/bin:/bin' }, inThisProcess: true });
  } catch (e) {
    const text = (e as { stderr?: string }).stderr ?? '';
    const { missing } = parseLoaderList(text);
    if (missing.length) throw new StatusError(1, `${host}: shared libraries not found: ${missing.join(', ')}`);
    throw new StatusError(1, `${host}: its loader ${interpreter} could not list its libraries: ${(e as Error).message}`);
  }
  const { paths, missing } = parseLoaderList(out);
  if (missing.length) throw new StatusError(1, `${host}: shared libraries not found: ${missing.join(', ')}`);
  return paths;
}

export async function collectMicroFiles(program: string, adds: readonly string[]): Promise<MicroFiles> {
  const files = new Map<string, string>();
  let libraries = 0;
  let architecture = '';

  const addElf = async (host: string, dest: string, required: boolean): Promise<boolean> => {
    const elf = readElfInfo(host);
    if (!elf) {
      if (required) throw new StatusError(1, `${host} is not an ELF program (a script needs its interpreter in the image: name that instead, and the script with --add)`);
      return false;
    }
    architecture ||= elf.architecture;
    if (elf.architecture !== architecture) throw new StatusError(1, `${host} is for ${elf.architecture}, ${program} for ${architecture}: one image has one architecture`);
    files.set(dest, host);
    if (elf.interpreter) {
      for (const lib of await librariesOf(host, elf.interpreter)) {
        if (!files.has(lib)) { files.set(lib, lib); libraries++; }
      }
      if (!files.has(elf.interpreter)) { files.set(elf.interpreter, elf.interpreter); libraries++; }
    }
    return true;
  };

  const dirsSeen = new Set<string>(); // dev:ino of directories walked (a symlink may lead back up)
  const addPath = async (host: string, dest: string): Promise<void> => {
    let st;
    try { st = statSync(host); } catch { throw new StatusError(1, `--add ${host}: no such file or directory`); }
    if (st.isDirectory()) {
      const id = `${st.dev}:${st.ino}`;
      if (dirsSeen.has(id)) return;
      dirsSeen.add(id);
      for (const name of readdirSync(host).sort()) {
        const child = join(host, name);
        const lst = lstatSync(child);
        if (lst.isDirectory() || lst.isFile() || lst.isSymbolicLink()) await addPath(child, posix.join(dest, name)).catch((e) => {
          if (lst.isSymbolicLink()) return; // a dangling link inside an added directory is left out
          throw e;
        });
      }
      return;
    }
    if (!st.isFile()) throw new StatusError(1, `--add ${host}: only files and directories can be added`);
    if (!(await addElf(host, dest, false))) files.set(dest, host);
  };

  try { statSync(program); } catch { throw new StatusError(1, `${program}: no such file or directory`); }
  await addElf(program, program, true);
  for (const spec of adds) {
    const colon = spec.indexOf(':');
    const host = resolve(colon >= 0 ? spec.slice(0, colon) : spec);
    const dest = colon >= 0 ? spec.slice(colon + 1) : host;
    if (!isAbsolute(dest)) throw new StatusError(1, `--add ${spec}: the path in the image must be absolute`);
    await addPath(host, posix.normalize(dest));
  }
  return { files, program, architecture, libraries };
}
