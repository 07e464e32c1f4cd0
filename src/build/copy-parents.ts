/**
 * `COPY --parents` (Dockerfile 1.7+): each source keeps its path below a
 * pivot in the destination, instead of only its base name.
 *
 * BuildKit's rule (dockerfile2llb convert_copy): the source is cut at the
 * first `/./`; what comes before is the directory the paths are kept
 * relative to, what comes after is the pattern; without `/./` the paths
 * are kept relative to the root of the source (the context, a stage, an
 * image). So `COPY --parents a/b/c.txt /d/` writes /d/a/b/c.txt, and
 * `COPY --parents a/./b/c.txt /d/` writes /d/b/c.txt. Wildcards work in
 * the pattern (`*\/package.json`); a path without wildcards must exist.
 *
 * The directories between the pivot and each copied path are copied too,
 * with the source's modes (fsutil creates them from the source when a path
 * below them is included).
 */
import { posix } from 'node:path';
import { InvalidParameterError } from '../errors.js';
import { expandSources, type SourceItem, type SourceRoot } from './copy-plan.js';
import { cleanRel } from './layer-view.js';

/** The items `src` names under `--parents`, each with `keep`: its path below the pivot. */
export async function expandParents(root: SourceRoot, src: string): Promise<SourceItem[]> {
  const cut = src.indexOf('/./');
  const pivot = cut < 0 ? '' : cleanRel(src.slice(0, cut));
  const pattern = cleanRel(posix.normalize('/' + (cut < 0 ? src : src.slice(cut + 3))));
  const whole = posix.normalize(src);
  if (root.what === 'build context' && (whole === '..' || whole.startsWith('../'))) {
    throw new InvalidParameterError(`COPY failed: forbidden path outside the build context: ${src}`);
  }
  const named = pivot ? (pattern ? `${pivot}/${pattern}` : pivot) : pattern;
  const items = await expandSources(root, [named], 'COPY');
  return items.map((item) => {
    if (item.kind !== 'path') return item;
    const keep = pivot ? (item.name === pivot ? '' : item.name.slice(pivot.length + 1)) : item.name;
    return { ...item, keep, pivot };
  });
}
