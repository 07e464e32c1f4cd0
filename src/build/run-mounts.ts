/**
 * `RUN --mount` as berth's builder executes it: which mounts a RUN gets,
 * what of them goes into the step's cache key, and what berth refuses.
 *
 * Supported: `type=cache` (a persistent directory per id kept by the engine
 * under its data root, bind-mounted read-write, never part of the layer),
 * `type=tmpfs`, and `type=bind` (the context, a stage or an image, seen
 * through a scratch overlay so `rw` writes are discarded), `type=secret`
 * (a file with the client's secret, read-only, on tmpfs, and/or with `env=`
 * an environment variable of the RUN) and `type=ssh` (a socket to the
 * client's ssh-agent, ssh-mounts.ts; the first one's target is the RUN's
 * SSH_AUTH_SOCK, as in BuildKit).
 *
 * Targets are made absolute (relative ones against the working directory,
 * as BuildKit does) and cleaned; a target that is `/` is refused. The
 * runtime resolves the target inside the container's rootfs, so `..` or a
 * symlink in the image cannot place the mount outside it.
 */
import { posix } from 'node:path';
import { InvalidParameterError, NotImplementedError } from '../errors.js';
import { resolveRunMount, type RunMount, type RunMountSpec } from './parser/mount.js';

/** A cache mount to set up before the RUN. */
export interface CacheMountPlan {
  type: 'cache';
  target: string;
  /** The cache's id (the target when not given). */
  id: string;
  sharing: 'shared' | 'private' | 'locked';
  readonly: boolean;
  uid: number;
  gid: number;
  mode: number;
}

export interface TmpfsMountPlan {
  type: 'tmpfs';
  target: string;
  /** Bytes, when a size was given. */
  sizeBytes?: number;
}

export interface BindMountPlan {
  type: 'bind';
  target: string;
  /** Path inside the source (the build context, or `from`), relative, cleaned; '' for its root. */
  source: string;
  /** Stage name or index, or image reference; undefined for the build context. */
  from?: string;
  readonly: boolean;
}

/** A secret from the client (buildx `--secret`), as a read-only file and/or an environment variable. */
export interface SecretMountPlan {
  type: 'secret';
  /** Where the file goes; undefined when the secret is only an environment variable (`env=` without a target). */
  target?: string;
  /** `env=`: the RUN's environment variable that holds the secret. */
  env?: string;
  id: string;
  required: boolean;
  uid: number;
  gid: number;
  mode: number;
}

/** A socket to the client's ssh-agent `id` (buildx `--ssh`). */
export interface SshMountPlan {
  type: 'ssh';
  target: string;
  id: string;
  required: boolean;
  uid: number;
  gid: number;
  mode: number;
}

export type RunMountPlan = CacheMountPlan | TmpfsMountPlan | BindMountPlan | SecretMountPlan | SshMountPlan;

/** The RUN's SSH_AUTH_SOCK: the first ssh mount's socket (BuildKit sets it unless the image's environment has one). */
export function sshAuthSock(plans: readonly RunMountPlan[]): string | undefined {
  return plans.find((p): p is SshMountPlan => p.type === 'ssh')?.target;
}

/** Longest cache id accepted (it is hashed into a directory name, but stays in the cache key). */
const MAX_ID = 1024;

/** Resolves a RUN's `--mount` flags; `expand` substitutes build args and ENV in values. */
export function planRunMounts(specs: readonly RunMountSpec[], workdir: string, expand: (w: string) => string): RunMountPlan[] {
  const plans: RunMountPlan[] = [];
  const targets = new Set<string>();
  let sshCount = 0;
  for (const spec of specs) {
    const m = resolveRunMount(spec, expand);
    // An ssh mount without a target gets /run/buildkit/ssh_agent.<its index among the ssh mounts> (BuildKit's llb).
    if (m.type === 'ssh' && !m.target) m.target = `/run/buildkit/ssh_agent.${sshCount}`;
    if (m.type === 'ssh') sshCount++;
    const plan = planOne(m, workdir);
    if (plan.target !== undefined) {
      if (targets.has(plan.target)) throw new InvalidParameterError(`duplicate mount target ${plan.target}`);
      targets.add(plan.target);
    }
    plans.push(plan);
  }
  return plans;
}

