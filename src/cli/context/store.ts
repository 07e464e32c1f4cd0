/**
 * The context store the Docker CLI keeps (docker/cli cli/context/store), in
 * its own layout, so `docker context …` and `berth context …` see the same
 * contexts:
 *
 *   <config dir>/contexts/meta/<sha256(name)>/meta.json
 *     {"Name":…,"Metadata":{"Description":…},"Endpoints":{"docker":{"Host":…,"SkipTLSVerify":…}}}
 *   <config dir>/contexts/tls/<sha256(name)>/docker/{ca,cert,key}.pem
 *
 * and the current context as `currentContext` in config.json. "default" is
 * never stored: it is whatever -H/DOCKER_HOST and the TLS flags say.
 * TLS material is written 0600 in 0700 directories; keys are never printed.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { StatusError } from '../errors.js';
import { crypto } from '../builtin.js';

export const DEFAULT_CONTEXT = 'default';

export interface DockerEndpointMeta {
  Host?: string;
  SkipTLSVerify?: boolean;
}

export interface ContextMeta {
  Name: string;
  Metadata: { Description?: string; [k: string]: unknown };
  Endpoints: { docker?: DockerEndpointMeta; [k: string]: unknown };
}

/** The PEM files of a context's docker endpoint, by their names in the store. */
export type TlsFileName = 'ca.pem' | 'cert.pem' | 'key.pem';
export type TlsMaterial = Partial<Record<TlsFileName, Buffer>>;

/** Docker's context name rule (cli/command/context: validateContextName). */
const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$/;

export function validateContextName(name: string): void {
  if (name === '') throw new StatusError(1, 'context name cannot be empty');
  if (name === DEFAULT_CONTEXT) throw new StatusError(1, `"${DEFAULT_CONTEXT}" is a reserved context name`);
  if (!NAME_RE.test(name)) throw new StatusError(1, `context name "${name}" is invalid, names are validated against regexp "^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$"`);
}

export function contextDirName(name: string): string {
  return crypto().createHash('sha256').update(name).digest('hex');
}

export class ContextStore {
  readonly metaRoot: string;
  readonly tlsRoot: string;

  constructor(configDir: string) {
    this.metaRoot = join(configDir, 'contexts', 'meta');
    this.tlsRoot = join(configDir, 'contexts', 'tls');
  }

  metaPath(name: string): string {
    return join(this.metaRoot, contextDirName(name));
  }

  tlsPath(name: string): string {
    return join(this.tlsRoot, contextDirName(name));
  }

  exists(name: string): boolean {
    return existsSync(join(this.metaPath(name), 'meta.json'));
  }

  /** A stored context; Docker's "context not found" error when there is none. */
  get(name: string): ContextMeta {
    const file = join(this.metaPath(name), 'meta.json');
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') throw new StatusError(1, `context "${name}": context not found: open ${file}: no such file or directory`);
      throw e;
    }
    let meta: ContextMeta;
    try {
      meta = JSON.parse(text) as ContextMeta;
    } catch (e) {
      throw new StatusError(1, `parsing ${file}: ${(e as Error).message}`);
    }
    if (typeof meta !== 'object' || meta === null || typeof meta.Name !== 'string') throw new StatusError(1, `parsing ${file}: not a context`);
    meta.Metadata ??= {};
    meta.Endpoints ??= {};
    return meta;
  }

  /** Every stored context, by name; unreadable entries are skipped (Docker lists what it can). */
  list(): ContextMeta[] {
    let dirs: string[];
    try { dirs = readdirSync(this.metaRoot); } catch { return []; }
    const out: ContextMeta[] = [];
    for (const d of dirs) {
      try {
        const meta = JSON.parse(readFileSync(join(this.metaRoot, d, 'meta.json'), 'utf8')) as ContextMeta;
        if (typeof meta?.Name === 'string') out.push({ ...meta, Metadata: meta.Metadata ?? {}, Endpoints: meta.Endpoints ?? {} });
      } catch { /* not a context directory */ }
    }
    return out.sort((a, b) => a.Name.localeCompare(b.Name));
  }

  /** The context's TLS files for its docker endpoint (paths of those present). */
  tlsFiles(name: string): Partial<Record<TlsFileName, string>> {
    const dir = join(this.tlsPath(name), 'docker');
    const out: Partial<Record<TlsFileName, string>> = {};
    for (const f of ['ca.pem', 'cert.pem', 'key.pem'] as const) if (existsSync(join(dir, f))) out[f] = join(dir, f);
    return out;
  }

  /**
   * Writes a context: its TLS material (replaced by `tls`; kept as it is
   * when `tls` is undefined), then meta.json, the file that makes a
   * context exist, so a context is never visible with half its files. A
   * failed write of a new context removes what it wrote.
   */
  save(meta: ContextMeta, tls?: TlsMaterial): void {
    const existed = this.exists(meta.Name);
    try {
      if (tls) this.writeTls(meta.Name, tls);
      const metaDir = this.metaPath(meta.Name);
      mkdirSync(metaDir, { recursive: true, mode: 0o755 });
      atomicWrite(join(metaDir, 'meta.json'), JSON.stringify(meta), 0o644);
    } catch (e) {
      if (!existed) this.remove(meta.Name);
      throw e;
    }
  }

  /** The endpoint's PEM files, written aside and put in place in one rename (0600 files in 0700 directories). */
  private writeTls(name: string, tls: TlsMaterial): void {
    const dir = this.tlsPath(name);
    const files = Object.entries(tls).filter((e): e is [string, Buffer] => Boolean(e[1]));
    const aside = `${dir}.tmp-${process.pid}`;
    rmSync(aside, { recursive: true, force: true });
    try {
      if (files.length > 0) {
        mkdirSync(this.tlsRoot, { recursive: true, mode: 0o700 });
        mkdirSync(join(aside, 'docker'), { recursive: true, mode: 0o700 });
        for (const [file, data] of files) writeFileSync(join(aside, 'docker', file), data, { mode: 0o600 });
      }
      rmSync(dir, { recursive: true, force: true });
      if (files.length > 0) renameSync(aside, dir);
    } finally {
      rmSync(aside, { recursive: true, force: true });
    }
  }

  remove(name: string): void {
    rmSync(this.metaPath(name), { recursive: true, force: true });
    rmSync(this.tlsPath(name), { recursive: true, force: true });
  }
}

function atomicWrite(path: string, data: string | Buffer, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data, { mode });
  renameSync(tmp, path);
}
