/**
 * The Engine API spec (Swagger 2.0, shared/reference/docker-engine-api-v1.50.yaml)
 * read into what the fuzzer needs: the operations (method, path template,
 * parameters, body schema) it may call, and the definitions their schemas
 * refer to. Endpoints of swarm, plugins, secrets, configs, services, nodes,
 * tasks, sessions and the distribution/search endpoints (which reach Docker
 * Hub) are left out: berth has none of them and some would go to the
 * internet.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { repoRoot } from '../../helpers/paths.js';

export interface Schema {
  $ref?: string;
  type?: string;
  format?: string;
  enum?: unknown[];
  properties?: Record<string, Schema>;
  additionalProperties?: Schema | boolean;
  items?: Schema;
  allOf?: Schema[];
  required?: string[];
  example?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  'x-nullable'?: boolean;
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'body' | 'header' | 'formData';
  type?: string;
  items?: Schema;
  enum?: unknown[];
  required?: boolean;
  schema?: Schema;
  default?: unknown;
}

export interface Operation {
  method: string;
  /** The path template, e.g. `/containers/{id}/json`. */
  path: string;
  params: Parameter[];
  consumes: string[];
}

export interface SpecModel {
  operations: Operation[];
  definitions: Record<string, Schema>;
  /** Follows `$ref`s until a schema without one. */
  resolve(s: Schema): Schema;
}

const SPEC_FILE = 'docker-engine-api-v1.50.yaml';

/**
 * Where the spec lives: $BERTH_API_SPEC, a copy in the checkout, or the
 * shared reference folder beside the checkout (or beside its worktree
 * folder). Undefined when there is none.
 */
export function specPath(): string | undefined {
  const candidates = [
    process.env.BERTH_API_SPEC,
    join(repoRoot, 'reference', SPEC_FILE),
    join(repoRoot, 'src', 'api', SPEC_FILE),
    join(repoRoot, '..', 'shared', 'reference', SPEC_FILE),
    join(repoRoot, '..', '..', 'shared', 'reference', SPEC_FILE),
  ];
  return candidates.find((c): c is string => !!c && existsSync(c));
}

const SKIPPED_PREFIXES = [
  '/swarm', '/nodes', '/services', '/tasks', '/secrets', '/configs', '/plugins', '/session', '/grpc',
  '/distribution', '/images/search',
];

export function isSkippedPath(path: string): boolean {
  return SKIPPED_PREFIXES.some((p) => path === p || path.startsWith(`${p}/`));
}

export function loadSpec(file = specPath()): SpecModel {
  if (!file) throw new Error(`the Engine API spec (${SPEC_FILE}) was not found: set BERTH_API_SPEC`);
  const doc = parse(readFileSync(file, 'utf8')) as {
    consumes?: string[];
    definitions: Record<string, Schema>;
    paths: Record<string, Record<string, { parameters?: Parameter[]; consumes?: string[] }>>;
  };
  const operations: Operation[] = [];
  for (const [path, ops] of Object.entries(doc.paths)) {
    if (isSkippedPath(path)) continue;
    for (const [method, op] of Object.entries(ops)) {
      if (!['get', 'post', 'put', 'delete', 'head'].includes(method)) continue;
      operations.push({ method: method.toUpperCase(), path, params: op.parameters ?? [], consumes: op.consumes ?? doc.consumes ?? [] });
    }
  }
  const definitions = doc.definitions;
  const resolve = (s: Schema): Schema => {
    let cur = s;
    for (let i = 0; cur.$ref && i < 20; i++) {
      const name = cur.$ref.replace(/^#\/definitions\//, '');
      const next = definitions[name];
      if (!next) throw new Error(`spec: unknown $ref ${cur.$ref}`);
      cur = next;
    }
    return cur;
  };
  return { operations, definitions, resolve };
}
