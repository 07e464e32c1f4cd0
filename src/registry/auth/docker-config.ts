/**
 * Registry credentials in Docker's client configuration,
 * `$DOCKER_CONFIG/config.json` (default `~/.docker/config.json`), shared with
 * the docker CLI so `docker login` and `berth login` see the same entries.
 *
 * - `auths`: one entry per registry, keyed `host[:port]`, Docker Hub under
 *   `https://index.docker.io/v1/`. `auth` is base64(`user:password`);
 *   `identitytoken` a refresh token from a token-server login;
 *   `registrytoken` a bearer token. Older files used `username`/`password`
 *   fields and keys with a scheme or path (`https://host/v1/`); those are
 *   still found by host name, as the docker CLI finds them.
 * - `credHelpers` (per registry) and then `credsStore` (all registries) name
 *   a `docker-credential-<name>` program that holds the secret instead
 *   (`credential-helper.ts`); the file then only keeps an empty `auths`
 *   entry, as the docker CLI writes it.
 * - Writes keep every other key (and key order) as found, go to a temp file
 *   with mode 0600 in the same directory, are fsynced, then renamed over the
 *   file (following a symlinked config.json to its target), so a crash never
 *   leaves a half-written file and the secret is never world-readable.
 */
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { SystemError } from '../../errors.js';
import { helperErase, helperGet, helperStore } from './credential-helper.js';

/** Docker Hub's key in `auths` and for credential helpers. */
export const INDEX_SERVER = 'https://index.docker.io/v1/';

export interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
  registrytoken?: string;
  email?: string;
  [key: string]: unknown;
}

export interface DockerConfigData {
  auths?: Record<string, AuthEntry>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

export interface StoredCredentials {
  username?: string;
  password?: string;
  identityToken?: string;
  registryToken?: string;
}

export interface ConfigLocation {
  /** Directory holding config.json; default `$DOCKER_CONFIG` or `~/.docker`. */
  dir?: string;
  /** Environment for `DOCKER_CONFIG`, `HOME` and helpers' `PATH`; default process.env. */
  env?: NodeJS.ProcessEnv;
}

export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || path.join(env.HOME || os.homedir(), '.docker');
}

function configPath(loc: ConfigLocation): string {
  return path.join(loc.dir ?? dockerConfigDir(loc.env), 'config.json');
}

/**
 * The `auths` key for a registry domain: Docker Hub's aliases collapse to
 * the index server URL, others are `host[:port]` without scheme or path.
 */
export function credentialKey(domain: string): string {
  const host = hostnameOf(domain);
  if (host === 'docker.io' || host === 'index.docker.io' || host === 'registry-1.docker.io') return INDEX_SERVER;
  return host;
}

