/**
 * Figures and their series, and the markdown table: per figure and engine,
 * the number of runs, the median, the min–max and the ratio of the engine's
 * median to berth's (below 1 means the peer is faster or smaller).
 */
export type Unit = 'ms' | 'MiB' | '%';

export interface Series {
  /** The engine's name in the table. */
  label: string;
  values: number[];
  /** Set when the engine could not be measured; the row says so instead of a number. */
  error?: string;
  /** Set for rows that have no number by nature (podman has no daemon). */
  text?: string;
  /** Footnotes: anything that makes this row's numbers mean less than the title says. */
  notes: string[];
}

export interface Figure {
  title: string;
  unit: Unit;
  series: Series[];
  /** The row the ratios divide by; by default the first berth row (`berth CLI`). */
  base?: string;
}

export function newFigure(title: string, unit: Unit = 'ms'): Figure {
  return { title, unit, series: [] };
}

export function seriesOf(figure: Figure, label: string): Series {
  let s = figure.series.find((x) => x.label === label);
  if (!s) {
    s = { label, values: [], notes: [] };
    figure.series.push(s);
  }
  return s;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function format(value: number, unit: Unit): string {
  if (unit === 'MiB') return `${value.toFixed(1)} MiB`;
  if (unit === '%') return `${value.toFixed(2)} %`;
  return value >= 1000 ? `${(value / 1000).toFixed(2)} s` : `${value.toFixed(0)} ms`;
}

/** The markdown table (and its footnotes) of these figures. */
export function renderTable(figures: readonly Figure[]): string {
  const lines = ['| figure | engine | runs | median | min–max | ratio to berth |', '| --- | --- | --- | --- | --- | --- |'];
  const footnotes: string[] = [];
  for (const f of figures) {
    const base = f.series.find((s) => s.values.length > 0 && (f.base !== undefined ? s.label === f.base : s.label.startsWith('berth')));
    const baseMedian = base ? median(base.values) : undefined;
    for (const s of f.series) {
      let label = s.label;
      for (const n of s.notes) {
        footnotes.push(n);
        label += ` [${footnotes.length}]`;
      }
      if (s.error !== undefined) {
        lines.push(`| ${f.title} | ${label} | – | not measured: ${s.error} | – | – |`);
      } else if (s.values.length === 0) {
        lines.push(`| ${f.title} | ${label} | – | ${s.text ?? 'not measured'} | – | – |`);
      } else {
        const m = median(s.values);
        const ratio = baseMedian ? `${(m / baseMedian).toFixed(2)}×` : '–';
        lines.push(`| ${f.title} | ${label} | ${s.values.length} | ${format(m, f.unit)} | ${format(Math.min(...s.values), f.unit)}–${format(Math.max(...s.values), f.unit)} | ${ratio} |`);
      }
    }
  }
  if (footnotes.length) lines.push('', ...footnotes.map((n, i) => `- [${i + 1}] ${n}`));
  return lines.join('\n');
}
