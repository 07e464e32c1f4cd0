/**
 * `berth cp`: files between a container and the host, with the semantics
 * of Docker's cp.go + pkg/archive — the destination's existence and type
 * (stat via `HEAD …/archive` and the `X-Docker-Container-Path-Stat` header)
 * decide whether the copy lands inside a directory or under a new name;
 * `-` streams a tar to stdout or from stdin; `-L` follows a symlink source;
 * `-a` keeps uid/gid in the container.
 */
import { existsSync, lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ApiClient } from '../client.js';
import { ApiError, apiPath } from '../client.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import type { ParsedFlags } from '../flags.js';
import { humanSize } from '../format/units.js';
import { countBytes, type ByteCounter } from '../stream/byte-counter.js';
import { FlowingChunks } from '../stream/flowing-chunks.js';
import { assertsDirectory, entryRenamer, rebaseArchive, resolveLocalPath, splitPathDirEntry, tarResource, untar } from './cp-archive.js';

export interface PathStat {
  name: string;
  size: number;
  /** Go os.FileMode bits: 1<<31 dir, 1<<27 symlink… */
  mode: number;
  mtime: string;
  linkTarget: string;
}

const MODE_DIR = 2 ** 31;
const MODE_SYMLINK = 2 ** 27;
const MODE_DEVICE = 2 ** 26;
const MODE_NAMED_PIPE = 2 ** 25;
const MODE_SOCKET = 2 ** 24;
const MODE_CHAR_DEVICE = 2 ** 21;

function hasBit(mode: number, bit: number): boolean {
  return Math.floor(mode / bit) % 2 === 1;
}

export function decodePathStat(header: string | string[] | undefined): PathStat | undefined {
  if (typeof header !== 'string' || !header) return undefined;
  return JSON.parse(Buffer.from(header, 'base64').toString('utf8')) as PathStat;
}

/** splitCpArg: `ctr:path`, except absolute paths and `./x:y` which are local. */
export function splitCpArg(arg: string): [string, string] {
  if (isAbsolute(arg)) return ['', arg];
  const colon = arg.indexOf(':');
  if (colon < 0 || arg.slice(0, colon).startsWith('.')) return ['', arg];
  return [arg.slice(0, colon), arg.slice(colon + 1)];
}

async function statPath(client: ApiClient, container: string, path: string): Promise<PathStat> {
  const res = await client.request('HEAD', apiPath`/containers/${container}/archive`, { query: { path } });
  res.resume();
  const st = decodePathStat(res.headers['x-docker-container-path-stat']);
  if (!st) throw new Error('unable to decode container path stat header');
  return st;
}

/** command.ValidateOutputPathFileMode */
function validateFileMode(mode: number): void {
  if (hasBit(mode, MODE_DEVICE)) throw new Error('got a device');
  if (hasBit(mode, MODE_CHAR_DEVICE)) throw new Error('got a device');
  if (hasBit(mode, MODE_NAMED_PIPE)) throw new Error('got a named pipe');
  if (hasBit(mode, MODE_SOCKET)) throw new Error('got a socket');
}

function quietFor(ctx: CliContext, f: ParsedFlags): boolean {
  return f.bool('quiet') || !ctx.err.isTTY;
}


