/**
 * `berth build`: the classic builder API (`POST /build`, Docker's legacy
 * `docker build`): the context directory tarred client-side with
 * `.dockerignore` applied (or a remote URL, or `-` for stdin), the build
 * options in the query exactly as Docker's client encodes them, and the
 * daemon's step output rendered; a failing step's code becomes the exit
 * status, `-q` prints only the image ID, `--iidfile` saves it.
 */
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { countBytes } from '../stream/byte-counter.js';
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import { StatusError } from '../errors.js';
import type { FlagSpec, ParsedFlags } from '../flags.js';
import { readAll } from '../client.js';
import { humanSize } from '../format/units.js';
import { kvToMap } from '../opts/kvfile.js';
import { validateExtraHost } from '../opts/network.js';
import { parseUlimit, ulimitList, type Ulimit } from '../opts/ulimit.js';
import { displayJsonMessages, JsonStreamError, type JsonMessage } from '../stream/jsonmessage.js';
import { encodeAuthHeader } from '../config-file.js';
import { contextTar, dockerfileOnlyTar, type ContextTar } from './build-context.js';
import { normalizeImageRef } from './pull-image.js';

const FLAGS: FlagSpec[] = [
  { name: 'add-host', kind: 'list', usage: 'Add a custom host-to-IP mapping ("host:ip")', parse: validateExtraHost },
  { name: 'build-arg', kind: 'list', usage: 'Set build-time variables' },
  { name: 'cache-from', kind: 'list', varname: 'strings', usage: 'Images to consider as cache sources' },
  { name: 'cgroup-parent', kind: 'string', usage: 'Set the parent cgroup for the "RUN" instructions during build' },
  { name: 'compress', kind: 'bool', usage: 'Compress the build context using gzip', unsupported: 'compressed build contexts are not supported yet' },
  { name: 'cpu-period', kind: 'int', usage: 'Limit the CPU CFS (Completely Fair Scheduler) period' },
  { name: 'cpu-quota', kind: 'int', usage: 'Limit the CPU CFS (Completely Fair Scheduler) quota' },
  { name: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)' },
  { name: 'cpuset-cpus', kind: 'string', usage: 'CPUs in which to allow execution (0-3, 0,1)' },
  { name: 'cpuset-mems', kind: 'string', usage: 'MEMs in which to allow execution (0-3, 0,1)' },
  { name: 'disable-content-trust', kind: 'bool', default: true, defaultText: 'true', usage: 'Skip image verification' },
  { name: 'file', short: 'f', kind: 'string', usage: "Name of the Dockerfile (Default is \"PATH/Dockerfile\")" },
  { name: 'force-rm', kind: 'bool', usage: 'Always remove intermediate containers' },
  { name: 'iidfile', kind: 'string', usage: 'Write the image ID to the file' },
  { name: 'isolation', kind: 'string', usage: 'Container isolation technology' },
  { name: 'label', kind: 'list', usage: 'Set metadata for an image' },
  { name: 'memory', short: 'm', kind: 'bytes', usage: 'Memory limit' },
  { name: 'memory-swap', kind: 'swapbytes', usage: "Swap limit equal to memory plus swap: -1 to enable unlimited swap" },
  { name: 'network', kind: 'string', default: 'default', defaultText: '"default"', usage: 'Set the networking mode for the RUN instructions during build' },
  { name: 'no-cache', kind: 'bool', usage: 'Do not use cache when building the image' },
  { name: 'platform', kind: 'string', usage: 'Set platform if server is multi-platform capable' },
  { name: 'pull', kind: 'bool', usage: 'Always attempt to pull a newer version of the image' },
  { name: 'quiet', short: 'q', kind: 'bool', usage: 'Suppress the build output and print image ID on success' },
  { name: 'rm', kind: 'bool', default: true, defaultText: 'true', usage: 'Remove intermediate containers after a successful build' },
  { name: 'security-opt', kind: 'list', varname: 'strings', usage: 'Security options' },
  { name: 'shm-size', kind: 'bytes', usage: 'Size of "/dev/shm"' },
  { name: 'squash', kind: 'bool', usage: 'Squash newly built layers into a single new layer', unsupported: 'squashing needs an experimental daemon' },
  { name: 'tag', short: 't', kind: 'list', usage: 'Name and optionally a tag in the "name:tag" format', parse: (v) => { normalizeImageRef(v); return v; } },
  { name: 'target', kind: 'string', usage: 'Set the target build stage to build.' },
  { name: 'ulimit', kind: 'list', varname: 'ulimit', defaultText: '[]', usage: 'Ulimit options', parse: parseUlimit },
];

