/**
 * What every command runs with: the standard streams, the global options, the
 * client configuration, and an API client that is connected (and the daemon
 * started, when allowed) only when a command first needs it — so `--help`,
 * flag errors and `berth version`'s client half work without a daemon.
 */
import type { Readable, Writable } from 'node:stream';
import { ApiClient } from './client.js';
import { ConfigFile, defaultConfigDir } from './config-file.js';
import { ConnectError, StatusError } from './errors.js';
import { DEFAULT_HOST, type DaemonAddress, type TlsOptions } from './host.js';
import { resolveAddress } from './context/resolve.js';

const DEFAULT_SOCKET = DEFAULT_HOST.slice('unix://'.length);

export interface GlobalOptions {
  hosts: string[];
  debug: boolean;
  logLevel: string;
  configDir?: string;
  /** `--context`/`-c`. */
  context?: string;
  /** `--tls`, `--tlsverify` and the PEM files, as given. */
  tls?: TlsOptions;
}

export type OutStream = Writable & { isTTY?: boolean; columns?: number; rows?: number };
export type InStream = Readable & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown; fd?: number };

/** The standard streams. `in` may be a getter (main.ts): it is read only by commands that use stdin. */
export interface CliStreams {
  readonly in: InStream;
  out: OutStream;
  err: OutStream;
}

export class CliContext {
  readonly out: OutStream;
  readonly err: OutStream;
  readonly env: NodeJS.ProcessEnv;
  readonly globals: GlobalOptions;
  private readonly streams: CliStreams;
  private clientPromise?: Promise<ApiClient>;
  private clientInstance?: ApiClient;
  private configFile?: ConfigFile;
  private resolvedAddress?: DaemonAddress;

  constructor(streams: CliStreams, globals: GlobalOptions, env: NodeJS.ProcessEnv) {
    this.streams = streams;
    this.out = streams.out;
    this.err = streams.err;
    this.globals = globals;
    this.env = env;
  }

  /** Standard input, opened on first use. */
  get in(): InStream {
    return this.streams.in;
  }

  get address(): DaemonAddress {
    this.resolvedAddress ??= resolveAddress({
      hosts: this.globals.hosts, context: this.globals.context, tls: this.globals.tls ?? {}, env: this.env,
      configDir: this.configDir, currentContext: typeof this.config.data.currentContext === 'string' ? this.config.data.currentContext : undefined,
    });
    return this.resolvedAddress;
  }

  /** `--config`, DOCKER_CONFIG or ~/.docker: config.json, the context store, default TLS files. */
  get configDir(): string {
    return this.globals.configDir ?? defaultConfigDir(this.env);
  }

  get config(): ConfigFile {
    this.configFile ??= new ConfigFile(this.configDir);
    return this.configFile;
  }

  debug(line: string): void {
    if (this.globals.debug) this.err.write(`DEBU ${line}\n`);
  }

  /** The connected client; starts berthd first when the socket is absent and we are root. */
  client(): Promise<ApiClient> {
    this.clientPromise ??= this.connect();
    return this.clientPromise;
  }

  private async connect(): Promise<ApiClient> {
    const addr = this.address;
    // TCP, TLS and ssh's code is loaded only for those addresses (start-up time of the unix-socket case).
    const dial = addr.kind === 'unix' ? undefined : (await import('./transport.js')).dial;
    const client = new ApiClient({ address: addr, dial, host: addr.host, debug: this.globals.debug ? (l) => this.debug(l) : undefined });
    this.clientInstance = client;
    try {
      await client.negotiate();
      return client;
    } catch (e) {
      if (!(e instanceof ConnectError)) throw e;
      const absent = e.code === 'ENOENT' || e.code === 'ECONNREFUSED';
      // Only the default socket: a berthd started for some other -H would silently use the
      // default data root, which is never what the user of a custom socket wants.
      const mayStart = absent && process.getuid?.() === 0 && !this.env.BERTH_NO_AUTOSTART && addr.kind === 'unix' && addr.socketPath === DEFAULT_SOCKET;
      if (!mayStart) throw new StatusError(1, e.message);
    }
    const probe = new ApiClient({ address: addr, dial, host: addr.host });
    try {
      // Loaded only here (it spawns processes): most commands find the daemon running.
      const { startDaemon } = await import('./daemon-autostart.js');
      await startDaemon(addr, async () => {
        try {
          await probe.ping();
          return true;
        } catch {
          return false;
        }
      }, { debug: (l) => this.debug(l) });
    } catch (e) {
      throw new StatusError(1, (e as Error).message);
    } finally {
      probe.close();
    }
    const fresh = new ApiClient({ address: addr, dial, host: addr.host, debug: this.globals.debug ? (l) => this.debug(l) : undefined });
    this.clientInstance = fresh;
    client.close();
    await fresh.negotiate();
    return fresh;
  }

  /** Drops pooled connections so the process may exit. */
  close(): void {
    this.clientInstance?.close();
  }
}
