/**
 * Turns the classic builder's output (build/builder.ts writes Docker's
 * classic stream: `Step 2/5 : RUN …`, ` ---> Using cache`, RUN's output,
 * ` ---> Running in …`) into BuildKit vertexes, named the way BuildKit's
 * Dockerfile frontend names them (dockerfile2llb's prefixCommand):
 * `[<stage> <i>/<n>] <instruction>`, where the stage is its `AS` name (or
 * `stage-<index>` when the Dockerfile has several stages and this one has
 * no name), n counts FROM and the instructions that make a filesystem
 * change (RUN, COPY, ADD, WORKDIR), and the others (ENV, LABEL, CMD, …)
 * show no vertex. A FROM of `scratch` or of an earlier stage shows none
 * either; an image's FROM shows its full name.
 *
 * The builder's text is only read here: a line that is not a step header
 * or one of the builder's own markers is the running step's log. (A RUN
 * that prints a line looking like the builder's next step header could
 * mislead the progress display, nothing else.)
 */
import type { BuildOutput } from '../build/backend.js';
import type { Dockerfile, Stage } from '../build/parser/index.js';
import { formatReference, parseReference, withDefaultTag } from '../image/reference.js';
import type { BuildProgress, Vertex } from './progress.js';

const STEP_HEADER = /^Step (\d+)\/(\d+) : ([\s\S]*)$/;
const VERTEX_KINDS = new Set(['RUN', 'COPY', 'ADD', 'WORKDIR']);
/** The builder's own lines, not a step's output. */
const BUILDER_LINES = [
  /^ ---> Running in [0-9a-f]{12}\n$/, /^Removing intermediate container [0-9a-f]{12}\n$/, /^ ---> [0-9a-f]{12}\n$/,
  /^Successfully built [0-9a-f]{12}\n$/, /^Successfully tagged .*\n$/, /^# Executing \d+ build triggers?\n$/,
];

function kindOf(original: string): string {
  return (/^\s*(\w+)/.exec(original)?.[1] ?? '').toUpperCase();
}

function fromName(image: string): string {
  try { return `FROM ${formatReference(withDefaultTag(parseReference(image)))}`; } catch { return `FROM ${image}`; }
}

export class StepVertexes {
  private current?: Vertex;
  private stageNo = -1;
  private stagePrefix = '';
  private cmdIndex = 0;
  private cmdTotal = 0;
  private pendingHeader?: string;
  /** Warnings for the build's end (unused build args). */
  readonly warnings: string[] = [];

  constructor(private readonly progress: BuildProgress, private readonly df: Dockerfile) {}

  private stageStarts(stage: Stage): void {
    const multi = this.df.stages.length > 1;
    const name = stage.name ?? (multi ? `stage-${stage.index}` : '');
    this.stagePrefix = name ? `${name} ` : '';
    this.cmdIndex = 0;
    this.cmdTotal = 1 + stage.instructions.filter((i) => VERTEX_KINDS.has(i.kind)).length;
  }

  private label(original: string): string {
    this.cmdIndex++;
    const width = String(this.cmdTotal).length;
    return `[${this.stagePrefix}${String(this.cmdIndex).padStart(width, ' ')}/${this.cmdTotal}] ${original}`;
  }

  private step(original: string): void {
    this.finishStep();
    const kind = kindOf(original);
    if (kind === 'FROM') {
      this.stageNo++;
      const stage = this.df.stages[this.stageNo];
      if (!stage) return;
      this.stageStarts(stage);
      const base = stage.from.image.toLowerCase();
      const earlier = this.df.stages.slice(0, stage.index).some((s) => s.name === base || String(s.index) === base);
      const name = this.label(fromName(stage.from.image));
      if (base === 'scratch' || earlier) return;
      this.current = this.progress.vertex(name);
      return;
    }
    if (!VERTEX_KINDS.has(kind)) return;
    this.current = this.progress.vertex(this.label(original.replace(/\s+$/, '')));
  }

  private finishStep(error?: string): void {
    this.current?.complete(error);
    this.current = undefined;
  }

  stream(text: string): void {
    if (this.pendingHeader !== undefined) {
      const header = this.pendingHeader;
      this.pendingHeader = undefined;
      if (text === '\n') { this.step(header); return; }
      this.current?.log(`Step ${header}`);
    }
    const m = STEP_HEADER.exec(text);
    if (m && !text.endsWith('\n')) { this.pendingHeader = m[3]; return; }
    if (text === ' ---> Using cache\n') { this.current?.markCached(); return; }
    if (text.startsWith('[Warning] ')) { this.warnings.push(text.slice(10).trim()); return; }
    if (text.startsWith(' ---> Cache miss: ')) { this.current?.log(`cache miss: ${text.slice(18)}`); return; }
    if (BUILDER_LINES.some((re) => re.test(text))) return;
    this.current?.log(text);
  }

  /** Pull progress of a FROM: shown as the FROM vertex's log lines. */
  progressMessage(msg: Record<string, unknown>): void {
    if (typeof msg.status === 'string' && msg.id === undefined) this.current?.log(`${msg.status}\n`);
  }

  /** The build ended; `error` marks the running step as failed. */
  end(error?: string): void {
    this.finishStep(error);
  }
}

/** The BuildOutput berth's builder writes to, feeding `v` (aux carries the image ID and miss details, both in the text too). */
export function outputFor(v: StepVertexes): BuildOutput {
  return { stream: (t) => v.stream(t), aux: () => undefined, progress: (m) => v.progressMessage(m) };
}