async function copyFromContainer(ctx: CliContext, f: ParsedFlags, container: string, srcPath0: string, dstPath0: string): Promise<void> {
  const client = await ctx.client();
  let srcPath = srcPath0;
  const dstPath = dstPath0 === '-' ? '-' : resolveLocalPath(dstPath0);
  let rebaseName = '';
  if (f.bool('follow-link')) {
    try {
      const st = await statPath(client, container, srcPath);
      if (hasBit(st.mode, MODE_SYMLINK)) {
        let link = st.linkTarget;
        if (!link.startsWith('/')) link = join(splitPathDirEntry(srcPath)[0], link);
        if (splitPathDirEntry(srcPath)[1] !== splitPathDirEntry(link)[1]) rebaseName = splitPathDirEntry(srcPath)[1];
        srcPath = link;
      }
    } catch { /* let the GET report it */ }
  }
  const res = await client.request('GET', apiPath`/containers/${container}/archive`, { query: { path: srcPath } });
  if (dstPath === '-') {
    for await (const chunk of res) {
      if (!ctx.out.write(chunk)) await new Promise((r) => ctx.out.once('drain', r));
    }
    return;
  }
  const stat = decodePathStat(res.headers['x-docker-container-path-stat']);
  const srcIsDir = stat ? hasBit(stat.mode, MODE_DIR) : false;
  const received = new FlowingChunks(res);
  const srcBaseRaw = splitPathDirEntry(srcPath)[1];
  // The archive's names, renamed while extracting (RebaseArchiveEntries, once or twice).
  const renames: ((name: string) => string)[] = [];
  if (rebaseName) renames.push(entryRenamer(srcBaseRaw, rebaseName));
  const srcBase = rebaseName || srcBaseRaw;

  // CopyInfoDestinationPath: follow symlinks, the parent must exist.
  let dst = dstPath;
  for (let i = 0; ; i++) {
    const st = lstatIf(dst);
    if (!st || !st.isSymbolicLink()) break;
    if (i > 10) throw new Error(`too many symlinks in ${dstPath}`);
    const target = readlinkSync(dst);
    dst = target.startsWith('/') ? target : join(splitPathDirEntry(dst)[0], target);
  }
  const dstStat = lstatIf(dst);
  const [dstDir, dstBase] = splitPathDirEntry(dst);
  if (!dstStat) {
    const parent = statIf(dstDir);
    if (!parent) throw new Error(`lstat ${dstDir}: no such file or directory`);
    if (!parent.isDirectory()) throw new Error('not a directory');
  }
  let extractTo: string;
  if (dstStat?.isDirectory()) {
    extractTo = dst;
  } else if (dstStat && srcIsDir) {
    throw new Error('cannot copy directory');
  } else if (dstStat || srcIsDir) {
    extractTo = dstDir;
    renames.push(entryRenamer(srcBase, dstBase));
  } else if (assertsDirectory(dst)) {
    throw new Error('no such directory');
  } else {
    extractTo = dstDir;
    renames.push(entryRenamer(srcBase, dstBase));
  }
  await untar(received, extractTo, renames.length ? (name) => renames.reduce((n, r) => r(n), name) : undefined);
  if (!quietFor(ctx, f)) ctx.err.write(`Successfully copied ${humanSize(received.bytes)} to ${dstPath}\n`);
}

function lstatIf(p: string) {
  try {
    return lstatSync(p);
  } catch {
    return undefined;
  }
}

