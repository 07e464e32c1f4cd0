/**
 * Node builtins that most commands never use, loaded the first time one is
 * asked for rather than when the CLI starts. node:crypto (and node:tls,
 * which loads it) costs 2–5 ms of every start; only a named context (its
 * directory is the hash of its name) and a TLS daemon need them. Synchronous,
 * so callers stay as they were.
 */
import { createRequire } from 'node:module';

// Made on first use too: createRequire parses import.meta.url (a file URL) on every start otherwise.
let requireBuiltin: NodeJS.Require | undefined;
function load(id: string): unknown {
  requireBuiltin ??= createRequire(import.meta.url);
  return requireBuiltin(id);
}

export function crypto(): typeof import('node:crypto') {
  return load('node:crypto') as typeof import('node:crypto');
}

export function tls(): typeof import('node:tls') {
  return load('node:tls') as typeof import('node:tls');
}
