/**
 * The client configuration shared with the Docker CLI: `<config dir>/config.json`
 * (`--config`, `DOCKER_CONFIG`, default `~/.docker`). berth reads the keys
 * that change what it sends or prints — registry credentials (`auths`),
 * `detachKeys`, `psFormat`, `imagesFormat`… — and writes `auths` on
 * login/logout, keeping every other key as it found it.
 */
import { INDEX_SERVER, credentialKey } from '../registry/auth/docker-config.js';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
}

export interface ConfigFileData {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  detachKeys?: string;
  psFormat?: string;
  imagesFormat?: string;
  networksFormat?: string;
  volumesFormat?: string;
  statsFormat?: string;
  [key: string]: unknown;
}

/** The credentials a registry request carries (Docker's registry.AuthConfig, JSON field names). */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

// The file's location and its `auths` keys are the registry package's (one definition for berthd and the CLI).
export { INDEX_SERVER, dockerConfigDir as defaultConfigDir } from '../registry/auth/docker-config.js';

export class ConfigFile {
  readonly path: string;
  data: ConfigFileData;

  constructor(dir: string) {
    this.path = join(dir, 'config.json');
    this.data = {};
    try {
      const text = readFileSync(this.path, 'utf8');
      if (text.trim()) this.data = JSON.parse(text) as ConfigFileData;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') {
        throw new Error(`loading config file: ${this.path}: ${(e as Error).message}`);
      }
    }
  }

  /** Credentials stored for a registry host (`docker.io` → the index server key). */
  authFor(registry: string): AuthConfig {
    const key = registryKey(registry);
    const auths = this.data.auths ?? {};
    const entry = auths[key] ?? auths[key.replace(/^https?:\/\//, '')] ?? auths[`https://${key}`] ?? auths[`http://${key}`];
    if (!entry) return {};
    const out: AuthConfig = { serveraddress: key };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) {
        out.username = decoded.slice(0, colon);
        out.password = decoded.slice(colon + 1);
      }
    }
    if (entry.username) out.username = entry.username;
    if (entry.password) out.password = entry.password;
    if (entry.identitytoken) out.identitytoken = entry.identitytoken;
    return out;
  }

  setAuth(registry: string, auth: AuthConfig): void {
    const key = registryKey(registry);
    this.data.auths ??= {};
    const entry: AuthEntry = {};
    if (auth.identitytoken) entry.identitytoken = auth.identitytoken;
    else entry.auth = Buffer.from(`${auth.username ?? ''}:${auth.password ?? ''}`).toString('base64');
    this.data.auths[key] = entry;
  }

  /** Removes stored credentials; false when there were none. */
  removeAuth(registry: string): boolean {
    const key = registryKey(registry);
    if (!this.data.auths || !(key in this.data.auths)) return false;
    delete this.data.auths[key];
    return true;
  }

  save(): void {
    const dir = this.path.slice(0, this.path.lastIndexOf('/'));
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(this.data, null, '\t') + '\n', { mode: 0o600 });
    renameSync(tmp, this.path);
  }
}

/** The key a registry's credentials are stored under (Docker Hub aliases collapse to the index server). */
export function registryKey(registry: string): string {
  return registry.trim() === '' ? INDEX_SERVER : credentialKey(registry);
}

/** X-Registry-Auth: base64url(JSON) as Docker's registry.EncodeAuthConfig writes it (`e30=` for none). */
export function encodeAuthHeader(auth: AuthConfig): string {
  const ordered: AuthConfig = {};
  for (const k of ['username', 'password', 'auth', 'email', 'serveraddress', 'identitytoken', 'registrytoken'] as const) {
    if (auth[k]) ordered[k] = auth[k];
  }
  return Buffer.from(JSON.stringify(ordered)).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');
}
