/**
 * berth's own registry server (`berth registry serve`): the OCI distribution
 * spec v1.1 API (plus Docker's `_catalog`) over a crash-safe, content-addressed
 * filesystem store, with optional basic auth and TLS.
 *
 * Module map: `routes.ts` (URL → endpoint), `request-handler.ts` (auth, errors,
 * log), `*-handlers.ts` (one file per resource), `upload-store.ts` /
 * `blob-store.ts` / `repository-store.ts` over `layout.ts` (disk format) and
 * `durable-fs.ts` (temp + fsync + rename); `root-lock.ts` (one process per
 * storage root) and `garbage-collect.ts` (`registry garbage-collect`).
 * Interop with Docker's docker-registry 2.8.2 and skopeo is checked in
 * `test/integration/registry/server.test.ts`.
 */
import fs from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { StorageLayout } from './layout.js';
import { BlobStore } from './blob-store.js';
import { RepositoryStore } from './repository-store.js';
import { UploadStore } from './upload-store.js';
import { Credentials } from './htpasswd.js';
import { createRequestHandler } from './request-handler.js';
import { lockRoot } from './root-lock.js';
import { dialHost, parseListenAddress } from './address.js';
import type { RegistryContext } from './context.js';

export { HtpasswdError } from './htpasswd.js';
export { DistributionError } from './errors.js';

export interface RegistryServerOptions {
  /** `127.0.0.1:5000`, `:5000` (every interface), `[::1]:5000`; port 0 picks a free one. */
  addr: string;
  /** Storage directory; created when missing, locked while the server runs (`root-lock.ts`). */
  root: string;
  /**
   * htpasswd file: bcrypt (`htpasswd -B`, as Debian's docker-registry uses),
   * `{SHA}` and plain-text lines (see `htpasswd.ts`).
   */
  htpasswd?: string;
  /** Extra users, `name → password` (tests, `--user`). With `htpasswd`, both apply. */
  basicAuth?: Record<string, string>;
  /** PEM certificate and key: serve HTTPS. Both or neither. */
  tlsCert?: string;
  tlsKey?: string;
  /** DELETE of manifests, tags and blobs; 405 `UNSUPPORTED` when false. Default true. */
  deleteEnabled?: boolean;
  /** One Common Log Format line per request, and startup notes. */
  log?: (line: string) => void;
  /** Upload sessions idle longer than this are removed (at start, then hourly). Default 24 h. */
  uploadMaxAgeMs?: number;
}

export interface RunningRegistry {
  /** `http://127.0.0.1:5000` — what a client on this host dials. */
  url: string;
  port: number;
  close(): Promise<void>;
}

const DEFAULT_UPLOAD_MAX_AGE_MS = 24 * 60 * 60 * 1000;
const SWEEP_INTERVAL_MS = 60 * 60 * 1000;

async function loadCredentials(o: RegistryServerOptions): Promise<Credentials | undefined> {
  if (!o.htpasswd && !o.basicAuth) return undefined;
  const creds = o.htpasswd ? Credentials.fromHtpasswd(await fs.readFile(o.htpasswd, 'utf8'), o.htpasswd) : new Credentials();
  if (o.basicAuth) creds.merge(Credentials.fromMap(o.basicAuth));
  if (creds.size === 0) throw new Error(`basic auth configured but no users found${o.htpasswd ? ` in ${o.htpasswd}` : ''}`);
  return creds;
}

/** Prepares the store (dirs, temp cleanup, stale uploads) before taking requests; the caller holds the root's lock. */
async function openStore(layout: StorageLayout, o: RegistryServerOptions): Promise<RegistryContext> {
  for (const dir of [layout.blobsDir('sha256'), layout.repositoriesDir, layout.uploadsDir]) await fs.mkdir(dir, { recursive: true });
  // Temp files belong to writes that never reached their rename: garbage by construction.
  await fs.rm(layout.tmpDir, { recursive: true, force: true });
  await fs.mkdir(layout.tmpDir, { recursive: true });
  const blobs = new BlobStore(layout);
  const uploads = new UploadStore(layout, blobs);
  const swept = await uploads.sweep(o.uploadMaxAgeMs ?? DEFAULT_UPLOAD_MAX_AGE_MS, { repair: true });
  if (swept.removed > 0) o.log?.(`registry: removed ${swept.removed} stale upload(s)`);
  return { layout, blobs, repos: new RepositoryStore(layout), uploads, deleteEnabled: o.deleteEnabled ?? true };
}

function listen(server: http.Server, port: number, host: string | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

export async function startRegistryServer(o: RegistryServerOptions): Promise<RunningRegistry> {
  const { host, port } = parseListenAddress(o.addr);
  if (!!o.tlsCert !== !!o.tlsKey) throw new Error('TLS needs both a certificate and a key');
  const credentials = await loadCredentials(o);
  const tls = o.tlsCert && o.tlsKey ? { cert: await fs.readFile(o.tlsCert), key: await fs.readFile(o.tlsKey) } : undefined;
  const layout = new StorageLayout(path.resolve(o.root));
  await fs.mkdir(layout.root, { recursive: true });
  // Held until close: `registry garbage-collect` must not run while uploads and manifest pushes can happen.
  const lock = await lockRoot(layout, 'registry serve', o.log);

  let ctx: RegistryContext;
  let server: http.Server;
  try {
    ctx = await openStore(layout, o);
    const handler = createRequestHandler(ctx, { credentials, log: o.log });
    server = tls ? https.createServer(tls, handler) : http.createServer(handler);
    // Node's default 5-minute request timeout would cut off large layer uploads.
    server.requestTimeout = 0;
    await listen(server, port, host);
  } catch (err) {
    await lock.release();
    throw err;
  }
  const actual = (server.address() as AddressInfo).port;
  const url = `${tls ? 'https' : 'http'}://${dialHost(host)}:${actual}`;

  const sweeper = setInterval(() => {
    ctx.uploads.sweep(o.uploadMaxAgeMs ?? DEFAULT_UPLOAD_MAX_AGE_MS, { repair: false }).catch((err) => {
      o.log?.(`registry: upload sweep failed: ${err instanceof Error ? err.message : String(err)}`);
    });
  }, SWEEP_INTERVAL_MS);
  sweeper.unref();

  let closing: Promise<void> | undefined;
  return {
    url,
    port: actual,
    close() {
      closing ??= new Promise<void>((resolve) => {
        clearInterval(sweeper);
        // The root is free only once no request can write to it any more.
        server.close(() => lock.release().then(resolve, resolve));
        server.closeAllConnections();
        ctx.uploads.forgetAll();
      });
      return closing;
    },
  };
}
