/**
 * `berth images` / `image ls`: one row per repository:tag (and per digest
 * with `--digests`), `<none>` for dangling images, Docker's columns and
 * formats; `--tree` draws the parent/child layer tree (layer-tree.ts).
 */
import type { Command } from '../command.js';
import type { CliContext } from '../context.js';
import type { ParsedFlags } from '../flags.js';
import { formatFlag } from '../format/format-flag.js';
import { formatRows, type RowContext } from '../format/formatter.js';
import { tabwrite } from '../format/tabwriter.js';
import { goTimeString } from '../format/time.js';
import { truncateId } from '../format/truncate.js';
import { humanSizeWithPrecision, timeAgo } from '../format/units.js';
import { filterFlag, filtersJson, parseFilters } from '../opts/filters.js';
import { familiarName, parseReference } from '../../image/reference.js';
import { renderLayerTree, type ImageTree } from './layer-tree.js';

export interface ImageSummary {
  Id: string;
  ParentId?: string;
  RepoTags: string[] | null;
  RepoDigests: string[] | null;
  Created: number;
  Size: number;
  SharedSize?: number;
  Containers?: number;
  Labels?: Record<string, string> | null;
}

interface ImageRow {
  image: ImageSummary;
  repo: string;
  tag: string;
  digest: string;
}

const HEADERS: Record<string, string> = {
  ID: 'IMAGE ID', Repository: 'REPOSITORY', Tag: 'TAG', Digest: 'DIGEST', CreatedSince: 'CREATED', CreatedAt: 'CREATED AT',
  Size: 'SIZE', Containers: 'CONTAINERS', VirtualSize: 'VIRTUAL SIZE', SharedSize: 'SHARED SIZE', UniqueSize: 'UNIQUE SIZE',
};

function isDangling(i: ImageSummary): boolean {
  const tags = i.RepoTags ?? [];
  const digests = i.RepoDigests ?? [];
  return (tags.length === 0 && digests.length === 0) || (tags.length === 1 && tags[0] === '<none>:<none>' && (digests.length === 0 || (digests.length === 1 && digests[0] === '<none>@<none>')));
}

/** imageFormat: rows per repository tag (× digest with --digests), digest-only repositories last. */
export function imageRows(images: readonly ImageSummary[], showDigests: boolean): ImageRow[] {
  const rows: ImageRow[] = [];
  for (const img of images) {
    if (isDangling(img)) {
      rows.push({ image: img, repo: '<none>', tag: '<none>', digest: '<none>' });
      continue;
    }
    const repoTags = new Map<string, string[]>();
    const repoDigests = new Map<string, string[]>();
    for (const t of img.RepoTags ?? []) {
      try {
        const ref = parseReference(t);
        if (!ref.tag) continue;
        const name = familiarName(ref);
        repoTags.set(name, [...(repoTags.get(name) ?? []), ref.tag]);
      } catch { /* unparsable tag: skipped like Docker */ }
    }
    for (const d of img.RepoDigests ?? []) {
      try {
        const ref = parseReference(d);
        if (!ref.digest) continue;
        const name = familiarName(ref);
        repoDigests.set(name, [...(repoDigests.get(name) ?? []), ref.digest]);
      } catch { /* skipped */ }
    }
    for (const [repo, tags] of repoTags) {
      const digests = showDigests ? repoDigests.get(repo) ?? [] : [];
      repoDigests.delete(repo);
      for (const tag of tags) {
        if (digests.length === 0) rows.push({ image: img, repo, tag, digest: '<none>' });
        else for (const d of digests) rows.push({ image: img, repo, tag, digest: d });
      }
    }
    for (const [repo, digests] of repoDigests) {
      if (showDigests) for (const d of digests) rows.push({ image: img, repo, tag: '<none>', digest: d });
      else rows.push({ image: img, repo, tag: '<none>', digest: '' });
    }
  }
  return rows;
}

export function imageContext(r: ImageRow, trunc: boolean, now = Date.now()): RowContext {
  const i = r.image;
  return {
    ID: () => (trunc ? truncateId(i.Id) : i.Id),
    Repository: () => r.repo,
    Tag: () => r.tag,
    Digest: () => r.digest,
    CreatedSince: () => (i.Created ? timeAgo(i.Created, now) : 'N/A'),
    CreatedAt: () => goTimeString(i.Created),
    Size: () => humanSizeWithPrecision(i.Size, 3),
    Containers: () => (i.Containers === undefined || i.Containers === -1 ? 'N/A' : String(i.Containers)),
    VirtualSize: () => humanSizeWithPrecision(i.Size, 3),
    SharedSize: () => (i.SharedSize === undefined || i.SharedSize === -1 ? 'N/A' : humanSizeWithPrecision(i.SharedSize, 3)),
    UniqueSize: () => (i.SharedSize === undefined || i.SharedSize === -1 ? 'N/A' : humanSizeWithPrecision(i.Size - i.SharedSize, 3)),
  };
}

export function imageFormat(source: string, quiet: boolean, digests: boolean): string {
  if (source === '' || source === 'table') {
    if (quiet) return '{{.ID}}';
    return digests
      ? 'table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}'
      : 'table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}\t{{.Size}}';
  }
  return quiet ? '{{.ID}}' : source;
}

async function images(ctx: CliContext, f: ParsedFlags): Promise<void> {
  let format = f.string('format');
  const quiet = f.bool('quiet');
  if (format === '') format = ctx.config.data.imagesFormat ?? '';
  const filters = parseFilters(f.list('filter'));
  if (f.args[0]) (filters.reference ??= {})[f.args[0]] = true;
  const client = await ctx.client();
  const list = await client.json<ImageSummary[]>('GET', '/images/json', {
    query: { all: f.bool('all'), filters: filtersJson(filters) },
  });
  const trunc = !f.bool('no-trunc');
  if (f.bool('tree')) {
    // The layer tree is berthd's view; the listing above says which images it shows.
    const tree = await client.json<ImageTree>('GET', '/images/tree');
    if (format === 'json') ctx.out.write(`${JSON.stringify(tree)}\n`);
    else ctx.out.write(renderLayerTree(tree, { trunc, only: new Set(list.map((i) => i.Id)) }));
    return;
  }
  const now = Date.now();
  const rows = imageRows(list, f.bool('digests') || /\.Digest\b/.test(format));
  ctx.out.write(formatRows(imageFormat(format, quiet, f.bool('digests')), rows.map((r) => imageContext(r, trunc, now)), HEADERS));
}

export const imagesCommand: Command = {
  name: 'ls', aliases: ['images', 'list'], usage: '[OPTIONS] [REPOSITORY[:TAG]]', short: 'List images',
  aliasesHelp: 'berth image ls, berth image list, berth images', args: { max: 1 },
  flags: [
    { name: 'all', short: 'a', kind: 'bool', usage: 'Show all images (default hides intermediate images)' },
    { name: 'digests', kind: 'bool', usage: 'Show digests' },
    filterFlag('Filter output based on conditions provided'),
    formatFlag(),
    { name: 'no-trunc', kind: 'bool', usage: "Don't truncate output" },
    { name: 'quiet', short: 'q', kind: 'bool', usage: 'Only show image IDs' },
    { name: 'tree', kind: 'bool', usage: 'Show the layer tree: each layer under its parent, with the images built on it' },
  ],
  run: images,
};

export const topLevelImagesCommand: Command = { ...imagesCommand, name: 'images', aliases: [], group: 'common' };
