/**
 * BuildKit's `dockerfile.v0` frontend, served by berth's own builder: the
 * frontend options a client sends (buildx: `filename`, `target`,
 * `build-arg:*`, `label:*`, `no-cache`, `image-resolve-mode`,
 * `force-network-mode`…) become the same BuildParams `POST /build` makes,
 * the context and Dockerfile come over the client's session (filesync),
 * and the build runs through the same BuildService — same cache, same
 * image for the same inputs. Options berth cannot honour are refused by
 * name, never ignored.
 *
 * The transfers, as BuildKit's frontend does them: the Dockerfile's
 * directory (`dockerfile`, only the Dockerfile and its own ignore file),
 * the context's `.dockerignore`, then the context with those patterns
 * excluded at the client. The context's entries stream into the build
 * service's extraction as they arrive (buildkit/context-entries.ts); the
 * Dockerfile goes to the service beside them (BuildParams.dockerfileText),
 * so the context holds the client's files only.
 */
import { posix } from 'node:path';
import { InvalidParameterError, NotImplementedError, errorMessage } from '../../errors.js';
import type { Engine } from '../../engine/engine.js';
import type { BuildParams } from '../../engine/build.js';
import type { BuildResult, ImportedStepQuery } from '../../build/builder.js';
import type { CacheImporter, ImportLayer } from '../../engine/build-cache-import.js';
import { readDockerignore } from '../../build/dockerignore.js';
import { parseDockerfile } from '../../build/parser/index.js';
import { checkPlatform } from '../../build/platform.js';
import { checkSyntax } from '../../build/syntax.js';
import { diffCopy } from '../../buildkit/filesync.js';
import { ContextEntriesSink, MemorySink } from '../../buildkit/context-entries.js';
import type { ClientSession } from '../../buildkit/sessions.js';
import { sessionSecrets } from '../../buildkit/secrets.js';
import { sessionSshAgents } from '../../buildkit/ssh-forward.js';
import type { BuildProgress } from '../../buildkit/progress.js';
import { StepVertexes, outputFor } from '../../buildkit/step-vertexes.js';
import { attachSource } from '../../buildkit/error-source.js';
import { sessionCredentials } from '../../buildkit/session-auth.js';
import { traceAt } from '../../trace.js';

const MAX_DOCKERFILE_BYTES = 16 << 20;

/** Frontend options berth reads; anything else that changes a build is refused. */
const IGNORED_OPTS = new Set([
  // Informational or satisfied by what berth does anyway.
  'frontend.caps', 'contextkey', 'dockerfilekey', 'image-resolve-mode', 'multi-platform', 'build-arg:BUILDKIT_INLINE_CACHE',
  // The Control.Solve's CacheOptions carry the same list, and are what berth reads (build-cache-options.ts).
  'cache-imports',
]);

export interface FrontendResult {
  imageId: string;
  /** The image config, as BuildKit's frontend returns it in `containerimage.config`. */
  config: Buffer;
  /** The steps' cache keys and the final stage (for --cache-to). */
  steps: BuildResult['steps'];
  finalStage: number;
}

