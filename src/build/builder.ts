/**
 * The classic builder: runs a parsed Dockerfile step by step, the way
 * `DOCKER_BUILDKIT=0 docker build` does against dockerd, and writes the same
 * JSON stream (`Step 2/5 : RUN make`, ` ---> Using cache`, ` ---> Running in
 * 1a2b3c4d5e6f`, ` ---> 9f8e7d6c5b4a`, `Successfully built …`).
 *
 * Every instruction is a step whose result is an image (untagged, its
 * `parent` the previous step's image): RUN adds the layer its container
 * wrote, COPY and ADD a layer written straight from the files, WORKDIR a
 * layer when it has to create the directory, every other instruction only a
 * new config with an `empty_layer` history line. Stages are built in order
 * up to the target (all of them, as the classic builder does).
 *
 * Before a step runs, its cache key (cache-key.ts) is looked up; a hit
 * reuses the image, a miss is explained (cache-explain.ts) in the stream
 * (` ---> Cache miss: file app/main.c changed (content)`) and as
 * `{"aux":{"cacheMiss":{…}}}`, then the step runs and is recorded.
 *
 * A hit from a cache the build imported (buildx `--cache-from`: a cache
 * artifact or an image's inline cache, `cacheImport`) is the build's own:
 * it is recorded in the build's result (its `own` row, what `--cache-to`
 * exports), never in the shared build cache. Nothing checks that a step
 * written by someone else's cache is what the step would make (a RUN's
 * result cannot be checked without running it), so a cache one build
 * trusts must not become hits for every later build of anyone. The classic
 * API's `cachefrom` (images already in the store) keeps dockerd's
 * behaviour: the restored step is recorded like one that ran, as dockerd's
 * local cache then finds it by its parent and config.
 *
 * A failure names the Dockerfile line, and the images this build created are
 * removed again (images it reused from the cache stay): a failed build
 * leaves nothing behind. RUN containers are always removed, success or not.
 */
import type { Trace } from '../trace.js';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { InvalidParameterError, NotImplementedError, SystemError } from '../errors.js';
import type { ContainerDefaults, ImageConfig } from '../image/config.js';
import { hostArchitecture } from '../image/config.js';
import type { ImageRecord } from '../store/image-store.js';
import type { CacheEntry } from '../store/build-cache.js';
import type { LayerRecord } from '../store/layer-store.js';
import type {
  AddInstruction, CopyInstruction, Dockerfile, Instruction, LabelInstruction, RunInstruction, Stage,
} from './parser/index.js';
import {
  EXPANDED_INSTRUCTIONS, expandInstruction, findStage, heredocRunCommand, metaArgEnv, parseDockerfile, resolveStageBase,
} from './parser/index.js';
import { archiveKind, unpackArchive } from './archive-source.js';
import type { BuildBackend, BuildOutput, RunContainerMount, RunNetwork } from './backend.js';
import type { HeldCacheDir } from './cache-mounts.js';
import { expandString } from './parser/expand.js';
import { mountsKeyInput, planRunMounts, sshAuthSock, type BindMountPlan, type RunMountPlan } from './run-mounts.js';
import { noAgentError, type SshAgents } from './ssh-mounts.js';
import { treeDigest } from './tree-digest.js';
import { checkPlatform } from './platform.js';
import { copyFlagsText, excludeMatcher } from './copy-flags.js';
import { expandParents } from './copy-parents.js';

/** A bind mount's source: the dirs to overlay, the path inside, and its content for the cache key. */
interface BindSource { dirs: string[]; rel: string; content: string }
import { BuildArgs, platformArgs, type StageArgs } from './build-args.js';
import { explainMiss, type CacheMiss, type StepContext } from './cache-explain.js';
import { CacheSources, type SourceMatch } from './cache-from.js';
import { canonicalJson, filesDigest, stepKey, type StepInputs } from './cache-key.js';
import { copyLayerTar } from './copy-layer.js';
import { expandSources, isUrl, parseChmod, planCopy, resolveChown, type CopyPlan, type SourceItem, type SourceRoot } from './copy-plan.js';
import { BuildStepError, CommandFailedError } from './errors.js';
import { goQuotedList, nextConfig, nopCreatedBy, scratchConfig } from './image-config.js';
import { cleanRel, LayerView } from './layer-view.js';
import { downloadUrl, isGitUrl } from './remote.js';

export interface BuildRequest {
  dockerfile: Dockerfile;
  /** The unpacked context (after .dockerignore). */
  contextDir: string;
  /** Normalised references to tag the result with (`docker.io/library/x:1`), and how to print them. */
  tags: { ref: string; display: string }[];
  /** `--build-arg` values (args given without a value are absent). */
  buildArgs: Map<string, string>;
  /** `--label`: added to the target stage as a last LABEL step, like the classic builder. */
  labels: Record<string, string>;
  noCache: boolean;
  pull: boolean;
  target?: string;
  quiet: boolean;
  /** RUN's network when RUN has no `--network` (`bridge` unless `docker build --network` said otherwise). */
  network: RunNetwork;
  /** HostConfig resource fields for RUN containers. */
  resources: Record<string, unknown>;
  /** From the SOURCE_DATE_EPOCH build arg (seconds). */
  sourceDateEpoch?: number;
  /** `--cache-from` images (those that exist locally); absent when none were named. */
  cacheFrom?: ImageRecord[];
  /** `--add-host` entries (`host:ip`) for RUN containers' /etc/hosts. */
  extraHosts?: string[];
  signal: AbortSignal;
  /** BERTH_TRACE step timings: one mark per instruction. */
  trace?: Trace;
  /** Secrets for `RUN --mount=type=secret` (buildx `--secret`); none through the classic API. */
  secrets?: (id: string, signal: AbortSignal) => Promise<Buffer | undefined>;
  /**
   * `--cache-from` of an exported cache (buildx type=local|registry|inline):
   * asked when the local cache misses. It answers the step's image, made
   * from the imported cache, or a match in a cache source image's history
   * (an inline cache) that the builder restores as `cachefrom` does, or
   * undefined when the import has no such step.
   */
  cacheImport?: (step: ImportedStepQuery, importLayer: BuildBackend['importLayer'], signal: AbortSignal) => Promise<ImageRecord | SourceMatch | undefined>;
  /** The client's ssh-agents for `RUN --mount=type=ssh` (buildx `--ssh`); none through the classic API. */
  ssh?: SshAgents;
}

