/**
 * The one place request bodies are checked: every JSON body a handler reads
 * goes through `parseBody`, which parses it and decodes it against the Go
 * type dockerd would decode it into (the Engine API spec's schema, via
 * `schema/go-decode.ts`), with dockerd's 400 wording. What comes out has the
 * API's shape: the engine (and what it stores) never sees a number where a
 * string belongs.
 *
 * Bodies, as dockerd treats them:
 * - empty, or `null`, is `{}` (Go's decode of `null` into a struct does
 *   nothing; the Go client's commit sends `null`); the engine then refuses
 *   what it must (create: "config cannot be empty in order to create a
 *   container", exec: "No exec command specified");
 * - anything but an object is Go's `cannot unmarshal array into Go value
 *   of type container.CreateRequest`;
 * - unknown fields are dropped and keys take the spec's spelling.
 *
 * The semantic checks dockerd makes after decoding (env, healthcheck,
 * OomScoreAdj, …) are the engine's: engine/create-checks.ts.
 */
import { InvalidParameterError } from '../errors.js';
import { GoDecoder, kindOf } from './schema/go-decode.js';
import { ENGINE_API_BODIES } from './schema/engine-api.generated.js';

/** The request bodies with a schema (scripts/gen-api-schemas.mjs lists the endpoints). */
export type BodyName =
  | 'ContainerCreate' | 'ContainerUpdate' | 'Commit' | 'Auth' | 'ExecCreate' | 'ExecStart'
  | 'VolumeCreate' | 'NetworkCreate' | 'NetworkConnect' | 'NetworkDisconnect';

let decoder: GoDecoder | undefined;

/**
 * A body's text → its decoded value. Without `name` (an endpoint the spec
 * does not describe, such as berth's own) the body must still be an object.
 */
export function parseBody<T = Record<string, any>>(text: string, name?: BodyName): T {
  const trimmed = text.trim();
  if (!trimmed) return {} as T;
  let value: unknown;
  try {
    value = JSON.parse(trimmed);
  } catch (e) {
    throw new InvalidParameterError(`invalid JSON: ${(e as Error).message}`);
  }
  if (value === null) return {} as T;
  if (!name) {
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new InvalidParameterError(`invalid JSON: json: cannot unmarshal ${kindOf(value)} into Go value of type map[string]interface {}`);
    }
    return value as T;
  }
  decoder ??= new GoDecoder(ENGINE_API_BODIES);
  try {
    return decoder.decode(name, value) as T;
  } catch (e) {
    // A document nested deeper than the stack (Go's decoder stops at 10000 levels with this message).
    if (e instanceof RangeError) throw new InvalidParameterError('invalid JSON: exceeded max depth', { cause: e });
    throw e;
  }
}