function isRemote(ctxArg: string): boolean {
  return /^(https?:\/\/|git@|git:\/\/|github\.com\/)/.test(ctxArg);
}

/** `--build-arg A` takes A from the client's environment, or null (ConvertKVStringsToMapWithNil). */
function buildArgs(values: readonly string[], env: NodeJS.ProcessEnv): Record<string, string | null> {
  const m: Record<string, string | null> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq >= 0) m[v.slice(0, eq)] = v.slice(eq + 1);
    else m[v] = env[v] ?? null;
  }
  return m;
}

function looksLikeTar(buf: Buffer): boolean {
  return buf.length >= 262 && buf.subarray(257, 262).toString('latin1') === 'ustar';
}

export function buildQuery(f: ParsedFlags, dockerfile: string, remote: string | undefined, env: NodeJS.ProcessEnv): Record<string, string | string[] | boolean | number | undefined> {
  const args = buildArgs(f.list('build-arg'), env);
  // Reproducible builds: SOURCE_DATE_EPOCH in berth's environment travels as the build arg BuildKit uses.
  if (env.SOURCE_DATE_EPOCH && !('SOURCE_DATE_EPOCH' in args)) args.SOURCE_DATE_EPOCH = env.SOURCE_DATE_EPOCH;
  const labels = kvToMap(f.list('label'));
  const ulimits = ulimitList(f.list<Ulimit>('ulimit'));
  const isolation = f.string('isolation');
  return {
    t: f.list('tag'),
    securityopt: f.list('security-opt'),
    extrahosts: f.list('add-host'),
    q: f.bool('quiet'),
    remote,
    nocache: f.bool('no-cache'),
    rm: f.bool('rm') ? undefined : '0',
    forcerm: f.bool('force-rm'),
    pull: f.bool('pull'),
    isolation: isolation && isolation !== 'default' ? isolation : undefined,
    cpusetcpus: f.string('cpuset-cpus') || undefined,
    cpusetmems: f.string('cpuset-mems') || undefined,
    cpushares: f.number('cpu-shares') || undefined,
    cpuquota: f.number('cpu-quota') || undefined,
    cpuperiod: f.number('cpu-period') || undefined,
    memory: f.number('memory') || undefined,
    memswap: f.number('memory-swap') || undefined,
    cgroupparent: f.string('cgroup-parent') || undefined,
    shmsize: f.number('shm-size') || undefined,
    dockerfile,
    target: f.string('target') || undefined,
    ulimits: ulimits.length ? JSON.stringify(ulimits) : undefined,
    buildargs: Object.keys(args).length ? JSON.stringify(args) : undefined,
    labels: Object.keys(labels).length ? JSON.stringify(labels) : undefined,
    networkmode: f.string('network') !== 'default' ? f.string('network') : undefined,
    cachefrom: f.list('cache-from').length ? JSON.stringify(f.list('cache-from')) : undefined,
    platform: f.string('platform') || env.DOCKER_DEFAULT_PLATFORM || undefined,
    version: '1',
  };
}

