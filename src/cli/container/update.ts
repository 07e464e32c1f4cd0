/**
 * `berth update`: new resource limits or restart policy for containers —
 * `POST /containers/{id}/update` with the body the Docker CLI sends
 * (`cli/command/container/update.go`): every Resources field, zero meaning
 * "unchanged", `PidsLimit` only when given. Each container's name is printed
 * as it succeeds; the daemon's warnings follow on stdout, the errors end the
 * command (exit 1).
 */
import type { Command } from '../command.js';
import { StatusError } from '../errors.js';
import type { ParsedFlags } from '../flags.js';
import { apiPath } from '../client.js';
import { parseRestartPolicy } from '../opts/restart.js';
import { forEachParallel } from './parallel.js';

export function buildUpdateBody(f: ParsedFlags): Record<string, unknown> {
  const restart = f.changed('restart') ? parseRestartPolicy(f.string('restart')) : { Name: '', MaximumRetryCount: 0 };
  return {
    CpuShares: f.number('cpu-shares'), Memory: f.number('memory'), NanoCpus: f.number('cpus'), CgroupParent: '',
    BlkioWeight: f.number('blkio-weight'), BlkioWeightDevice: null, BlkioDeviceReadBps: null, BlkioDeviceWriteBps: null,
    BlkioDeviceReadIOps: null, BlkioDeviceWriteIOps: null, CpuPeriod: f.number('cpu-period'), CpuQuota: f.number('cpu-quota'),
    CpuRealtimePeriod: f.number('cpu-rt-period'), CpuRealtimeRuntime: f.number('cpu-rt-runtime'),
    CpusetCpus: f.string('cpuset-cpus'), CpusetMems: f.string('cpuset-mems'), Devices: null, DeviceCgroupRules: null,
    DeviceRequests: null, MemoryReservation: f.number('memory-reservation'), MemorySwap: f.number('memory-swap'),
    MemorySwappiness: null, OomKillDisable: null, PidsLimit: f.number('pids-limit') !== 0 ? f.number('pids-limit') : null,
    Ulimits: null, CpuCount: 0, CpuPercent: 0, IOMaximumIOps: 0, IOMaximumBandwidth: 0,
    RestartPolicy: restart,
  };
}

export const updateCommand: Command = {
  name: 'update', usage: '[OPTIONS] CONTAINER [CONTAINER...]', short: 'Update configuration of one or more containers',
  aliasesHelp: 'berth container update, berth update', args: { min: 1 },
  flags: [
    { name: 'blkio-weight', kind: 'uint', varname: 'uint16', usage: 'Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)' },
    { name: 'cpu-period', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) period' },
    { name: 'cpu-quota', kind: 'int', usage: 'Limit CPU CFS (Completely Fair Scheduler) quota' },
    { name: 'cpu-rt-period', kind: 'int', usage: 'Limit the CPU real-time period in microseconds' },
    { name: 'cpu-rt-runtime', kind: 'int', usage: 'Limit the CPU real-time runtime in microseconds' },
    { name: 'cpu-shares', short: 'c', kind: 'int', usage: 'CPU shares (relative weight)' },
    { name: 'cpus', kind: 'decimal', usage: 'Number of CPUs' },
    { name: 'cpuset-cpus', kind: 'string', usage: 'CPUs in which to allow execution (0-3, 0,1)' },
    { name: 'cpuset-mems', kind: 'string', usage: 'MEMs in which to allow execution (0-3, 0,1)' },
    { name: 'kernel-memory', kind: 'bytes', usage: 'Kernel memory limit (deprecated)', hidden: true },
    { name: 'memory', short: 'm', kind: 'bytes', usage: 'Memory limit' },
    { name: 'memory-reservation', kind: 'bytes', usage: 'Memory soft limit' },
    { name: 'memory-swap', kind: 'swapbytes', usage: "Swap limit equal to memory plus swap: -1 to enable unlimited swap" },
    { name: 'pids-limit', kind: 'int', usage: 'Tune container pids limit (set -1 for unlimited)' },
    { name: 'restart', kind: 'string', usage: 'Restart policy to apply when a container exits' },
  ],
  async run(ctx, f) {
    if (f.given().length === 0) throw new StatusError(1, 'you must provide one or more flags when using this command');
    let body: Record<string, unknown>;
    try {
      body = buildUpdateBody(f);
    } catch (e) {
      throw new StatusError(1, (e as Error).message);
    }
    // Not in the v1.50 API (dockerd ignores it since 1.42), so never sent; said, as run and create say it.
    if (f.changed('kernel-memory')) ctx.err.write('WARNING: --kernel-memory is deprecated and has no effect: kernel memory limits are not supported by the kernel\n');
    const client = await ctx.client();
    const results = await forEachParallel(f.args, (name) => client.json<{ Warnings?: string[] | null }>('POST', apiPath`/containers/${name}/update`, { body }));
    const warnings: string[] = [];
    const errors: string[] = [];
    results.forEach((r, i) => {
      if (r.status === 'rejected') {
        errors.push((r.reason as Error).message);
        return;
      }
      warnings.push(...(r.value?.Warnings ?? []));
      ctx.out.write(`${f.args[i]}\n`);
    });
    if (warnings.length) ctx.out.write(`${warnings.join('\n')}\n`);
    if (errors.length) throw new StatusError(1, errors.join('\n'));
  },
};
