/**
 * Go's text/tabwriter, which lays out every table the Docker CLI prints.
 * Docker's formatter uses `NewWriter(out, 10, 1, 3, ' ', 0)`: cells are
 * tab-terminated, a column is as wide as its widest cell plus 3 (at least 10),
 * the last cell of a line is not padded, and column widths are computed per
 * block of consecutive lines that have that column — the recursion below is
 * `(*Writer).format` from Go's source, so uneven tables match too.
 */

export interface TabwriterOptions {
  minwidth: number;
  padding: number;
}

/** Docker's table formatter settings (`cli/command/formatter/formatter.go`). */
export const DOCKER_TABLE: TabwriterOptions = { minwidth: 10, padding: 3 };

const SURROGATE = /[\uD800-\uDFFF]/;

/** Display width: runes, as Go's tabwriter counts them (UTF-8 characters, not bytes). */
function width(s: string): number {
  // Without surrogates every UTF-16 unit is one rune: no need to split the string (tables of 1000s of rows).
  return SURROGATE.test(s) ? [...s].length : s.length;
}

/**
 * Formats text whose cells are separated by `\t` and lines by `\n`. A final
 * line without `\n` is written as is, like Flush does.
 */
export function tabwrite(text: string, opts: TabwriterOptions = DOCKER_TABLE): string {
  const rawLines = text.split('\n');
  const trailingNewline = rawLines[rawLines.length - 1] === '';
  if (trailingNewline) rawLines.pop();
  const lines = rawLines.map((l) => l.split('\t'));
  // With no surrogate pair anywhere a cell's width is its length: one scan of the text, not one per cell.
  const cellWidth = SURROGATE.test(text) ? width : (s: string) => s.length;
  const widths: number[] = [];
  let out = '';

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i];
      for (let j = 0; j < cells.length; j++) {
        out += cells[j];
        if (j < widths.length) {
          const pad = widths[j] - cellWidth(cells[j]);
          if (pad > 0) out += ' '.repeat(pad);
        }
      }
      if (i < lines.length - 1 || trailingNewline) out += '\n';
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t].length - 1) continue;
      // This line has a cell in `column`: print what lies above, then measure the block.
      writeLines(line0, t);
      line0 = t;
      let w = opts.minwidth;
      for (; t < line1; t++) {
        const cells = lines[t];
        if (column >= cells.length - 1) break;
        w = Math.max(w, cellWidth(cells[column]) + opts.padding);
      }
      widths.push(w);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };

  // Every line with as many cells as the first (the tables of list commands): each column is then one block
  // and the recursion comes down to a width per column, measured in one pass over the lines.
  const n = lines.length > 0 ? lines[0].length : 0;
  if (lines.every((cells) => cells.length === n)) return tabwriteCells(lines, trailingNewline, opts, cellWidth);
  format(0, lines.length);
  return out;
}

/**
 * The layout of rows that all have the same number of cells, given as cells:
 * what tabwrite makes of their text joined with `\t` and `\n` (plus a last
 * `\n` when `trailingNewline`), as long as no cell holds a tab or a newline.
 * List commands with a fixed table call it directly rather than join their
 * rows into text for tabwrite to split again.
 */
export function tabwriteCells(rows: readonly (readonly string[])[], trailingNewline = true, opts: TabwriterOptions = DOCKER_TABLE,
  cellWidth: (s: string) => number = width): string {
  const n = rows.length > 0 ? rows[0].length : 0;
  const widths: number[] = [];
  for (let j = 0; j < n - 1; j++) widths.push(opts.minwidth);
  for (const cells of rows) {
    for (let j = 0; j < n - 1; j++) widths[j] = Math.max(widths[j], cellWidth(cells[j]) + opts.padding);
  }
  const padding: string[] = [];
  const lines: string[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const cells = rows[i];
    let line = '';
    for (let j = 0; j < cells.length; j++) {
      line += cells[j];
      if (j < n - 1) {
        const pad = widths[j] - cellWidth(cells[j]);
        if (pad > 0) line += padding[pad] ??= ' '.repeat(pad);
      }
    }
    lines[i] = line;
  }
  return lines.length === 0 ? '' : lines.join('\n') + (trailingNewline ? '\n' : '');
}
