/**
 * The Dockerfile lines a build error is about, sent the way BuildKit sends
 * them: an `errdefs.Source` detail in the gRPC status (registered with
 * typeurl as `github.com/moby/buildkit/errdefs.Source+json`, so its value
 * is JSON), which buildx prints above the error as
 *
 *     Dockerfile:3
 *     --------------------
 *        2 |     RUN echo fine
 *        3 | >>> COPY onlyone
 *     --------------------
 *
 * The frontend marks an error with the Dockerfile it came from
 * (`attachSource`); the line is the error's own (DockerfileSyntaxError,
 * BuildStepError, anywhere in its cause chain).
 */
import type { GrpcStatusError } from './grpc-server.js';

const SOURCE_TYPE_URL = 'github.com/moby/buildkit/errdefs.Source+json';

interface DockerfileSource { filename: string; data: Buffer }

const sources = new WeakMap<object, DockerfileSource>();

/** Remembers which Dockerfile `err` belongs to; returns `err`. */
export function attachSource<E>(err: E, filename: string, data: Buffer): E {
  if (typeof err === 'object' && err !== null) sources.set(err, { filename, data });
  return err;
}

/** The 1-based lines an error names: its own `line`/`endLine` or its causes'. */
function linesOf(err: unknown): { line: number; endLine: number } | undefined {
  for (let e = err, depth = 0; typeof e === 'object' && e !== null && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    const { line, endLine } = e as { line?: unknown; endLine?: unknown };
    if (typeof line === 'number' && Number.isInteger(line) && line > 0) {
      return { line, endLine: typeof endLine === 'number' && endLine >= line ? endLine : line };
    }
  }
  return undefined;
}

/** The status details for `err`: a Source range when its Dockerfile and line are known. */
export function sourceDetails(err: unknown): GrpcStatusError['details'] {
  const src = typeof err === 'object' && err !== null ? sources.get(err) : undefined;
  const lines = linesOf(err);
  if (!src || !lines) return [];
  const value = {
    info: { filename: src.filename, data: src.data.toString('base64'), language: 'Dockerfile' },
    ranges: [{ start: { line: lines.line }, end: { line: lines.endLine } }],
  };
  return [{ type_url: SOURCE_TYPE_URL, value: Buffer.from(JSON.stringify(value)) }];
}