function statIf(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

async function copyToContainer(ctx: CliContext, f: ParsedFlags, container: string, srcPath0: string, dstPath: string): Promise<void> {
  const client = await ctx.client();
  let dstInfoPath = dstPath;
  let dstExists = false;
  let dstIsDir = false;
  try {
    let st = await statPath(client, container, dstPath);
    if (hasBit(st.mode, MODE_SYMLINK)) {
      let link = st.linkTarget;
      if (!link.startsWith('/')) link = join(splitPathDirEntry(dstPath)[0], link);
      dstInfoPath = link;
      st = await statPath(client, container, link);
    }
    try {
      validateFileMode(st.mode);
    } catch (e) {
      throw new StatusError(1, `destination "${container}:${dstPath}" must be a directory or a regular file: ${(e as Error).message}`);
    }
    dstExists = true;
    dstIsDir = hasBit(st.mode, MODE_DIR);
  } catch (e) {
    if (e instanceof StatusError) throw e;
    if (!(e instanceof ApiError)) throw e;
    // Not there (or not statable): the parent may still exist; the upload will tell.
  }

  let content: Readable;
  let resolvedDst: string;
  let counter: ByteCounter | undefined;
  if (srcPath0 === '-') {
    if (!dstIsDir) throw new StatusError(1, `destination "${container}:${dstPath}" must be a directory`);
    content = ctx.in;
    resolvedDst = dstInfoPath;
  } else {
    const srcPath = resolveLocalPath(srcPath0);
    // CopyInfoSourcePath: resolve symlinks in the parent (or the whole path with -L).
    let resolved: string;
    let rebaseName = '';
    if (f.bool('follow-link')) {
      resolved = realpathSync(srcPath);
      if (srcPath.endsWith('/.') && !resolved.endsWith('/.')) resolved += '/.';
      if (splitPathDirEntry(srcPath)[1] !== splitPathDirEntry(resolved)[1]) rebaseName = splitPathDirEntry(srcPath)[1];
    } else {
      const [dir, base] = [dirname(srcPath.replace(/\/+$/, '') || '/'), srcPath.endsWith('/.') ? '.' : splitPathDirEntry(srcPath)[1]];
      const realDir = existsSync(dir) ? realpathSync(dir) : dir;
      resolved = srcPath.endsWith('/.') ? `${realpathSync(srcPath.slice(0, -2) || '/')}/.` : join(realDir, base);
    }
    const st = lstatSync(resolved.endsWith('/.') ? resolved.slice(0, -2) || '/' : resolved);
    const srcIsDir = st.isDirectory();
    const srcBase = rebaseName || splitPathDirEntry(resolved)[1];
    const [dstDir, dstBase] = splitPathDirEntry(dstInfoPath);
    counter = countBytes(tarResource(resolved, rebaseName));
    const archive: Readable = counter;
    if (dstExists && dstIsDir) {
      resolvedDst = dstInfoPath;
      content = archive;
    } else if (dstExists && srcIsDir) {
      throw new StatusError(1, 'cannot copy directory');
    } else if (dstExists || srcIsDir) {
      resolvedDst = dstDir;
      content = rebaseArchive(archive, srcBase, dstBase);
    } else if (assertsDirectory(dstInfoPath)) {
      throw new StatusError(1, 'no such directory');
    } else {
      resolvedDst = dstDir;
      content = rebaseArchive(archive, srcBase, dstBase);
    }
  }
  await client.call('PUT', apiPath`/containers/${container}/archive`, {
    query: { copyUIDGID: f.bool('archive') ? 'true' : undefined, noOverwriteDirNonDir: 'true', path: resolvedDst },
    headers: { 'Content-Type': 'application/x-tar' },
    body: content,
  });
  if (!quietFor(ctx, f) && srcPath0 !== '-') ctx.err.write(`Successfully copied ${humanSize(counter?.bytes ?? 0)} to ${container}:${dstInfoPath}\n`);
}

export const cpCommand: Command = {
  name: 'cp',
  usage: `[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-
	berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH`,
  short: 'Copy files/folders between a container and the local filesystem',
  long: `Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin
and extract it to a directory destination in a container.
Use '-' as the destination to stream a tar archive of a
container source to stdout.`,
  aliasesHelp: 'berth container cp, berth cp', args: { min: 2, max: 2 },
  flags: [
    { name: 'archive', short: 'a', kind: 'bool', usage: 'Archive mode (copy all uid/gid information)' },
    { name: 'follow-link', short: 'L', kind: 'bool', usage: 'Always follow symbol link in SRC_PATH' },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached' },
  ],
  async run(ctx, f) {
    const [src, dst] = f.args;
    if (src === '') throw new StatusError(1, 'source can not be empty');
    if (dst === '') throw new StatusError(1, 'destination can not be empty');
    const [srcContainer, srcPath] = splitCpArg(src);
    const [dstContainer, dstPath] = splitCpArg(dst);
    if (srcContainer && dstContainer) throw new StatusError(1, 'copying between containers is not supported');
    if (srcContainer) return void (await copyFromContainer(ctx, f, srcContainer, srcPath, dstPath));
    if (dstContainer) return void (await copyToContainer(ctx, f, dstContainer, srcPath, dstPath));
    throw new StatusError(1, 'must specify at least one container source');
  },
};
