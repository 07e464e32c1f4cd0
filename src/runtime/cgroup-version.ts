/**
 * Which cgroup layout the host runs, as `docker info` reports it
 * (`CgroupVersion`). Docker calls a host v2 only in unified mode, when
 * `/sys/fs/cgroup` itself is a cgroup2 mount (runc `cgroups.IsCgroup2UnifiedMode`);
 * a hybrid host (v1 controllers plus `/sys/fs/cgroup/unified`, like the
 * machines berth is developed on) is v1. Only the unified mount has
 * `cgroup.controllers` at its root, so its presence decides.
 */
import { existsSync } from 'node:fs';

let version: 1 | 2 | undefined;

/** 1 or 2, read once: the layout does not change while berthd runs. */
export function cgroupVersion(): 1 | 2 {
  return (version ??= existsSync('/sys/fs/cgroup/cgroup.controllers') ? 2 : 1);
}
