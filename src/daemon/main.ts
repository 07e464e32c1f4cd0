/**
 * berthd: opens the engine, serves the Docker Engine API on unix sockets,
 * and exits on SIGTERM/SIGINT leaving containers running under conmon.
 */
import net from 'node:net';
import { chmod, chown, mkdir, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import type { Server } from 'node:http';
import { parseDaemonFlags, DAEMON_USAGE } from './flags.js';
import { lockRoot } from '../store/root-lock.js';
import { parseAddressPool } from '../network/ipam.js';
import { Engine } from '../engine/engine.js';
import { createApiServer } from '../api/server.js';
import { CriServer } from '../cri/server.js';
import { BERTH_VERSION } from '../api/system.js';
import { errorMessage } from '../errors.js';

function groupId(name: string): number | undefined {
  try {
    const out = execFileSync('getent', ['group', name], { encoding: 'utf8' });
    return Number(out.split(':')[2]);
  } catch { return undefined; }
}

/** True when something already answers on the socket (another berthd). */
function socketInUse(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(path);
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

async function listenUnix(server: Server, path: string, group: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  if (await socketInUse(path)) throw new Error(`another daemon is listening on ${path}`);
  await rm(path, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Node's default backlog (511) refuses a burst of clients connecting at once (EAGAIN on a unix
    // socket); the kernel caps this at net.core.somaxconn anyway.
    server.listen({ path, backlog: 4096 }, () => { server.off('error', reject); resolve(); });
  });
  const gid = groupId(group);
  if (gid !== undefined) await chown(path, 0, gid);
  await chmod(path, 0o660);
}

async function main(): Promise<void> {
  const flags = parseDaemonFlags(process.argv.slice(2));
  if (flags.help) { process.stdout.write(DAEMON_USAGE); return; }
  if (flags.version) { process.stdout.write(`berthd version ${BERTH_VERSION}\n`); return; }
  if (process.getuid?.() !== 0) throw new Error('berthd needs to be started with root privileges');
  // Before anything touches the roots (reconciliation, the pid file, the socket): one berthd per root, for its life.
  lockRoot(flags.dataRoot);
  lockRoot(flags.execRoot);
  const engine = await Engine.open({
    dataRoot: flags.dataRoot, execRoot: flags.execRoot, defaultRuntime: flags.defaultRuntime, insecureRegistries: flags.insecureRegistries,
    network: {
      ...(flags.bridge ? { bridgeName: flags.bridge } : {}),
      ...(flags.bip ? { bip: flags.bip } : {}),
      ...(flags.defaultAddressPools.length ? { pools: flags.defaultAddressPools.map(parseAddressPool) } : {}),
    },
  });
  engine.distribution.useMirrors(flags.registryMirrors);
  const servers: Server[] = [];
  for (const host of flags.hosts) {
    if (!host.startsWith('unix://')) throw new Error(`unsupported host ${host}: only unix:// sockets are supported yet`);
    const server = createApiServer(engine, { debug: flags.logLevel === 'debug' });
    await listenUnix(server, host.slice('unix://'.length), flags.group);
    servers.push(server);
  }
  let cri: CriServer | undefined;
  if (flags.criSocket) {
    cri = new CriServer(engine);
    await cri.listen(flags.criSocket);
  }
  await writeFile(flags.pidfile, String(process.pid));
  console.error(`berthd ${BERTH_VERSION}: API listening on ${flags.hosts.join(', ')}${cri ? `, CRI on ${flags.criSocket}` : ''} (data root ${flags.dataRoot}, runtime ${engine.runtimes.defaultName})`);
  const shutdown = (sig: string) => {
    console.error(`berthd: ${sig}, shutting down (containers keep running)`);
    for (const s of servers) { s.close(); s.closeAllConnections(); }
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