/** What the builder asks an imported cache about a step. */
export interface ImportedStepQuery {
  key: string;
  parentImageId: string;
  parentConfig: ImageConfig;
  /** The history line the step writes. */
  createdBy: string;
}

export interface BuildResult {
  imageId: string;
  /** Steps that hit and missed the cache. */
  cached: number;
  built: number;
  /** The cache key of every step, with its stage's index, in build order (what `--cache-to` exports). */
  steps: UsedStepRecord[];
  /** Index of the stage that made the result. */
  finalStage: number;
}

/**
 * A step the build used. `own`: the record of a step taken from a cache
 * the build imported (`cacheImport`), which is this build's alone and is
 * not in the shared build cache.
 */
export interface UsedStepRecord { key: string; stage: number; own?: CacheEntry }

const DEFAULT_SHELL = ['/bin/sh', '-c'];
/** File lists longer than this are kept only as a digest (the explanation then says "the copied files changed"). */
const MAX_KEPT_FILES = 20_000;

/** What the builder tracks for the stage it is building. */
interface StageState {
  stage: Stage;
  /** The current image ('' while a `FROM scratch` stage has no step yet). */
  imageId: string;
  config: ImageConfig;
  topLayer: string | null;
  args: StageArgs;
  /** A CMD was given in this stage (an ENTRYPOINT then keeps it). */
  cmdSet: boolean;
  /** The stage's base: image ID ('' for scratch) and reference as written. */
  base: string;
  baseRef: string;
}

/** What a step does besides changing the config. */
interface StepWork {
  inputs: Omit<StepInputs, 'sourceDateEpoch' | 'platform'>;
  createdBy: string;
  defaults: ContainerDefaults;
  author?: string;
  files?: StepContext['files'];
  /** Makes the step's layer; absent for steps that only change the config. */
  execute?: () => Promise<LayerRecord | undefined>;
}

/**
 * A RUN's stderr as the classic builder streams it: each piece the command
 * wrote, in bright red (moby's streamformatter.NewStderrWriter wraps every
 * write in `ESC[91m` … `ESC[0m`; clients such as docker-py's tests look for
 * exactly that).
 */
export function stderrText(s: string): string {
  return `\x1b[91m${s}\x1b[0m`;
}

