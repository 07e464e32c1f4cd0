/**
 * The order in which berthd starts the containers its start-up restarts, as
 * dockerd's restore does (daemon/daemon.go): a container whose dependencies
 * (GetDependentContainers: the children of its legacy links, the container
 * whose network it shares) are among them waits until their starts are
 * done, whether they succeeded or not; the others start side by side. A
 * dependency cycle (which create never makes) is broken where it closes
 * rather than waited on forever.
 */
export function startInDependencyOrder(
  ids: readonly string[], dependencies: (id: string) => string[], start: (id: string) => Promise<void>,
): Promise<void> {
  const wanted = new Set(ids);
  const starts = new Map<string, Promise<void>>();
  const visiting = new Set<string>();
  const startOf = (id: string): Promise<void> => {
    const known = starts.get(id);
    if (known) return known;
    visiting.add(id);
    const first = dependencies(id).filter((d) => d !== id && wanted.has(d) && !visiting.has(d)).map(startOf);
    visiting.delete(id);
    const p = Promise.allSettled(first).then(() => start(id)).catch(() => undefined);
    starts.set(id, p);
    return p;
  };
  return Promise.all(ids.map(startOf)).then(() => undefined);
}

/**
 * Whether berthd's start-up restarts a container that is not running, as
 * dockerd's restore asks its restart manager (restartmanager.ShouldRestart
 * with the container's RestartCount, HasBeenStartedBefore): `always` even
 * after a manual stop (Docker's documented "restarted only when the daemon
 * restarts"), `unless-stopped` unless stopped by hand, `on-failure` after a
 * non-zero exit while retries remain; never a container that never ran.
 */
export function restartsAtDaemonStart(c: {
  State: { StartedAt: string; ExitCode: number };
  RestartCount: number;
  ManualStop?: boolean;
  HostConfig: { RestartPolicy?: { Name?: string; MaximumRetryCount?: number } | null };
}): boolean {
  if (c.State.StartedAt === '0001-01-01T00:00:00Z') return false;
  const p = c.HostConfig.RestartPolicy ?? {};
  switch (p.Name) {
    case 'always': return true;
    case 'unless-stopped': return !c.ManualStop;
    case 'on-failure': return c.State.ExitCode !== 0 && (!p.MaximumRetryCount || c.RestartCount < p.MaximumRetryCount);
    default: return false;
  }
}
