/**
 * Which frontend reads a Dockerfile: `# syntax=<image>` or the
 * BUILDKIT_SYNTAX build arg (which wins, as in BuildKit's dockerfile
 * frontend). BuildKit runs the named image as the frontend; berth has one
 * frontend, its own parser, which follows the `docker/dockerfile:1`
 * reference. So any form of that image is taken as berth's own — with or
 * without `docker.io/`, a 1.x tag, a `-labs` tag, `latest`, `labs`, or a
 * digest — and every other image is refused by name rather than silently
 * read with berth's syntax (an unknown frontend may mean anything).
 *
 * As in BuildKit, only the value's first word is the image (the rest is
 * the frontend's command line).
 */
import { NotImplementedError } from '../errors.js';
import { parseReference } from '../image/reference.js';
import type { Dockerfile } from './parser/index.js';

/** `1`, `1.7`, `1.7.1`, each optionally `-labs`; `latest`; `labs`. */
const TAG = /^(?:latest|labs|1(?:\.\d+){0,2}(?:-labs)?)$/;

/** True when `image` names the docker/dockerfile frontend at a version berth's parser follows. */
export function isBuiltinSyntax(image: string): boolean {
  let ref;
  try {
    ref = parseReference(image);
  } catch {
    return false;
  }
  if (ref.domain !== 'docker.io' || ref.path !== 'docker/dockerfile') return false;
  return ref.tag === undefined || TAG.test(ref.tag);
}

/**
 * Refuses a build whose syntax image is not the built-in frontend.
 * `buildArg` is the BUILDKIT_SYNTAX build arg when given.
 */
export function checkSyntax(df: Dockerfile, buildArg?: string): void {
  const fromArg = buildArg !== undefined && buildArg.trim() !== '';
  const value = fromArg ? buildArg : df.directives.syntax;
  if (value === undefined) return;
  const image = value.trim().split(' ')[0];
  if (isBuiltinSyntax(image)) return;
  const where = fromArg ? 'BUILDKIT_SYNTAX' : `${df.file}:${df.directives.found.find((d) => d.name === 'syntax')?.line ?? 1}: # syntax`;
  throw new NotImplementedError(
    `${where}=${image}: frontend image ${JSON.stringify(image)} is not supported: berth builds with its built-in Dockerfile frontend (docker/dockerfile:1)`,
  );
}