function short(id: string): string {
  return id.replace(/^sha256:/, '').slice(0, 12);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** ENV's merge: a key already set is replaced in place, a new one appended. */
function setEnv(env: readonly string[], key: string, value: string): string[] {
  const out = [...env];
  const i = out.findIndex((e) => e.split('=')[0] === key);
  if (i >= 0) out[i] = `${key}=${value}`;
  else out.push(`${key}=${value}`);
  return out;
}

/** `EXPOSE 80 53/udp 8000-8001`: the `port/proto` keys, ranges expanded (nat.ParsePortSpecs). */
export function exposedPorts(specs: readonly string[]): string[] {
  const out: string[] = [];
  for (const spec of specs) {
    const m = /^(\d+)(?:-(\d+))?(?:\/([A-Za-z]+))?$/.exec(spec);
    if (!m) throw new InvalidParameterError(`Invalid containerPort: ${spec}`);
    const proto = (m[3] ?? 'tcp').toLowerCase();
    if (!['tcp', 'udp', 'sctp'].includes(proto)) throw new InvalidParameterError(`invalid proto: ${m[3]}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > 65535 || hi > 65535 || hi < lo) throw new InvalidParameterError(`Invalid port range: ${spec}`);
    for (let p = lo; p <= hi; p++) out.push(`${p}/${proto}`);
  }
  return out;
}

/** Accepts what dockerd's signal.ParseSignal accepts: a number or a (SIG)NAME, RTMIN+n included. */
export function checkStopSignal(sig: string): void {
  if (/^\d+$/.test(sig) && Number(sig) > 0 && Number(sig) <= 64) return;
  if (/^(SIG)?[A-Z][A-Z0-9]*([+-]\d+)?$/i.test(sig)) return;
  throw new InvalidParameterError(`Invalid signal: ${sig}`);
}

export class Builder {
  private readonly df: Dockerfile;
  private args: BuildArgs;
  private readonly results = new Map<number, StageState>();
  private readonly createdImages: string[] = [];
  private total = 0;
  private stepNo = 0;
  private cached = 0;
  private built = 0;
  private readonly steps: BuildResult['steps'] = [];
  private readonly platform = `linux/${hostArchitecture()}`;
  /** `--cache-from`: when set, only these images' chains give cache hits. */
  private readonly sources?: CacheSources;

  constructor(private readonly backend: BuildBackend, private readonly out: BuildOutput, private readonly req: BuildRequest) {
    this.df = req.dockerfile;
    this.args = new BuildArgs(req.buildArgs, new Map());
    if (req.cacheFrom) this.sources = new CacheSources(backend, req.cacheFrom);
  }

  private say(text: string): void {
    if (!this.req.quiet) this.out.stream(text);
  }

  private get epochMs(): number | undefined {
    return this.req.sourceDateEpoch === undefined ? undefined : this.req.sourceDateEpoch * 1000;
  }

  private checkCancelled(): void {
    if (this.req.signal.aborted) throw new SystemError('the build was cancelled');
  }

  async run(): Promise<BuildResult> {
    const df = this.df;
    let last = df.stages.length - 1;
    if (this.req.target) {
      const t = findStage(df, this.req.target);
      if (!t) throw new InvalidParameterError(`failed to reach build target ${this.req.target} in Dockerfile`);
      last = t.index;
    }
    const stages = df.stages.slice(0, last + 1);
    const labelKeys = Object.keys(this.req.labels).sort();
    this.total = stages.reduce((n, s) => n + 1 + s.instructions.length, 0) + (labelKeys.length ? 1 : 0);
    const meta = metaArgEnv(df, { buildArgs: this.req.buildArgs, builtins: platformArgs() });
    this.args = new BuildArgs(this.req.buildArgs, meta);
    for (const a of df.metaArgs) for (const d of a.args) this.args.consume(d.name);
    try {
      for (const stage of stages) {
        this.checkCancelled();
        const st = await this.from(stage, meta);
        this.req.trace?.step('FROM');
        for (const instr of stage.instructions) {
          await this.step(st, instr);
          this.req.trace?.step(instr.kind);
        }
        if (stage.index === last && labelKeys.length) {
          const pairs = labelKeys.map((key) => ({ key, value: this.req.labels[key] }));
          const original = `LABEL ${pairs.map((p) => `${JSON.stringify(p.key)}=${JSON.stringify(p.value)}`).join(' ')}`;
          const label: LabelInstruction = { kind: 'LABEL', line: 0, endLine: 0, original, pairs };
          await this.step(st, label);
        }
        this.results.set(stage.index, st);
      }
      const final = this.results.get(last)!;
      if (!final.imageId) throw new InvalidParameterError('No image was generated. Is your Dockerfile empty?');
      const unused = this.args.unconsumed();
      if (unused.length) this.say(`[Warning] One or more build-args [${unused.join(' ')}] were not consumed\n`);
      this.out.aux({ ID: final.imageId });
      this.say(`Successfully built ${short(final.imageId)}\n`);
      for (const t of this.req.tags) {
        this.backend.tag(final.imageId, t.ref);
        this.say(`Successfully tagged ${t.display}\n`);
      }
      if (this.req.quiet) this.out.stream(`${final.imageId}\n`);
      return { imageId: final.imageId, cached: this.cached, built: this.built, steps: this.steps, finalStage: last };
    } catch (e) {
      await this.backend.discardImages([...this.createdImages].reverse()).catch(() => undefined);
      throw e;
    }
  }

  // ------------------------------------------------------------------ FROM

  private async from(stage: Stage, meta: Map<string, string>): Promise<StageState> {
    const instr = stage.fromInstruction;
    this.stepNo++;
    this.say(`Step ${this.stepNo}/${this.total} : ${instr.original}`);
    this.say('\n');
    let st: StageState;
    try {
      const base = resolveStageBase(this.df, stage, meta);
      if (base.platform) checkPlatform(base.platform, 'FROM --platform');
      const args = this.args.stage();
      const built = base.stage && base.stage.index < stage.index ? this.results.get(base.stage.index) : undefined;
      if (built) {
        st = { stage, imageId: built.imageId, config: built.config, topLayer: built.topLayer, args, cmdSet: false, base: built.imageId, baseRef: base.image };
      } else if (base.image.toLowerCase() === 'scratch') {
        st = { stage, imageId: '', config: scratchConfig(), topLayer: null, args, cmdSet: false, base: '', baseRef: 'scratch' };
      } else {
        if (!base.image) throw new InvalidParameterError('base name (${…}) should not be blank');
        const img = await this.backend.resolveImage(base.image, this.req.pull, (m) => { if (!this.req.quiet) this.out.progress(m); });
        st = { stage, imageId: img.id, config: img.config, topLayer: img.topLayer, args, cmdSet: false, base: img.id, baseRef: base.image };
      }
    } catch (e) {
      throw new BuildStepError(this.df.file, instr.line, e);
    }
    if (st.imageId) this.say(` ---> ${short(st.imageId)}\n`);
    const triggers = st.config.config?.OnBuild ?? [];
    if (triggers.length) {
      this.say(`# Executing ${triggers.length} build trigger${triggers.length > 1 ? 's' : ''}\n`);
      // Triggers run once, in the first child: the images they make no longer carry them.
      st.config = { ...st.config, config: { ...st.config.config, OnBuild: null } };
      for (const t of triggers) {
        let trigger: Instruction;
        try {
          const parsed = parseDockerfile(`FROM scratch\n${t}\n`, { file: `ONBUILD trigger of ${st.baseRef}` });
          trigger = parsed.stages[0].instructions[0];
          if (!trigger) throw new InvalidParameterError(`empty ONBUILD trigger`);
        } catch (e) {
          throw new BuildStepError(this.df.file, instr.line, e);
        }
        await this.step(st, { ...trigger, line: instr.line, endLine: instr.endLine } as Instruction, false);
      }
      this.say(` ---> ${short(st.imageId)}\n`);
    }
    return st;
  }

  // ------------------------------------------------------------------ steps

  private async step(st: StageState, instr: Instruction, numbered = true): Promise<void> {
    this.checkCancelled();
    if (numbered) {
      this.stepNo++;
      this.say(`Step ${this.stepNo}/${this.total} : ${instr.original}`);
      this.say('\n');
    }
    try {
      await this.dispatch(st, instr);
    } catch (e) {
      if (e instanceof BuildStepError) throw e;
      throw new BuildStepError(this.df.file, instr.line, e, e instanceof CommandFailedError ? e.exitCode : undefined);
    }
    if (numbered) this.say(` ---> ${short(st.imageId)}\n`);
  }

  private async dispatch(st: StageState, instr: Instruction): Promise<void> {
    const defaults: ContainerDefaults = clone(st.config.config ?? {});
    const env = defaults.Env ?? [];
    const shell = defaults.Shell ?? DEFAULT_SHELL;
    const matched = new Set<string>();
    const x = instr.line > 0 && EXPANDED_INSTRUCTIONS.has(instr.kind)
      ? expandInstruction(instr, st.args.substitutionEnv(env), { escape: this.df.escape, matched })
      : instr;
    const used = st.args.argsUsed(matched, env);
    const meta = (comment: string, d: ContainerDefaults = defaults, author?: string): StepWork => ({
      inputs: { kind: x.kind, instruction: comment, ...(Object.keys(used).length ? { buildArgs: used } : {}) },
      createdBy: nopCreatedBy(shell, comment), defaults: d, ...(author ? { author } : {}),
    });
    switch (x.kind) {
      case 'ARG': {
        for (const a of x.args) st.args.declare(a.name, a.default);
        return this.commit(st, instr, meta(`ARG ${x.args.map((a) => (a.default === undefined ? a.name : `${a.name}=${a.default}`)).join(' ')}`));
      }
      case 'ENV': {
        let e = env;
        for (const p of x.pairs) e = setEnv(e, p.key, p.value);
        defaults.Env = e;
        return this.commit(st, instr, meta(`ENV ${x.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`));
      }
      case 'LABEL': {
        const labels = { ...(defaults.Labels ?? {}) };
        for (const p of x.pairs) labels[p.key] = p.value;
        defaults.Labels = labels;
        return this.commit(st, instr, meta(`LABEL ${x.pairs.map((p) => `${p.key}=${p.value}`).join(' ')}`));
      }
      case 'MAINTAINER':
        return this.commit(st, instr, meta(`MAINTAINER ${x.maintainer}`, defaults, x.maintainer));
      case 'EXPOSE': {
        const ports = exposedPorts(x.ports);
        const exposed: Record<string, object> = { ...(defaults.ExposedPorts ?? {}) };
        for (const p of ports) exposed[p] = {};
        defaults.ExposedPorts = exposed;
        return this.commit(st, instr, meta(`EXPOSE ${ports.join(' ')}`));
      }
      case 'USER':
        defaults.User = x.user;
        return this.commit(st, instr, meta(`USER ${x.user}`));
      case 'VOLUME': {
        const vols: Record<string, object> = { ...(defaults.Volumes ?? {}) };
        for (const p of x.paths) {
          if (!p.trim()) throw new InvalidParameterError('VOLUME specified can not be an empty string');
          vols[p] = {};
        }
        defaults.Volumes = vols;
        return this.commit(st, instr, meta(`VOLUME [${x.paths.join(' ')}]`));
      }
      case 'STOPSIGNAL':
        checkStopSignal(x.signal);
        defaults.StopSignal = x.signal;
        return this.commit(st, instr, meta(`STOPSIGNAL ${x.signal}`));
      case 'HEALTHCHECK':
        defaults.Healthcheck = x.health;
        return this.commit(st, instr, meta(`HEALTHCHECK ${canonicalJson(x.health)}`));
      case 'SHELL':
        defaults.Shell = x.shell;
        return this.commit(st, instr, meta(`SHELL ${goQuotedList(x.shell)}`));
      case 'CMD': {
        defaults.Cmd = x.command.form === 'exec' ? x.command.args : [...shell, x.command.command];
        st.cmdSet = true;
        return this.commit(st, instr, meta(`CMD ${goQuotedList(defaults.Cmd)}`));
      }
      case 'ENTRYPOINT': {
        defaults.Entrypoint = x.command.form === 'exec' ? x.command.args : [...shell, x.command.command];
        if (!st.cmdSet) defaults.Cmd = null;
        return this.commit(st, instr, meta(`ENTRYPOINT ${goQuotedList(defaults.Entrypoint)}`));
      }
      case 'ONBUILD':
        defaults.OnBuild = [...(defaults.OnBuild ?? []), x.expression];
        return this.commit(st, instr, meta(`ONBUILD ${x.expression}`));
      case 'WORKDIR':
        return this.workdir(st, instr, x.path, defaults, shell, used);
      case 'RUN':
        return this.runStep(st, x, defaults, shell);
      case 'COPY':
      case 'ADD':
        return this.copyStep(st, x, defaults, shell, used);
      case 'FROM':
        throw new InvalidParameterError('FROM inside a stage');
    }
  }

  /** Looks the step up in the cache; runs and records it on a miss. */
  private async commit(st: StageState, instr: Instruction, work: StepWork): Promise<void> {
    const inputs: StepInputs = { ...work.inputs, sourceDateEpoch: this.req.sourceDateEpoch ?? null, platform: this.platform };
    const key = stepKey(st.imageId, inputs);
    const context: StepContext = { original: instr.original, base: st.base, baseRef: st.baseRef, ...(work.files ? { files: work.files } : {}) };
    const used: UsedStepRecord = { key, stage: st.stage.index };
    this.steps.push(used);
    const row = (image: ImageRecord) => ({
      key, parent: st.imageId, kind: instr.kind, original: instr.original, inputs: canonicalJson(inputs),
      context: JSON.stringify(context), imageId: image.id, size: 0,
    });
    /** A hit from a cache this build imported: recorded for this build only. */
    const own = (image: ImageRecord) => { const now = Date.now(); used.own = { ...row(image), created: now, lastUsed: now }; };
    let miss: CacheMiss | undefined;
    if (this.req.noCache) {
      miss = { reason: 'no-cache', message: 'cache disabled (--no-cache)' };
    } else {
      const hit = this.backend.cache.get(key);
      const img = hit && this.backend.image(hit.imageId);
      if (hit && img && (!this.sources || this.sources.accepts(img.id))) {
        this.say(' ---> Using cache\n');
        this.backend.cache.touch(key);
        this.adopt(st, img);
        this.cached++;
        return;
      }
      if (hit && !img) {
        this.backend.cache.delete(key);
        miss = { reason: 'removed', message: `the image this step built before (${short(hit.imageId)}) was removed` };
      }
      const query = { key, parentImageId: st.imageId, parentConfig: st.config, createdBy: work.createdBy };
      const imported = this.req.cacheImport && await this.req.cacheImport(query, (tar, parent) => this.backend.importLayer(tar, parent), this.req.signal);
      const image = imported && ('kind' in imported ? this.fromSources(st, work, imported) : imported);
      if (image) {
        this.say(' ---> Using cache\n');
        own(image);
        this.adopt(st, image);
        this.cached++;
        return;
      }
      if (this.sources) {
        const found = this.fromSources(st, work);
        if (found) {
          this.say(' ---> Using cache\n');
          this.backend.cache.put(row(found));
          this.adopt(st, found);
          this.cached++;
          return;
        }
        miss ??= { reason: 'cache-from', message: 'no --cache-from image has this step' };
      }
    }
    if (!miss) {
      const prev = (e: ReturnType<BuildBackend['cache']['get']>) => e && ({
        parent: e.parent, inputs: JSON.parse(e.inputs) as StepInputs, context: JSON.parse(e.context) as StepContext,
      });
      miss = explainMiss({ parent: st.imageId, inputs, context }, {
        sameParent: prev(this.backend.cache.latestOnParent(st.imageId, instr.kind, key)),
        sameInstruction: prev(this.backend.cache.latestForInstruction(instr.kind, instr.original, key)),
      });
    }
    this.say(` ---> Cache miss: ${miss.message}\n`);
    if (!this.req.quiet) this.out.aux({ cacheMiss: { step: instr.original, line: instr.line, ...miss } });

    const layer = work.execute ? await work.execute() : undefined;
    const createdMs = this.epochMs ?? Date.now();
    const { bytes } = nextConfig({
      parent: st.config, defaults: work.defaults, diffId: layer?.diffId, createdBy: work.createdBy, createdMs,
      epochMs: this.epochMs, ...(work.author ? { author: work.author } : {}),
    });
    const topLayer = layer ? layer.chainId : st.topLayer;
    const { image, existed } = this.backend.putImage(bytes, topLayer, st.imageId);
    if (!existed) this.createdImages.push(image.id);
    this.backend.cache.put({
      key, parent: st.imageId, kind: instr.kind, original: instr.original, inputs: canonicalJson(inputs),
      context: JSON.stringify(context), imageId: image.id, size: layer?.size ?? 0,
    });
    this.adopt(st, image);
    this.built++;
  }

  /**
   * A step's result taken from a `--cache-from` image's history
   * (cache-from.ts): the image itself when the step is its last line, else
   * an image made from the step's config and the source's history line and
   * layer. commit records the hit: in the shared cache for the classic
   * `cachefrom`, in the build's result for an imported inline cache.
   */
  private fromSources(st: StageState, work: StepWork, m = this.sources!.match(st.config, work.createdBy)): ImageRecord | undefined {
    if (!m) return undefined;
    let image: ImageRecord;
    if (m.kind === 'image') {
      image = m.image;
    } else {
      const topLayer = m.diffId ? this.backend.layerAt(m.source.topLayer, m.layerCount) : st.topLayer;
      if (m.diffId && !topLayer) return undefined;
      const created = m.entry.created ? Date.parse(m.entry.created) : NaN;
      const { config } = nextConfig({
        parent: st.config, defaults: work.defaults, diffId: m.diffId, createdBy: work.createdBy,
        createdMs: Number.isNaN(created) ? Date.now() : created, epochMs: this.epochMs,
        ...(work.author ? { author: work.author } : {}),
      });
      // The new history line is the source's own, so the next step still finds the source continuing this image.
      const history = [...(config.history ?? [])];
      history[history.length - 1] = m.entry;
      const bytes = Buffer.from(JSON.stringify({ ...config, history }));
      const put = this.backend.putImage(bytes, topLayer, st.imageId);
      if (!put.existed) this.createdImages.push(put.image.id);
      image = put.image;
    }
    return image;
  }

  private adopt(st: StageState, img: ImageRecord): void {
    st.imageId = img.id;
    st.config = img.config;
    st.topLayer = img.topLayer;
  }

  // ------------------------------------------------------------------ WORKDIR

  private async workdir(st: StageState, instr: Instruction, path: string, defaults: ContainerDefaults, shell: string[], used: Record<string, string>): Promise<void> {
    const abs = posix.normalize(path.startsWith('/') ? path : posix.join(defaults.WorkingDir || '/', path));
    defaults.WorkingDir = abs;
    const view = new LayerView(this.backend.lowerDirs(st.topLayer));
    try {
      const resolved = await view.resolve(cleanRel(abs), true);
      const e = await view.lstat(resolved);
      if (e && !e.st.isDirectory()) throw new InvalidParameterError(`mkdir ${abs}: not a directory`);
      const comment = `WORKDIR ${abs}`;
      const plan: CopyPlan = { entries: [], files: [], destDir: resolved, createOwner: { uid: 0, gid: 0 } };
      await this.commit(st, instr, {
        inputs: { kind: 'WORKDIR', instruction: comment, ...(Object.keys(used).length ? { buildArgs: used } : {}) },
        createdBy: nopCreatedBy(shell, comment), defaults,
        // Like dockerd, the directory is created when missing (a layer with it and its parents).
        ...(e || resolved === '' ? {} : { execute: () => this.writeLayer(st, plan, view) }),
      });
    } finally {
      await view.close();
    }
  }

  private async writeLayer(st: StageState, plan: CopyPlan, destView: LayerView): Promise<LayerRecord> {
    const tar = await copyLayerTar(plan, destView, { sourceDateEpoch: this.req.sourceDateEpoch, now: Math.floor(Date.now() / 1000) });
    return this.backend.importLayer(tar, st.topLayer);
  }

  // ------------------------------------------------------------------ RUN

  private async runStep(st: StageState, x: RunInstruction, defaults: ContainerDefaults, shell: string[]): Promise<void> {
    // Build args and ENV expand in mount values (`id=$CACHE_ID`), as in BuildKit.
    const subst = st.args.substitutionEnv(defaults.Env ?? []);
    const mounts = planRunMounts(x.mounts, defaults.WorkingDir ?? '', (w) => expandString(w, subst, { escape: this.df.escape }));
    const binds = new Map<RunMountPlan, BindSource>();
    for (const m of mounts) if (m.type === 'bind') binds.set(m, await this.bindSource(st, m));
    const stubs = await this.mountStubs(st, mounts);
    const mountsKey = mountsKeyInput(mounts).map((k, i) => {
      const b = binds.get(mounts[i]);
      return b ? { ...(k as object), content: b.content } : k;
    });
    if (x.security === 'insecure') throw new NotImplementedError('RUN --security=insecure is not supported');
    if (x.devices.length) throw new NotImplementedError('RUN --device is not supported');
    const network = x.network === 'host' ? 'host' : x.network === 'none' ? 'none' : this.req.network;
    let argv: string[];
    let script: { name: string; data: string } | undefined;
    let instruction: string;
    if (x.command.form === 'exec') {
      argv = x.command.args;
      instruction = `RUN ${JSON.stringify(argv)}`;
    } else if (x.heredocs.length) {
      const h = heredocRunCommand(x.command.command, x.heredocs);
      if (h.kind === 'script') {
        script = { name: h.name, data: h.data };
        argv = [`/dev/pipes/${h.name}`];
      } else {
        argv = [...shell, h.command];
      }
      instruction = `RUN ${x.command.command}${x.heredocs.map((d) => `\n${d.content}${d.name}`).join('')}`;
    } else {
      argv = [...shell, x.command.command];
      instruction = `RUN ${x.command.command}`;
    }
    const env = defaults.Env ?? [];
    const keyed = st.args.keyed(env);
    const keyedList = Object.entries(keyed).map(([k, v]) => `${k}=${v}`).sort();
    const createdBy = (keyedList.length ? [`|${keyedList.length}`, ...keyedList, ...argv] : argv).join(' ');
    const runEnv = [...env, ...st.args.runEnv(env)];
    const agentSock = sshAuthSock(mounts);
    if (agentSock !== undefined && !runEnv.some((e) => e.startsWith('SSH_AUTH_SOCK='))) runEnv.push(`SSH_AUTH_SOCK=${agentSock}`);
    await this.commit(st, x, {
      inputs: {
        kind: 'RUN', instruction, command: argv, ...(script ? { script: script.data } : {}), env,
        ...(keyedList.length ? { buildArgs: keyed } : {}),
        user: defaults.User ?? '', workdir: defaults.WorkingDir ?? '', shell, network,
        ...(mounts.length ? { mounts: mountsKey } : {}),
      },
      createdBy, defaults,
      execute: async () => {
        if (!st.imageId) throw new InvalidParameterError('cannot RUN in an empty image: this stage is FROM scratch and nothing was added yet');
        const pipes: string[] = [];
        if (script) {
          const dir = join(this.backend.tmpDir, `pipes-${randomBytes(6).toString('hex')}`);
          await mkdir(dir, { recursive: true });
          const file = join(dir, script.name.replace(/\//g, '_'));
          await writeFile(file, script.data);
          await chmod(file, 0o755);
          pipes.push(`${file}:/dev/pipes/${script.name}:ro`);
        }
        const dec = { 1: new StringDecoder('utf8'), 2: new StringDecoder('utf8') };
        let containerId = '';
        const held: HeldCacheDir[] = [];
        const secretEnv = new Map<string, string>();
        const outcome = await (async () => {
          const runMounts: RunContainerMount[] = [];
          for (const m of mounts) {
            if (m.type === 'tmpfs') {
              runMounts.push({ Type: 'tmpfs', Target: m.target, ...(m.sizeBytes !== undefined ? { TmpfsOptions: { SizeBytes: m.sizeBytes } } : {}) });
              continue;
            }
            if (m.type === 'secret') {
              const data = this.req.secrets ? await this.req.secrets(m.id, this.req.signal) : undefined;
              if (data === undefined) {
                if (m.required) throw new InvalidParameterError(`secret ${m.id}: not found`);
                continue;
              }
              // The value goes to the process only: never in the output, the cache key or the image.
              if (m.env !== undefined) {
                if (data.includes(0)) throw new InvalidParameterError(`secret ${m.id}: has a NUL byte and cannot be the environment variable ${m.env}`);
                secretEnv.set(m.env, data.toString('utf8'));
              }
              if (m.target === undefined) continue;
              const h = await this.backend.secretFile(data, m.uid, m.gid, m.mode);
              held.push(h);
              runMounts.push({ Type: 'bind', Source: h.dir, Target: m.target, ReadOnly: true });
              continue;
            }
            if (m.type === 'ssh') {
              const missing = this.req.ssh ? await this.req.ssh.check(m.id, this.req.signal) : noAgentError(m.id);
              if (missing !== undefined) {
                // As in BuildKit, an optional agent that is not there is no mount (SSH_AUTH_SOCK still names it).
                if (m.required) throw new InvalidParameterError(missing);
                continue;
              }
              const h = await this.backend.agentSocket(m, this.req.ssh!);
              held.push({ dir: h.path, release: h.release });
              runMounts.push({ Type: 'bind', Source: h.path, Target: m.target });
              continue;
            }
            if (m.type === 'bind') {
              // An overlay of the source: a `rw` RUN writes to its scratch upper dir, never to the context or a layer.
              const b = binds.get(m)!;
              const h = await this.backend.overlayView(b.dirs);
              held.push(h);
              runMounts.push({ Type: 'bind', Source: b.rel ? join(h.dir, b.rel) : h.dir, Target: m.target, ReadOnly: m.readonly });
              continue;
            }
            const h = await this.backend.cacheMount(m);
            held.push(h);
            runMounts.push({ Type: 'bind', Source: h.dir, Target: m.target, ReadOnly: m.readonly });
          }
          return this.backend.run({
            image: st.imageId!, argv, env: runEnv, user: defaults.User ?? '', workdir: defaults.WorkingDir ?? '', network, binds: pipes, mounts: runMounts, stubs,
            ...(secretEnv.size ? { secretEnv: [...secretEnv].map(([k, v]) => `${k}=${v}`) } : {}),
            resources: this.req.resources, extraHosts: this.req.extraHosts ?? [], parentLayer: st.topLayer, sourceDateEpoch: this.req.sourceDateEpoch, signal: this.req.signal,
          }, {
            created: (id) => { containerId = id; this.say(` ---> Running in ${short(id)}\n`); },
            output: (n, chunk) => { const s = dec[n].write(chunk); if (s) this.say(n === 2 ? stderrText(s) : s); },
          });
        })().catch((e: unknown) => {
          // The engine removed the container already (it always does).
          if (containerId) this.say(`Removing intermediate container ${short(containerId)}\n`);
          throw e;
        }).finally(() => Promise.all(held.map((h) => h.release())));
        const rest = { out: dec[1].end(), err: dec[2].end() };
        if (rest.out) this.say(rest.out);
        if (rest.err) this.say(stderrText(rest.err));
        this.say(`Removing intermediate container ${short(outcome.containerId)}\n`);
        if (outcome.exitCode !== 0) throw new CommandFailedError(argv, outcome.exitCode);
        return outcome.layer;
      },
    });
  }

  /** The mount targets (and their missing parents) the image does not have, outermost first. */
  private async mountStubs(st: StageState, mounts: readonly RunMountPlan[]): Promise<string[]> {
    if (!mounts.length) return [];
    const view = new LayerView(this.backend.lowerDirs(st.topLayer));
    const stubs: string[] = [];
    try {
      for (const m of mounts) {
        if (m.target === undefined) continue; // a secret that is only an environment variable
        const parts = m.target.split('/').filter(Boolean);
        for (let i = 1; i <= parts.length; i++) {
          const rel = parts.slice(0, i).join('/');
          if (stubs.includes(`/${rel}`)) continue;
          if (!(await view.lstat(rel))) stubs.push(`/${rel}`);
        }
      }
    } finally {
      await view.close();
    }
    return stubs;
  }

  /**
   * Where a `RUN --mount=type=bind` reads: the layer dirs of its stage or
   * image (or the build context), the source resolved inside them (symlinks
   * followed within that root only), and what the cache key holds of it.
   */
  private async bindSource(st: StageState, m: BindMountPlan): Promise<BindSource> {
    let dirs: string[];
    let overlay = true;
    let what: string;
    let keyed: string | undefined;
    if (m.from === undefined) {
      dirs = [this.req.contextDir];
      overlay = false;
      what = 'build context';
    } else {
      const stage = findStage(this.df, m.from);
      if (stage && stage.index >= st.stage.index) throw new InvalidParameterError(`RUN --mount from=${m.from}: stage ${m.from} is not built before this one`);
      if (stage) {
        const built = this.results.get(stage.index)!;
        dirs = this.backend.lowerDirs(built.topLayer);
        keyed = built.imageId;
        what = `stage ${stage.name ?? stage.index}`;
      } else {
        const img = await this.backend.resolveImage(m.from, false, (msg) => { if (!this.req.quiet) this.out.progress(msg); });
        dirs = this.backend.lowerDirs(img.topLayer);
        keyed = img.id;
        what = `image ${m.from}`;
      }
    }
    const view = new LayerView(dirs, overlay);
    try {
      const rel = await view.resolve(m.source, true);
      const e = rel === '' ? undefined : await view.lstat(rel);
      if (rel !== '' && !e) throw new InvalidParameterError(`failed to compute cache key: "/${m.source}" not found in ${what}`);
      const content = keyed ?? await treeDigest(rel === '' ? this.req.contextDir : e!.host);
      return { dirs, rel, content };
    } finally {
      await view.close();
    }
  }

  // ------------------------------------------------------------------ COPY / ADD

  private async sourceRoot(st: StageState, from: string | undefined, views: LayerView[]): Promise<SourceRoot> {
    if (from === undefined) {
      const view = new LayerView([this.req.contextDir], false);
      views.push(view);
      return { view, keepOwners: false, what: 'build context' };
    }
    const stage = findStage(this.df, from);
    if (stage && stage.index < st.stage.index) {
      const built = this.results.get(stage.index)!;
      const view = new LayerView(this.backend.lowerDirs(built.topLayer));
      views.push(view);
      return { view, keepOwners: true, what: `stage ${stage.name ?? stage.index}` };
    }
    if (stage && stage.index >= st.stage.index) throw new InvalidParameterError(`COPY --from=${from}: stage ${from} is not built before this one`);
    const img = await this.backend.resolveImage(from, false, (m) => { if (!this.req.quiet) this.out.progress(m); });
    const view = new LayerView(this.backend.lowerDirs(img.topLayer));
    views.push(view);
    return { view, keepOwners: true, what: `image ${from}` };
  }

  private async copyStep(st: StageState, x: CopyInstruction | AddInstruction, defaults: ContainerDefaults, shell: string[], used: Record<string, string>): Promise<void> {
    const parents = x.kind === 'COPY' && x.parents;
    const exclude = x.exclude.length ? excludeMatcher(x.exclude) : undefined;
    if (x.kind === 'ADD' && x.checksum !== undefined && !x.sources.every(isUrl)) {
      throw new InvalidParameterError('ADD --checksum is only supported for HTTP(S) sources');
    }
    const views: LayerView[] = [];
    const destView = new LayerView(this.backend.lowerDirs(st.topLayer));
    views.push(destView);
    try {
      const chown = x.chown ? await resolveChown(x.chown, destView) : undefined;
      const chmod = x.chmod ? parseChmod(x.chmod) : undefined;
      const root = await this.sourceRoot(st, x.kind === 'COPY' ? x.from : undefined, views);
      const now = Math.floor(Date.now() / 1000);
      const items: SourceItem[] = [];
      for (const f of x.files) {
        const dir = join(this.backend.tmpDir, `heredoc-${randomBytes(6).toString('hex')}`);
        await mkdir(dir, { recursive: true });
        const file = join(dir, 'data');
        await writeFile(file, f.data);
        items.push({ kind: 'file', hostPath: file, name: `<<${f.name}`, base: f.name, mode: 0o644, uid: 0, gid: 0, mtime: now });
      }
      for (const src of x.sources) {
        if (x.kind === 'ADD' && isUrl(src)) {
          if (isGitUrl(src)) throw new NotImplementedError(`ADD of a Git repository (${src}) is not supported yet`);
          const dl = await downloadUrl(src, join(this.backend.tmpDir, 'downloads'), x.checksum, this.req.signal);
          items.push({ kind: 'file', hostPath: dl.path, name: src, base: dl.name, mode: 0o600, uid: 0, gid: 0, mtime: dl.mtime ?? now });
          continue;
        }
        if (x.kind === 'ADD' && /^git@|^git:\/\//.test(src)) throw new NotImplementedError(`ADD of a Git repository (${src}) is not supported yet`);
        for (const item of parents ? await expandParents(root, src) : await expandSources(root, [src], x.kind)) {
          if (x.kind === 'ADD' && x.unpack !== false && item.kind === 'path') {
            const e = await root.view.lstat(item.rel);
            const kind = e?.st.isFile() ? await archiveKind(e.host) : undefined;
            if (e && kind) {
              const dir = join(this.backend.tmpDir, `unpack-${randomBytes(6).toString('hex')}`);
              await mkdir(dir, { recursive: true });
              await unpackArchive(e.host, kind, dir);
              const view = new LayerView([dir], false);
              views.push(view);
              items.push({ kind: 'path', root: { view, keepOwners: true, what: `archive ${item.name}` }, rel: '', name: item.name, base: item.base, extracted: true });
              continue;
            }
          }
          items.push(item);
        }
      }
      const plan = await planCopy(items, {
        instruction: x.kind, dest: x.dest, workdir: defaults.WorkingDir ?? '', destView, chown, chmod,
        sourceDateEpoch: this.req.sourceDateEpoch, ...(exclude ? { exclude } : {}), parents,
      });
      const digest = filesDigest(plan.files);
      const flags = copyFlagsText(x);
      const instruction = `${x.kind}${flags} ${[...x.sources, ...x.files.map((f) => `<<${f.name}`)].join(' ')} ${x.dest}`;
      const what = plan.files.length === 1 && plan.files[0].type === 'file' ? 'file' : plan.files.length ? 'dir' : 'empty';
      const comment = `${x.kind} ${what}:${digest.slice(7)} in ${x.dest.startsWith('/') ? x.dest : posix.join(defaults.WorkingDir || '/', x.dest)} `;
      await this.commit(st, x, {
        inputs: {
          kind: x.kind, instruction, filesDigest: digest, fileCount: plan.files.length, workdir: defaults.WorkingDir ?? '',
          ...(Object.keys(used).length ? { buildArgs: used } : {}),
        },
        ...(plan.files.length <= MAX_KEPT_FILES ? { files: plan.files } : {}),
        createdBy: nopCreatedBy(shell, comment), defaults,
        execute: () => this.writeLayer(st, plan, destView),
      });
    } finally {
      for (const v of views) await v.close();
    }
  }
}