function planOne(m: RunMount, workdir: string): RunMountPlan {
  switch (m.type) {
    case 'cache': {
      const target = cleanTarget(m.target!, workdir);
      const id = m.id === undefined || m.id === '' ? target : m.id;
      if (id.length > MAX_ID || id.includes('\0')) throw new InvalidParameterError(`invalid cache mount id: longer than ${MAX_ID} bytes or has a NUL`);
      if (m.mode !== undefined && m.mode > 0o7777) throw new InvalidParameterError(`invalid mount mode "${m.mode.toString(8)}"`);
      return {
        type: 'cache', target, id, sharing: m.sharing ?? 'shared', readonly: m.readonly,
        uid: checkId(m.uid ?? 0, 'uid'), gid: checkId(m.gid ?? 0, 'gid'), mode: m.mode ?? 0o755,
      };
    }
    case 'tmpfs': {
      const target = cleanTarget(m.target!, workdir);
      return { type: 'tmpfs', target, ...(m.size !== undefined ? { sizeBytes: parseSize(m.size) } : {}) };
    }
    case 'bind': {
      const target = cleanTarget(m.target!, workdir);
      const src = m.source ?? '';
      if (src.includes('\0')) throw new InvalidParameterError('invalid mount source: has a NUL');
      // The source is a path inside the context or stage: `..` and `/` cannot climb above its root.
      const source = posix.normalize(`/${src}`).slice(1).replace(/\/+$/, '');
      return { type: 'bind', target, source, ...(m.from ? { from: m.from } : {}), readonly: m.readonly };
    }
    case 'secret': {
      if (!m.id) throw new InvalidParameterError('mount type=secret requires an id or a target');
      if (m.id.length > MAX_ID || m.id.includes('\0')) throw new InvalidParameterError(`invalid secret id: longer than ${MAX_ID} bytes or has a NUL`);
      if (m.mode !== undefined && m.mode > 0o7777) throw new InvalidParameterError(`invalid mount mode "${m.mode.toString(8)}"`);
      if (m.env !== undefined && !/^[^=\0]+$/.test(m.env)) throw new InvalidParameterError(`invalid secret env name ${JSON.stringify(m.env)}`);
      return {
        type: 'secret', ...(m.target !== undefined ? { target: cleanTarget(m.target, workdir) } : {}), ...(m.env !== undefined ? { env: m.env } : {}),
        id: m.id, required: m.required, uid: checkId(m.uid ?? 0, 'uid'), gid: checkId(m.gid ?? 0, 'gid'), mode: m.mode ?? 0o400,
      };
    }
    case 'ssh': {
      if (m.source !== undefined) throw new InvalidParameterError('ssh does not support source');
      const id = m.id || 'default';
      if (id.length > MAX_ID || /[\0\r\n]/.test(id)) throw new InvalidParameterError(`invalid ssh id: longer than ${MAX_ID} bytes or has a NUL or a line break`);
      if (m.mode !== undefined && m.mode > 0o7777) throw new InvalidParameterError(`invalid mount mode "${m.mode.toString(8)}"`);
      return {
        type: 'ssh', target: cleanTarget(m.target!, workdir), id, required: m.required,
        uid: checkId(m.uid ?? 0, 'uid'), gid: checkId(m.gid ?? 0, 'gid'), mode: m.mode ?? 0o600,
      };
    }
    default:
      throw new NotImplementedError(`RUN --mount=type=${m.type} is not supported yet`);
  }
}

function checkId(n: number, what: string): number {
  if (!Number.isSafeInteger(n) || n > 0xffffffff) throw new InvalidParameterError(`invalid mount ${what} "${n}"`);
  return n;
}

function cleanTarget(target: string, workdir: string): string {
  if (target.includes('\0')) throw new InvalidParameterError('invalid mount target: has a NUL');
  const abs = posix.normalize(target.startsWith('/') ? target : posix.join(workdir || '/', target));
  const t = abs.length > 1 ? abs.replace(/\/+$/, '') : abs;
  if (t === '/') throw new InvalidParameterError('invalid mount target: the root directory cannot be a mount target');
  return t;
}

/** `size=` of a tmpfs mount: bytes, or with a k/m/g suffix (go-units RAMInBytes). */
function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(s.trim());
  if (!m) throw new InvalidParameterError(`invalid size: '${s}'`);
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2].toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.floor(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n) || n <= 0) throw new InvalidParameterError(`invalid size: '${s}'`);
  return n;
}

/**
 * What of the mounts goes into the step's cache key: their kind, target and
 * options (a cache's id, not its content: the content changes under a
 * cached step, as in BuildKit). A bind mount's content is keyed by the
 * builder (the source's digest or image).
 */
export function mountsKeyInput(plans: readonly RunMountPlan[]): unknown[] {
  return plans.map((p) => {
    switch (p.type) {
      case 'cache': return { type: p.type, target: p.target, id: p.id, sharing: p.sharing, readonly: p.readonly, uid: p.uid, gid: p.gid, mode: p.mode };
      case 'tmpfs': return { type: p.type, target: p.target, ...(p.sizeBytes !== undefined ? { size: p.sizeBytes } : {}) };
      // A secret's id and where it goes, never its content (as BuildKit keys it).
      case 'secret': return {
        type: p.type, ...(p.target !== undefined ? { target: p.target } : {}), ...(p.env !== undefined ? { env: p.env } : {}),
        id: p.id, required: p.required, uid: p.uid, gid: p.gid, mode: p.mode,
      };
      // The agent's id and the socket's place and options, never the client's socket path or keys.
      case 'ssh': return { type: p.type, target: p.target, id: p.id, required: p.required, uid: p.uid, gid: p.gid, mode: p.mode };
      case 'bind': return { type: p.type, target: p.target, source: p.source, ...(p.from !== undefined ? { from: p.from } : {}), readonly: p.readonly };
    }
  });
}
