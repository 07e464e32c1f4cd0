/** The measurement loop every timed figure shares. */
import { isInterrupted } from './proc.js';
import { seriesOf, type Figure } from './table.js';

export interface Subject {
  label: string;
  /** The figures it has rows in, when not every figure of the loop (a loop of several engine sets). */
  titles?: readonly string[];
  /**
   * One run: resolves with a value per figure title (every figure this
   * subject has a number for), may add notes. Throwing drops the subject from
   * the remaining runs, with the error in its rows.
   */
  measure(run: number, note: (title: string, text: string) => void): Promise<Record<string, number>>;
}

/**
 * Runs every subject `runs` times, alternating subjects within each run and
 * rotating who goes first, so slow drifts of the machine (other jobs, page
 * cache, thermal) spread over all engines instead of favouring one.
 */
export async function alternate(runs: number, subjects: readonly Subject[], figures: readonly Figure[], progress: (msg: string) => void): Promise<void> {
  const failed = new Set<string>();
  const byTitle = new Map(figures.map((f) => [f.title, f]));
  const figuresOf = (s: Subject) => (s.titles ? figures.filter((f) => s.titles!.includes(f.title)) : figures);
  for (const s of subjects) for (const f of figuresOf(s)) seriesOf(f, s.label);
  for (let run = 0; run < runs; run++) {
    for (let k = 0; k < subjects.length; k++) {
      const subject = subjects[(run + k) % subjects.length];
      if (failed.has(subject.label)) continue;
      const note = (title: string, text: string) => {
        const notes = seriesOf(byTitle.get(title)!, subject.label).notes;
        if (!notes.includes(text)) notes.push(text);
      };
      try {
        const values = await subject.measure(run, note);
        for (const [title, value] of Object.entries(values)) seriesOf(byTitle.get(title)!, subject.label).values.push(value);
      } catch (e) {
        if (isInterrupted()) throw e;
        failed.add(subject.label);
        const message = (e instanceof Error ? e.message : String(e)).split('\n')[0].replace(/\|/g, '\\|').slice(0, 200);
        for (const f of figuresOf(subject)) {
          const s = seriesOf(f, subject.label);
          s.error = message;
          s.values = [];
        }
        progress(`  ${subject.label}: not measured: ${message}`);
      }
    }
    progress(`  run ${run + 1}/${runs} done`);
  }
}