/** `https://host:5000/v1/` → `host:5000` (the docker CLI's ConvertToHostname). */
function hostnameOf(key: string): string {
  return key.trim().replace(/^[a-z][a-z0-9+.-]*:\/\//i, '').split('/')[0];
}

/** Reads config.json; an absent or empty file is an empty config. */
export async function readDockerConfig(loc: ConfigLocation = {}): Promise<DockerConfigData> {
  const file = configPath(loc);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new SystemError(`loading config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!text.trim()) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new SystemError(`loading config file ${file}: ${(err as Error).message}`, { cause: err });
  }
  if (!data || typeof data !== 'object' || Array.isArray(data)) throw new SystemError(`loading config file ${file}: not a JSON object`);
  return data as DockerConfigData;
}

/** Writes config.json atomically (temp file, fsync, rename), mode 0600, tab-indented as the docker CLI writes it. */
export async function writeDockerConfig(data: DockerConfigData, loc: ConfigLocation = {}): Promise<void> {
  let file = configPath(loc);
  try {
    file = await fs.realpath(file);
  } catch {
    // Not there yet: created below.
  }
  const dir = path.dirname(file);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.config.json.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'wx', 0o600);
  try {
    await handle.writeFile(`${JSON.stringify(data, null, '\t')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}

/** The credentials an `auths` entry stands for. */
export function decodeAuthEntry(entry: AuthEntry, key = ''): StoredCredentials {
  const out: StoredCredentials = {};
  if (typeof entry.auth === 'string' && entry.auth) {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new SystemError(`invalid auth configuration file: malformed auth for ${key}`);
    out.username = decoded.slice(0, colon);
    out.password = decoded.slice(colon + 1);
  }
  if (typeof entry.username === 'string' && entry.username) out.username = entry.username;
  if (typeof entry.password === 'string' && entry.password) out.password = entry.password;
  if (typeof entry.identitytoken === 'string' && entry.identitytoken) out.identityToken = entry.identitytoken;
  if (typeof entry.registrytoken === 'string' && entry.registrytoken) out.registryToken = entry.registrytoken;
  return out;
}

/** The `auths` key holding `key`'s entry: exact, else the first whose host name matches. */
function findAuthKey(auths: Record<string, AuthEntry>, key: string): string | undefined {
  if (Object.hasOwn(auths, key)) return key;
  const want = hostnameOf(key);
  return Object.keys(auths).find((k) => hostnameOf(k) === want);
}

/** The helper configured for `key`: `credHelpers[key]`, else `credsStore`. */
export function helperFor(data: DockerConfigData, key: string): string | undefined {
  const specific = data.credHelpers?.[key];
  if (typeof specific === 'string' && specific) return specific;
  return typeof data.credsStore === 'string' && data.credsStore ? data.credsStore : undefined;
}

const isEmpty = (c: StoredCredentials) => !c.username && !c.password && !c.identityToken && !c.registryToken;

/** Stored credentials for a registry domain (`docker.io`, `127.0.0.1:5000`); undefined when there are none. */
export async function getCredentials(domain: string, loc: ConfigLocation = {}): Promise<StoredCredentials | undefined> {
  const data = await readDockerConfig(loc);
  const key = credentialKey(domain);
  const helper = helperFor(data, key);
  if (helper) return helperGet(helper, key, loc.env);
  const auths = data.auths ?? {};
  const found = findAuthKey(auths, key);
  if (!found) return undefined;
  const creds = decodeAuthEntry(auths[found], found);
  return isEmpty(creds) ? undefined : creds;
}

/**
 * Saves credentials after a successful login: in the configured helper, or
 * in `auths` (`auth` = base64(user:password), or `identitytoken` when the
 * registry issued one, as the docker CLI stores them).
 */
export async function storeCredentials(domain: string, creds: StoredCredentials, loc: ConfigLocation = {}): Promise<void> {
  const data = await readDockerConfig(loc);
  const key = credentialKey(domain);
  const helper = helperFor(data, key);
  const auths = (data.auths && typeof data.auths === 'object' ? data.auths : (data.auths = {}));
  const old = findAuthKey(auths, key);
  if (old !== undefined && old !== key) delete auths[old];
  if (helper) {
    await helperStore(helper, key, creds, loc.env);
    auths[key] = {};
  } else {
    const entry: AuthEntry = {};
    if (creds.identityToken) {
      entry.auth = Buffer.from(`${creds.username ?? ''}:`).toString('base64');
      entry.identitytoken = creds.identityToken;
    } else {
      entry.auth = Buffer.from(`${creds.username ?? ''}:${creds.password ?? ''}`).toString('base64');
    }
    auths[key] = entry;
  }
  await writeDockerConfig(data, loc);
}

/** Forgets a registry's credentials (logout); false when none were stored. */
export async function removeCredentials(domain: string, loc: ConfigLocation = {}): Promise<boolean> {
  const data = await readDockerConfig(loc);
  const key = credentialKey(domain);
  const helper = helperFor(data, key);
  const auths = data.auths ?? {};
  const keys = Object.keys(auths).filter((k) => k === key || hostnameOf(k) === hostnameOf(key));
  if (helper) await helperErase(helper, key, loc.env);
  if (!keys.length) return !!helper;
  for (const k of keys) delete auths[k];
  await writeDockerConfig(data, loc);
  return true;
}
