/**
 * Checks on CRI requests at the boundary. A request decodes with every field
 * present (defaults filled in), so these check values, not presence. Every
 * failure is an InvalidParameterError (INVALID_ARGUMENT) naming the field.
 */
import { posix } from 'node:path';
import { InvalidParameterError, NotFoundError } from '../errors.js';

const MAX_PATH = 4096;

/** A container or sandbox ID as a client sends it: berth's 64 hex digits or a unique prefix of them. */
export function idArg(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new InvalidParameterError(`${what} ID must not be empty`);
  // Anything else cannot name one of berth's containers: not found, as for an unknown ID.
  if (!/^[a-f0-9]{1,64}$/.test(v)) throw new NotFoundError(`${what} "${v.slice(0, 80)}" not found`);
  return v;
}

function checkString(v: string, what: string): void {
  if (v.includes('\0')) throw new InvalidParameterError(`${what} must not contain NUL bytes`);
}

/** An absolute, clean host or container path: no `..`, no NUL, not too long. */
export function absolutePath(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new InvalidParameterError(`${what} must not be empty`);
  checkString(v, what);
  if (v.length > MAX_PATH) throw new InvalidParameterError(`${what} is too long`);
  if (!v.startsWith('/')) throw new InvalidParameterError(`${what} "${v}" must be an absolute path`);
  if (v.split('/').includes('..')) throw new InvalidParameterError(`${what} "${v}" must not contain ".."`);
  return posix.normalize(v);
}

/**
 * Where a container's CRI log goes: log_path, relative to the pod's
 * log_directory (kubelet's `<container>/<attempt>.log`), never out of it.
 * '' when the pod or the container names none.
 */
export function logFile(logDirectory: string, logPath: unknown): string {
  if (typeof logPath !== 'string' || logPath === '') return '';
  checkString(logPath, 'log_path');
  if (!logDirectory) throw new InvalidParameterError('log_path needs the pod sandbox\'s log_directory');
  if (logPath.startsWith('/')) throw new InvalidParameterError(`log_path "${logPath}" must be relative to log_directory`);
  if (logPath.split('/').includes('..')) throw new InvalidParameterError(`log_path "${logPath}" must not contain ".."`);
  const file = posix.join(logDirectory, logPath);
  if (file === logDirectory || file.length > MAX_PATH) throw new InvalidParameterError(`invalid log_path "${logPath}"`);
  return file;
}

/** A list of strings without NUL bytes (argv, env). */
export function stringList(v: unknown, what: string): string[] {
  if (!Array.isArray(v)) throw new InvalidParameterError(`${what} must be a list`);
  for (const s of v) {
    if (typeof s !== 'string') throw new InvalidParameterError(`${what} must be strings`);
    checkString(s, what);
  }
  return v as string[];
}

/** The CRI's key/value env list as `KEY=VALUE`. */
export function envList(v: unknown): string[] {
  if (!Array.isArray(v)) return [];
  return v.map((kv: { key?: unknown; value?: unknown }) => {
    const key = String(kv?.key ?? '');
    const value = String(kv?.value ?? '');
    if (!key || key.includes('=')) throw new InvalidParameterError(`invalid environment variable name "${key}"`);
    checkString(key, 'envs'); checkString(value, 'envs');
    return `${key}=${value}`;
  });
}

/** A protobuf int64 (decoded as a decimal string) as a safe JS number. */
export function int64(v: unknown, what: string): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'number' ? v : 0;
  if (!Number.isSafeInteger(n)) throw new InvalidParameterError(`${what} is out of range`);
  return n;
}

/** A metadata name that can be part of a berth container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*, as Docker's). */
export function nameArg(v: unknown, what: string): string {
  if (typeof v !== 'string' || v === '') throw new InvalidParameterError(`${what} must not be empty`);
  if (v.length > 253 || !/^[a-zA-Z0-9][a-zA-Z0-9.-]*$/.test(v)) throw new InvalidParameterError(`${what} "${v.slice(0, 80)}" is not a valid name`);
  return v;
}
