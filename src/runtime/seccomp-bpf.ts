/**
 * Seccomp profiles compiled to BPF once instead of at every container start.
 *
 * crun compiles the OCI `linux.seccomp` section with libseccomp each time it
 * creates a container — about 12 ms of its ~28 ms for Docker's default
 * profile. crun also takes a ready filter in the `run.oci.seccomp_bpf_data`
 * annotation (base64 of the program it would pass to seccomp(2)), and then
 * ignores the section. berth compiles each distinct profile once with the
 * same libseccomp, through its Python binding (Debian's python3-seccomp),
 * translating the section as crun does: same default action, architectures
 * and rules, unknown syscall names skipped. For Docker's default profile the
 * program is byte-for-byte the one crun makes itself (checked on these
 * machines). Anything the translation does not know — an action, an
 * operator, a failing rule — means no annotation, and crun compiles the
 * profile itself as before; so does a host without python3-seccomp.
 *
 * Compiled programs are kept in memory and under the exec root, keyed by
 * the SHA-256 of the section, so a restarted berthd does not compile again.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { currentEnv, spawnInSpawner } from '../spawner.js';

export const SECCOMP_BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';

/** Debian's interpreter: the binding is a CPython 3.11 extension under /usr/lib/python3. */
const PYTHON = '/usr/bin/python3';

/*
 * Reads the OCI seccomp section on stdin, writes the BPF program on stdout;
 * exits 3 for anything it would have to guess about.
 */
const COMPILER = String.raw`
import errno, json, sys
import seccomp
spec = json.load(sys.stdin)
ARCH = {'SCMP_ARCH_X86': seccomp.Arch.X86, 'SCMP_ARCH_X86_64': seccomp.Arch.X86_64, 'SCMP_ARCH_X32': seccomp.Arch.X32,
        'SCMP_ARCH_ARM': seccomp.Arch.ARM, 'SCMP_ARCH_AARCH64': seccomp.Arch.AARCH64}
OPS = {'SCMP_CMP_NE': seccomp.NE, 'SCMP_CMP_LT': seccomp.LT, 'SCMP_CMP_LE': seccomp.LE, 'SCMP_CMP_EQ': seccomp.EQ,
       'SCMP_CMP_GE': seccomp.GE, 'SCMP_CMP_GT': seccomp.GT, 'SCMP_CMP_MASKED_EQ': seccomp.MASKED_EQ}
def action(name, ret):
    if name == 'SCMP_ACT_ALLOW': return seccomp.ALLOW
    if name == 'SCMP_ACT_ERRNO': return seccomp.ERRNO(errno.EPERM if ret is None else ret)
    if name in ('SCMP_ACT_KILL', 'SCMP_ACT_KILL_THREAD'): return seccomp.KILL
    if name == 'SCMP_ACT_KILL_PROCESS': return seccomp.KILL_PROCESS
    if name == 'SCMP_ACT_TRAP': return seccomp.TRAP
    if name == 'SCMP_ACT_LOG': return seccomp.LOG
    sys.exit(3)
if spec.get('flags') or spec.get('listenerPath'): sys.exit(3)
f = seccomp.SyscallFilter(defaction=action(spec['defaultAction'], spec.get('defaultErrnoRet')))
for a in spec.get('architectures', []):
    if a not in ARCH: sys.exit(3)
    if not f.exist_arch(ARCH[a]): f.add_arch(ARCH[a])
for rule in spec.get('syscalls', []):
    act = action(rule['action'], rule.get('errnoRet'))
    if any(a['op'] not in OPS for a in rule.get('args', [])): sys.exit(3)
    args = [seccomp.Arg(a['index'], OPS[a['op']], a.get('value', 0), a.get('valueTwo', 0)) for a in rule.get('args', [])]
    for name in rule['names']:
        if seccomp.resolve_syscall(seccomp.Arch.NATIVE, name) == -1: continue
        try: f.add_rule(act, name, *args)
        except Exception: sys.exit(3)
f.export_bpf(sys.stdout)
`;

export class SeccompCompiler {
  private readonly compiled = new Map<string, Promise<string | undefined>>();
  private unavailable = false;

  /** @param cacheDir where compiled programs are kept (under the exec root) */
  constructor(private readonly cacheDir: string) {}

  /** base64 of the BPF program for `section`, or undefined to let the runtime compile it. */
  bpf(section: unknown): Promise<string | undefined> {
    if (this.unavailable || !section) return Promise.resolve(undefined);
    const json = JSON.stringify(section);
    const key = createHash('sha256').update(json).digest('hex');
    let p = this.compiled.get(key);
    if (!p) {
      p = this.load(key, json);
      this.compiled.set(key, p);
    }
    return p;
  }

  private async load(key: string, json: string): Promise<string | undefined> {
    const file = join(this.cacheDir, `${key}.bpf`);
    const cached = await readFile(file).catch(() => undefined);
    if (cached?.length) return cached.toString('base64');
    const program = await compile(json);
    if (program === null) { this.unavailable = true; return undefined; }
    if (!program) return undefined;
    await mkdir(this.cacheDir, { recursive: true, mode: 0o700 });
    const tmp = `${file}.${process.pid}`;
    await writeFile(tmp, program);
    await rename(tmp, file);
    return program.toString('base64');
  }
}

/** The program; undefined when this profile is left to the runtime; null when there is no compiler here. */
async function compile(json: string): Promise<Buffer | undefined | null> {
  // Spawned by the spawner process (spawner.ts): a fork of berthd stalls its event loop.
  const child = spawnInSpawner(PYTHON, ['-c', COMPILER], { cwd: process.cwd(), env: currentEnv(), stdio: ['pipe', 'pipe', 'pipe'], detached: false, input: json });
  const [out, err, exit] = await Promise.all([readAll(child.stdio[1]!), readAll(child.stdio[2]!), child.exited]);
  if (exit.error !== undefined) return null; // no python3
  if (exit.code === 0 && out.length) return out;
  // No python3 binding for libseccomp on this host: stop asking.
  return /ModuleNotFoundError|No module named/.test(err.toString()) ? null : undefined;
}

function readAll(s: Readable): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    s.on('data', (b: Buffer) => parts.push(b));
    s.on('end', () => resolve(Buffer.concat(parts)));
    s.on('error', () => resolve(Buffer.concat(parts)));
  });
}
