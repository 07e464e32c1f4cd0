/**
 * The Go types dockerd decodes request bodies into, as a table that
 * scripts/gen-api-schemas.mjs derives from the Engine API spec and
 * `go-decode.ts` checks bodies against. Vocabulary:
 *
 * - a *body* is one endpoint's JSON request body (`ContainerCreate`, …);
 * - a *def* is a spec definition (`HostConfig`, `Mount`, …), referenced by
 *   name so that shared structs appear once;
 * - `go` is the type's name as Go's `reflect.Type.String()` spells it
 *   (`int64`, `container.HealthConfig`, `[2]uint`): it is what dockerd's
 *   `json: cannot unmarshal … of type …` messages name;
 * - `ptr` marks a field Go declares as a pointer (the spec's `x-nullable`):
 *   a JSON `null` is kept there, and dropped (left unset) everywhere else,
 *   as Go leaves a non-pointer field at its zero value.
 */
export type GoType =
  | { t: 'string'; ptr?: boolean }
  | { t: 'bool'; ptr?: boolean }
  | { t: 'float'; ptr?: boolean }
  /** An integer; `go` is its Go kind (int, int64, uint16, …), which fixes its range. */
  | { t: 'int'; go: string; ptr?: boolean }
  /** moby's strslice.StrSlice: a string or a list of strings, decoded to a list. */
  | { t: 'strslice'; ptr?: boolean }
  | { t: 'slice'; of: GoType; go?: string; ptr?: boolean }
  /** A map with string keys. */
  | { t: 'map'; of: GoType; ptr?: boolean }
  | { t: 'struct'; go: string; fields: Record<string, GoType>; ptr?: boolean }
  | { t: 'ref'; def: string; go?: string; ptr?: boolean }
  /** Go's interface{}: anything. */
  | { t: 'any'; ptr?: boolean };

export interface BodyTable {
  bodies: Record<string, GoType>;
  defs: Record<string, GoType & { t: 'struct' }>;
}
