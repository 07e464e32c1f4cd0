/**
 * The check every protobuf message a client sends passes before protobufjs
 * decodes it (BuildKit's messages in buildkit/messages.ts, the CRI's in
 * cri/grpc.ts): a walk of the wire format that makes no objects of it.
 *
 * - Every length-delimited field fits in its message, nested messages
 *   (by the type's own fields, maps' entries too) likewise: protobufjs
 *   would read a nested message whose length runs past its parent's end.
 * - Only the four wire types proto3 uses (no groups, which protobufjs
 *   skips by recursion).
 * - At most MAX_DEPTH levels of nesting, and at most MAX_FIELDS fields in
 *   all, at every level (a packed repeated number counts each of its
 *   bytes: each may be an element). protobufjs makes an object (with every default
 *   filled in) per element of a repeated message field: 16 MiB of two-byte
 *   empty elements were 8 million objects, 2 GB of berthd's heap and tens
 *   of seconds in which it served no other client.
 */
import protobuf from 'protobufjs';

/** How deep messages may nest (BuildKit's and the CRI's are a few levels deep). */
const MAX_DEPTH = 32;

/**
 * Fields (tags) a message may hold, nested ones included. A map entry is
 * three (the entry, its key, its value): 20,000 build args or pod
 * annotations fit.
 */
export const MAX_FIELDS = 1 << 16;

/** Throws an Error saying what is wrong when `bytes` is not a well-formed `type` within the bounds above. */
export function checkWire(type: protobuf.Type, bytes: Uint8Array): void {
  const counter = { fields: 0 };
  walk(type, bytes, 0, counter);
}

/** The type of field `id` of `type` when it is a message (a map entry's value, field 2, when `type` is a map's field). */
function nestedType(type: protobuf.Type | protobuf.Field | null, id: number): protobuf.Type | protobuf.Field | undefined {
  if (type instanceof protobuf.Field) {
    // A map entry: field 1 the key (a string), field 2 the value, a message or not.
    if (id !== 2) return undefined;
    type.resolve();
    return type.resolvedType instanceof protobuf.Type ? type.resolvedType : undefined;
  }
  const field = type?.fieldsById[id];
  if (!field) return undefined;
  field.resolve();
  if (field.map) return field;
  return field.resolvedType instanceof protobuf.Type ? field.resolvedType : undefined;
}

/** Whether field `id` of `type` is a packed repeated number: each of its bytes may be one element of the array protobufjs makes. */
function packedNumbers(type: protobuf.Type | protobuf.Field | null, id: number): boolean {
  if (!(type instanceof protobuf.Type)) return false;
  const field = type.fieldsById[id];
  if (!field || !field.repeated || field.map || field.type === 'string' || field.type === 'bytes') return false;
  field.resolve();
  return !(field.resolvedType instanceof protobuf.Type);
}

/** Walks the message `b` of `type` (a map's field: one of its entries; null: unknown, walked at its top level only). */
function walk(type: protobuf.Type | protobuf.Field | null, b: Uint8Array, depth: number, counter: { fields: number }): void {
  if (depth > MAX_DEPTH) throw new Error('messages nested too deeply');
  let pos = 0;
  const varint = (): number => {
    let v = 0;
    for (let i = 0; i < 10; i++) {
      if (pos >= b.length) throw new Error('varint runs past the end');
      const byte = b[pos++];
      if (i < 7) v += (byte & 0x7f) * 2 ** (7 * i);
      if (!(byte & 0x80)) return v;
    }
    throw new Error('varint longer than 10 bytes');
  };
  while (pos < b.length) {
    const tag = varint();
    const id = Math.floor(tag / 8);
    if (id === 0) throw new Error('field number 0');
    if (++counter.fields > MAX_FIELDS) throw new Error(`more than ${MAX_FIELDS} fields`);
    switch (tag & 7) {
      case 0: varint(); break;
      case 1: pos += 8; break;
      case 5: pos += 4; break;
      case 2: {
        const len = varint();
        if (len > b.length - pos) throw new Error(`field ${id}: length ${len} runs past the end`);
        const nested = nestedType(type, id);
        if (nested) walk(nested, b.subarray(pos, pos + len), depth + 1, counter);
        else if (packedNumbers(type, id) && (counter.fields += len) > MAX_FIELDS) throw new Error(`more than ${MAX_FIELDS} fields`);
        pos += len;
        break;
      }
      default: throw new Error(`field ${id}: wire type ${tag & 7} is not supported`);
    }
    if (pos > b.length) throw new Error(`field ${id} runs past the end`);
  }
}