/** BuildParams for `POST /build`'s service from frontend options. */
export function paramsFromFrontendOpts(opts: Record<string, string>): { params: BuildParams; filename: string } {
  const buildArgs: Record<string, string> = {};
  const labels: Record<string, string> = {};
  let filename = 'Dockerfile';
  const p: BuildParams = {
    dockerfile: '', tags: [], buildArgs, labels, noCache: false, pull: false, target: '', quiet: false, rm: true,
    networkMode: '', platform: '', remote: '', cacheFrom: [], extraHosts: [], squash: false, cgroupParent: '', isolation: '',
    version: '', outputs: '', resources: {}, authConfigs: {},
  };
  for (const [k, v] of Object.entries(opts)) {
    if (k.startsWith('build-arg:')) { if (!IGNORED_OPTS.has(k)) buildArgs[k.slice(10)] = v; continue; }
    if (k.startsWith('label:')) { labels[k.slice(6)] = v; continue; }
    if (IGNORED_OPTS.has(k)) {
      if (k === 'image-resolve-mode' && v === 'pull') p.pull = true;
      continue;
    }
    switch (k) {
      case 'filename': filename = v || 'Dockerfile'; break;
      case 'target': p.target = v; break;
      case 'no-cache':
        // An empty value means every stage; a list of stages is BuildKit's --no-cache-filter.
        if (v !== '') throw new NotImplementedError('--no-cache-filter is not supported yet');
        p.noCache = true;
        break;
      case 'force-network-mode':
        if (!['', 'default', 'none', 'host'].includes(v)) throw new InvalidParameterError(`invalid network mode ${JSON.stringify(v)}`);
        p.networkMode = v;
        break;
      case 'platform':
        checkPlatform(v, '--platform');
        break;
      case 'add-hosts':
        // buildx sends `name=ip` fields; the classic builder's extrahosts (and a container's ExtraHosts) are `name:ip`.
        for (const field of v.split(',').filter(Boolean)) {
          const eq = field.indexOf('=');
          if (eq <= 0 || eq === field.length - 1) throw new InvalidParameterError(`invalid add-host entry ${JSON.stringify(field)}: expected name=address`);
          p.extraHosts.push(`${field.slice(0, eq)}:${field.slice(eq + 1)}`);
        }
        break;
      case 'cgroup-parent': p.cgroupParent = v; break;
      case 'shm-size': if (v && v !== '0') throw new NotImplementedError('--shm-size is not supported for BuildKit builds yet'); break;
      case 'ulimit': if (v) throw new NotImplementedError('--ulimit is not supported for BuildKit builds yet'); break;
      default:
        if (k.startsWith('attest:')) {
          // buildx asks for minimal provenance by default; like dockerd's own image store, berth's keeps no attestations.
          if (k === 'attest:provenance') continue;
          if (v && !/(^|,)disabled=true(,|$)/.test(v)) throw new NotImplementedError(`attestations (${k.slice(7)}) are not supported yet`);
          continue;
        }
        if (k.startsWith('context:') || k.startsWith('input-metadata:')) throw new NotImplementedError('named build contexts (--build-context) are not supported yet');
        if (k === 'cache-from') throw new NotImplementedError('the frontend option cache-from is not supported: berth reads --cache-from from the Solve\'s cache options');
        throw new NotImplementedError(`the dockerfile frontend option ${JSON.stringify(k)} is not supported`);
    }
  }
  const clean = posix.normalize(filename);
  if (clean.startsWith('../') || clean === '..' || clean.startsWith('/')) throw new InvalidParameterError(`invalid Dockerfile name ${JSON.stringify(filename)}`);
  return { params: p, filename: clean };
}

/** Receives the Dockerfile (and its own ignore file) from the client's `dockerfile` directory. */
async function fetchDockerfile(session: ClientSession, filename: string, signal: AbortSignal): Promise<{ text: Buffer; ignore?: Buffer }> {
  const sink = new MemorySink(MAX_DOCKERFILE_BYTES);
  await diffCopy(session.conn, {
    dirName: 'dockerfile', includePatterns: [filename, `${filename}.dockerignore`], followPaths: [filename, `${filename}.dockerignore`], signal,
  }, sink);
  const text = sink.files.get(filename);
  if (!text) throw new InvalidParameterError(`failed to read dockerfile: open ${filename}: no such file or directory`);
  const ignore = sink.files.get(`${filename}.dockerignore`);
  return ignore ? { text, ignore } : { text };
}

async function fetchDockerignore(session: ClientSession, signal: AbortSignal): Promise<Buffer | undefined> {
  const sink = new MemorySink(MAX_DOCKERFILE_BYTES);
  await diffCopy(session.conn, { dirName: 'context', includePatterns: ['.dockerignore'], followPaths: ['.dockerignore'], signal }, sink);
  return sink.files.get('.dockerignore');
}

/**
 * BuildKit lists warnings with the build's result, failed or not ("1
 * warning found"): build checks and unused build args, as the classic
 * builder says them.
 */
function publishWarnings(progress: BuildProgress, warnings: readonly string[]): void {
  if (!warnings.length) return;
  const w = progress.vertex('[internal] build warnings');
  for (const text of warnings) progress.publish({ warnings: [{ vertex: w.digest, level: 1, short: Buffer.from(text) }] });
  w.complete();
}

