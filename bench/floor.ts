/**
 * The floor: the OCI runtime alone (`runc run` / `crun run`, foreground, so
 * it deletes the container when `true` exits) on a prepared busybox bundle —
 * what no engine can beat. The bundle is the runtime's own `spec` with
 * `true` as the process, a read-only root, no rlimits (this sandbox lacks
 * CAP_SYS_RESOURCE) and a one-level cgroup that the runtime removes again.
 * State goes to a private --root, not /run/runc.
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { check } from './proc.js';

export interface Floor {
  runtime: string;
  /** `<runtime> run` of the bundle under a fresh name; resolves with the wall time in ms. */
  runOnce(n: number): Promise<number>;
}

/** Prepares a bundle for `runtime` in `dir`, with a copy of the busybox root filesystem `rootfs`. */
export async function prepareFloor(runtime: string, runtimePath: string, rootfs: string, dir: string): Promise<Floor> {
  const bundle = join(dir, `floor-${runtime}`);
  const state = join(dir, `floor-${runtime}-state`);
  mkdirSync(bundle, { recursive: true });
  mkdirSync(state, { recursive: true });
  await check(['cp', '-a', rootfs, join(bundle, 'rootfs')]);
  await check([runtimePath, 'spec'], { cwd: bundle });
  const spec = JSON.parse(readFileSync(join(bundle, 'config.json'), 'utf8'));
  spec.process.terminal = false;
  spec.process.args = ['true'];
  delete spec.process.rlimits;
  spec.root = { path: join(bundle, 'rootfs'), readonly: true };
  spec.linux.cgroupsPath = `/berth-bench-${process.pid}-${runtime}`;
  writeFileSync(join(bundle, 'config.json'), JSON.stringify(spec));
  return {
    runtime,
    runOnce: async (n) => (await check([runtimePath, '--root', state, 'run', '--bundle', bundle, `bench-${process.pid}-${n}`])).ms,
  };
}
