/**
 * `berth images` / `image ls`: one row per repository:tag (and per digest
 * with `--digests`), `<none>` for dangling images, Docker's columns and
 * formats; `--tree` shows each image with its platform variants.
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
  Manifests?: ImageManifestSummary[] | null;
}

export interface ImageManifestSummary {
  ID: string;
  Kind?: string;
  Available?: boolean;
  Size?: { Total?: number; Content?: number };
  Descriptor?: { platform?: { os?: string; architecture?: string; variant?: string } };
  ImageData?: { Platform?: { os?: string; architecture?: string; variant?: string }; Containers?: string[] | null };
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

function platformOf(m: ImageManifestSummary): string {
  const p = m.ImageData?.Platform ?? m.Descriptor?.platform;
  if (!p) return 'unknown';
  return [p.os, p.architecture, p.variant].filter(Boolean).join('/');
}

/** `--tree`: each tagged image, its platform manifests beneath (Docker 28's experimental tree view). */
export function treeView(images: readonly ImageSummary[], trunc: boolean): string {
  let text = 'IMAGE\tID\tDISK USAGE\tCONTENT SIZE\tEXTRA\n';
  const sorted = [...images].sort((a, b) => ((a.RepoTags?.[0] ?? '') < (b.RepoTags?.[0] ?? '') ? -1 : 1));
  for (const img of sorted) {
    const names = img.RepoTags?.length ? img.RepoTags : ['<untagged>'];
    const inUse = (img.Containers ?? 0) > 0 ? 'U' : '';
    for (const name of names) {
      const shown = (() => {
        try {
          const ref = parseReference(name);
          return `${familiarName(ref)}${ref.tag ? `:${ref.tag}` : ''}`;
        } catch {
          return name;
        }
      })();
      text += `${shown}\t${trunc ? truncateId(img.Id) : img.Id}\t${humanSizeWithPrecision(img.Size, 3)}\t${humanSizeWithPrecision(img.Size, 3)}\t${inUse}\n`;
      const children = (img.Manifests ?? []).filter((m) => !m.Kind || m.Kind === 'image');
      children.forEach((m, idx) => {
        const branch = idx === children.length - 1 ? '└─' : '├─';
        const used = (m.ImageData?.Containers?.length ?? 0) > 0 ? 'U' : '';
        text += `${branch} ${platformOf(m)}\t${trunc ? truncateId(m.ID) : m.ID}\t${humanSizeWithPrecision(m.Size?.Total ?? 0, 3)}\t${humanSizeWithPrecision(m.Size?.Content ?? 0, 3)}\t${used}\n`;
      });
    }
  }
  return tabwrite(text);
}

async function images(ctx: CliContext, f: ParsedFlags): Promise<void> {
  let format = f.string('format');
  const quiet = f.bool('quiet');
  if (format === '') format = ctx.config.data.imagesFormat ?? '';
  const filters = parseFilters(f.list('filter'));
  if (f.args[0]) (filters.reference ??= {})[f.args[0]] = true;
  const client = await ctx.client();
  const tree = f.bool('tree');
  const list = await client.json<ImageSummary[]>('GET', '/images/json', {
    query: { all: f.bool('all'), filters: filtersJson(filters), manifests: tree || undefined },
  });
  const trunc = !f.bool('no-trunc');
  if (tree) {
    ctx.out.write(treeView(list, trunc));
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
    { name: 'tree', kind: 'bool', usage: 'List multi-platform images as a tree (EXPERIMENTAL)' },
  ],
  run: images,
};

export const topLevelImagesCommand: Command = { ...imagesCommand, name: 'images', aliases: [], group: 'common' };
