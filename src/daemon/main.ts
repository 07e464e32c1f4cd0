/**
 * berthd: opens the engine, serves the Docker Engine API on unix sockets and TCP (listeners.ts),
 * and exits on SIGTERM/SIGINT leaving containers running under conmon.
 */
import { rm, writeFile } from 'node:fs/promises';
import { parseDaemonFlags, DAEMON_USAGE } from './flags.js';
import { lockRoot } from '../store/root-lock.js';
import { parseAddressPool } from '../network/ipam.js';
import { Engine } from '../engine/engine.js';
import { createApiServer } from '../api/server.js';
import { setExperimental } from '../api/context.js';
import { openListeners, planListeners } from './listeners.js';
import { CriListener } from '../cri/listener.js';
import { BERTH_VERSION } from '../api/system.js';
import { errorMessage } from '../errors.js';
import { resolveRemap } from '../runtime/remap-user.js';
import { runRootlessLauncher } from '../rootless/launcher.js';
import { containerIdentity, daemonPid, enterRootlessNamespace, insideRootlessNamespace, slirpApiSocket } from '../rootless/inside.js';
import { Slirp4netnsPorts } from '../rootless/slirp4netns.js';
import { keepSpawner } from '../spawner.js';

async function main(): Promise<void> {
  const flags = parseDaemonFlags(process.argv.slice(2));
  if (flags.help) { process.stdout.write(DAEMON_USAGE); return; }
  if (flags.version) { process.stdout.write(`berthd version ${BERTH_VERSION}\n`); return; }
  setExperimental(flags.experimental);
  // Rootless (src/rootless/): this process stays outside as the launcher of a berthd inside a user namespace.
  if (flags.rootless && !insideRootlessNamespace()) {
    process.exitCode = await runRootlessLauncher({ argv: process.argv.slice(2), execRoot: flags.execRoot, dataRoot: flags.dataRoot });
    return;
  }
  if (process.getuid?.() !== 0) throw new Error('berthd needs to be started with root privileges');
  // Rootless: the roots as this mount namespace sees them (rootless/inside.ts); the socket and pid file keep their paths.
  const roots = flags.rootless ? await enterRootlessNamespace(flags) : { dataRoot: flags.dataRoot, execRoot: flags.execRoot };
  // Addresses, TLS files and the plain-TCP policy are checked before anything else happens.
  const plan = await planListeners(flags.hosts, flags.group, flags.tls);
  for (const w of plan.warnings) console.error(`berthd: ${w}`);
  // Before anything touches the roots (reconciliation, the pid file, the socket): one berthd per root, for its life.
  lockRoot(roots.dataRoot, { holderPid: daemonPid() });
  lockRoot(roots.execRoot, { holderPid: daemonPid() });
  const usernsRemap = flags.rootless ? containerIdentity() : flags.usernsRemap ? await resolveRemap(flags.usernsRemap) : undefined;
  if (usernsRemap) console.error(`berthd: user namespaces: ID ranges will be mapped to subuid/subgid ranges of: ${usernsRemap.user}:${usernsRemap.group}`);
  const engine = await Engine.open({
    dataRoot: roots.dataRoot, execRoot: roots.execRoot, defaultRuntime: flags.defaultRuntime, insecureRegistries: flags.insecureRegistries, usernsRemap,
    ...(flags.rootless ? {
      rootless: {
        hostPorts: new Slirp4netnsPorts(slirpApiSocket(roots.execRoot)),
        // Not yet used where it exists (rootless/resource-limits.ts): containers get no cgroups, limits are refused.
        cgroupsDelegated: false,
      },
    } : {}),
    network: {
      ...(flags.bridge ? { bridgeName: flags.bridge } : {}),
      ...(flags.bip ? { bip: flags.bip } : {}),
      ...(flags.defaultAddressPools.length ? { pools: flags.defaultAddressPools.map(parseAddressPool) } : {}),
    },
  });
  engine.distribution.useMirrors(flags.registryMirrors);
  // The pid file and the CRI come before the API: a client that got an answer from the API finds both.
  await writeFile(flags.pidfile, String(daemonPid()));
  let cri: CriListener | undefined;
  if (flags.criSocket) {
    cri = new CriListener(engine);
    await cri.listen(flags.criSocket, flags.criStreamAddress);
  }
  // Before the first client: its fork is cheapest now, not under load (spawner.ts).
  keepSpawner();
  const listeners = await openListeners(plan, () => createApiServer(engine, { debug: flags.logLevel === 'debug' }),
    (l) => { if (flags.logLevel === 'debug') console.error(l); });
  console.error(`berthd ${BERTH_VERSION}: API listening on ${flags.hosts.join(', ')}${cri ? `, CRI on ${flags.criSocket}` : ''} (data root ${flags.dataRoot}, runtime ${engine.runtimes.defaultName})`);
  let stopping = false;
  const shutdown = (sig: string) => {
    // A terminal's Ctrl-C reaches a rootless berthd twice (its process group, and its launcher's forward).
    if (stopping) return;
    stopping = true;
    console.error(`berthd: ${sig}, shutting down (${flags.rootless ? 'rootless: its containers end with its namespaces' : 'containers keep running'})`);
    for (const l of listeners) l.close();
    void (cri?.close() ?? Promise.resolve()).then(() => engine.close()).catch((e) => console.error(`berthd: ${errorMessage(e)}`))
      .then(() => rm(flags.pidfile, { force: true }))
      .finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

/**
 * The last line of defence, never the mechanism: every request's failure is
 * handled where it happens (api/server.ts), so reaching these is a bug. It
 * is logged loudly with its stack, and berthd keeps serving: one broken
 * request must not stop every container's API.
 */
function installBackstop(): void {
  process.on('uncaughtException', (e) => console.error(`berthd: BUG: uncaught exception (berthd keeps serving): ${e?.stack ?? e}`));
  process.on('unhandledRejection', (e) => console.error(`berthd: BUG: unhandled rejection (berthd keeps serving): ${(e as Error)?.stack ?? e}`));
}

installBackstop();

main().catch((e) => {
  console.error(`berthd: ${errorMessage(e)}`);
  process.exit(1);
});