async function build(ctx: CliContext, f: ParsedFlags): Promise<void> {
  const contextArg = f.args[0];
  const fileFlag = f.string('file');
  let context: ContextTar | undefined;
  let remote: string | undefined;
  if (contextArg === '-') {
    if (fileFlag === '-') throw new StatusError(1, 'invalid argument: can\'t use stdin for both build context and dockerfile');
    const input = await readAll(ctx.in);
    if (looksLikeTar(input)) {
      const s = new PassThrough();
      s.end(input);
      context = { stream: s, dockerfile: fileFlag || 'Dockerfile', counted: () => input.length };
    } else {
      context = dockerfileOnlyTar(input);
    }
  } else if (isRemote(contextArg)) {
    remote = contextArg;
  } else {
    try {
      if (!statSync(contextArg).isDirectory()) throw new Error('not a directory');
    } catch {
      throw new StatusError(1, `unable to prepare context: path "${contextArg}" not found`);
    }
    let dockerfileContent: Buffer | undefined;
    let dockerfilePath = '';
    if (fileFlag === '-') {
      dockerfileContent = await readAll(ctx.in);
    } else {
      // -f is relative to the current directory, not the context (Docker's GetContextFromLocalDir).
      dockerfilePath = fileFlag ? resolve(fileFlag) : defaultDockerfile(resolve(contextArg));
      if (!existsSync(dockerfilePath)) {
        throw new StatusError(1, `unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ${dockerfilePath}: no such file or directory`);
      }
    }
    context = contextTar(resolve(contextArg), dockerfilePath, dockerfileContent);
  }

  const quiet = f.bool('quiet');
  let body: Readable | undefined;
  if (context) {
    const counter = countBytes(context.stream);
    // Docker shows this on stdout, or on stderr when -q keeps stdout for the ID.
    counter.on('end', () => (quiet ? ctx.err : ctx.out).write(`Sending build context to berth daemon  ${humanSize(counter.bytes)}\n`));
    body = counter;
  }
  const client = await ctx.client();
  const res = await client.request('POST', '/build', {
    query: buildQuery(f, context?.dockerfile ?? (fileFlag || 'Dockerfile'), remote, ctx.env),
    headers: { 'Content-Type': 'application/x-tar', 'X-Registry-Config': encodeAuthHeader({}) },
    body,
  });
  let imageId = '';
  let quietText = '';
  const sink = quiet
    ? { write: (s: string | Buffer) => { quietText += s.toString(); return true; }, isTTY: false } as unknown as typeof ctx.out
    : ctx.out;
  try {
    await displayJsonMessages(res, sink, {
      isTerminal: Boolean(sink.isTTY),
      width: ctx.out.columns,
      onAux: (m: JsonMessage) => {
        const id = (m.aux as { ID?: string } | undefined)?.ID;
        if (id) imageId = id;
      },
    });
  } catch (e) {
    if (e instanceof JsonStreamError) {
      if (quiet && quietText) ctx.err.write(quietText);
      throw new StatusError(e.code || 1, e.message);
    }
    throw e;
  }
  if (quiet) ctx.out.write(quietText || (imageId ? `${imageId}\n` : ''));
  const iid = f.string('iidfile');
  if (iid) {
    if (!imageId) throw new StatusError(1, 'Server did not provide an image ID. Cannot write iidfile');
    writeFileSync(iid, imageId, { mode: 0o666 });
  }
}

/** `Dockerfile`, or `dockerfile` when only that exists (Docker is "nice" that way). */
function defaultDockerfile(contextDir: string): string {
  const upper = join(contextDir, 'Dockerfile');
  const lower = join(contextDir, 'dockerfile');
  return !existsSync(upper) && existsSync(lower) ? lower : upper;
}

export const buildCommand: Command = {
  name: 'build', usage: '[OPTIONS] PATH | URL | -', short: 'Build an image from a Dockerfile',
  aliasesHelp: 'berth image build, berth build, berth builder build', group: 'common', args: { min: 1, max: 1 },
  flags: FLAGS,
  run: build,
};
