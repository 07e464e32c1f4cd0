/**
 * One CSV record as Go's encoding/csv reads it, for the comma-separated
 * flag values `--mount`, `--network name=…` and `--gpus` (quotes allow
 * commas inside a field: `--mount "type=bind,src=/a,b"`).
 */
export function parseCsvRecord(line: string): string[] {
  const fields: string[] = [];
  let i = 0;
  while (true) {
    let field = '';
    if (line[i] === '"') {
      i++;
      while (true) {
        if (i >= line.length) throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
        if (line[i] === '"') {
          if (line[i + 1] === '"') { field += '"'; i += 2; continue; }
          i++;
          break;
        }
        field += line[i++];
      }
      if (i < line.length && line[i] !== ',') throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
    } else {
      while (i < line.length && line[i] !== ',') {
        if (line[i] === '"') throw new Error(`parse error on line 1, column ${i + 1}: bare " in non-quoted-field`);
        field += line[i++];
      }
    }
    fields.push(field);
    if (i >= line.length) break;
    i++; // the comma
  }
  return fields;
}