/** Runs a `dockerfile.v0` solve: context over the session, berth's builder, progress as vertexes. */
export async function runDockerfileFrontend(
  engine: Engine, session: ClientSession, opts: Record<string, string>, progress: BuildProgress, signal: AbortSignal,
  cacheImport?: CacheImporter,
): Promise<FrontendResult> {
  const { params, filename } = paramsFromFrontendOpts(opts);

  let v = progress.vertex(`[internal] load build definition from ${posix.basename(filename)}`);
  // The context's .dockerignore is asked for alongside the Dockerfile (two calls on the session at once, one
  // round trip rather than two); it is used only when the Dockerfile has no ignore file of its own.
  const contextIgnore = fetchDockerignore(session, signal);
  contextIgnore.catch(() => undefined);
  const df = await fetchDockerfile(session, filename, signal).catch((e) => { v.complete(errorMessage(e)); throw e; });
  // Errors past this point point at the client's Dockerfile (error-source.ts): buildx prints the lines above the message.
  try {
    v.log(`transferring dockerfile: ${df.text.length}B\n`);
    // Parsed here first so that a syntax error names the client's file (`Dockerfile:2: …`), not the copy the build service reads.
    try {
      checkSyntax(parseDockerfile(df.text.toString('utf8'), { file: filename }), opts['build-arg:BUILDKIT_SYNTAX']);
    } catch (e) {
      v.complete(errorMessage(e));
      throw e;
    }
    v.complete();

    let ignoreText = df.ignore;
    if (!ignoreText) {
      v = progress.vertex('[internal] load .dockerignore');
      ignoreText = await contextIgnore.catch((e) => { v.complete(errorMessage(e)); throw e; });
      v.log(`transferring context: ${ignoreText?.length ?? 0}B\n`);
      v.complete();
    }
    const excludes = ignoreText ? readDockerignore(ignoreText.toString('utf8')) : [];

    // The Dockerfile goes to the build service apart from the context, which the client filtered with `excludes`.
    params.dockerfile = filename;
    params.dockerfileName = filename;
    params.dockerfileText = df.text.toString('utf8');
    // Base images of a registry that wants a login are pulled with the credentials the client's session gives.
    params.credentials = (domain, sig) => sessionCredentials(session, domain, sig);
    v = progress.vertex('[internal] load build context');
    // The context's entries go straight into the build service's extraction as they arrive (no tar in between).
    const sink = new ContextEntriesSink();
    const sending = diffCopy(session.conn, {
      dirName: 'context', excludePatterns: excludes, signal,
    }, {
      entry: (e, data) => sink.entry(e, data),
      // The entries end as soon as the last file is in, so that their extraction finishes while the call closes.
      received: async () => { sink.end(); },
    });
    sending.catch((e: unknown) => { try { sink.fail(e); } catch { /* the extraction has stopped already */ } });
    const preparing = engine.builds.prepare(params, sink);
    // However the preparation ends, nothing reads the entries after it: a build refused before its extraction
    // started (a bad cgroup parent) must end the transfer, not leave it waiting for a reader.
    preparing.then(() => sink.stop(), () => sink.stop());
    const [sendResult, prepResult] = await Promise.allSettled([sending, preparing]);
    if (sendResult.status === 'rejected' || prepResult.status === 'rejected') {
      if (prepResult.status === 'fulfilled') await engine.builds.dispose(prepResult.value);
      // The transfer's own error says more than the extraction's "the build context was not read to its end";
      // the preparation's says more than the sink's refusal that followed it.
      const sendError = sendResult.status === 'rejected' && !sink.isStopError(sendResult.reason) ? sendResult.reason : undefined;
      const err = sendError ?? (prepResult.status === 'rejected' ? prepResult.reason : (sendResult as PromiseRejectedResult).reason);
      v.complete(errorMessage(err));
      throw err;
    }
    const prepared = prepResult.value;
    traceAt('frontend context prepared');
    v.log(`transferring context: ${sink.bytes}B\n`);
    v.complete();
    let built = false;
    try {
      const steps = new StepVertexes(progress, prepared.dockerfile);
      let result;
      try {
        result = await engine.builds.run(prepared, outputFor(steps), signal, undefined, {
          secrets: sessionSecrets(session),
          ssh: sessionSshAgents(session),
          ...(cacheImport ? { cacheImport: (q: ImportedStepQuery, importLayer: ImportLayer, sig: AbortSignal) => cacheImport.lookup(q, importLayer, sig) } : {}),
        });
      } catch (e) {
        steps.end(errorMessage(e));
        publishWarnings(progress, steps.warnings);
        throw e;
      }
      traceAt('frontend steps done');
      steps.end();
      publishWarnings(progress, steps.warnings);
      const img = engine.images.store.get(result.imageId);
      built = true;
      return { imageId: result.imageId, config: img?.configBytes ?? Buffer.from('{}'), steps: result.steps, finalStage: result.finalStage };
    } finally {
      // A built image's answer does not wait for its context copy to be deleted (the client would wait on an
      // rm -r for nothing; berthd's start empties tmp/ should it stop first). A failed build's copy is gone
      // before its error is told.
      const disposing = engine.builds.dispose(prepared);
      if (built) disposing.catch(() => undefined); else await disposing;
    }
  } catch (e) {
    throw attachSource(e, filename, df.text);
  }
}
