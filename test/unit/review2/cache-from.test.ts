/**
 * `--cache-from` against hostile images: a source (or base) whose history
 * does not count its layers. The step's image is made of the parent's
 * rootfs plus one layer of the source; the builder takes the layer chain
 * from the source at the history line's layer count. Those two agree only
 * when the parent's history counts as many layers as its rootfs has — else
 * the image's config would name one rootfs and its filesystem be another
 * (dockerd's restoreCachedImage would name a chain that does not exist and
 * fail). Such a source is no hit. Malformed history never throws.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CacheSources } from '../../../src/build/cache-from.js';
import type { HistoryEntry, ImageConfig } from '../../../src/image/config.js';
import type { ImageRecord } from '../../../src/store/image-store.js';

const L = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`;
const h = (createdBy: string, empty = false): HistoryEntry => ({ created: '2020-01-01T00:00:00Z', created_by: createdBy, ...(empty ? { empty_layer: true } : {}) });

function config(history: unknown, diffIds: string[]): ImageConfig {
  return { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: diffIds }, history } as ImageConfig;
}

function record(id: string, cfg: ImageConfig): ImageRecord {
  return { id, configBytes: Buffer.from(JSON.stringify(cfg)), config: cfg, topLayer: `chain-${id}`, parent: '', size: 0, created: 0, lastTag: null };
}

function sources(...imgs: ImageRecord[]): CacheSources {
  const byId = new Map(imgs.map((i) => [i.id, i]));
  return new CacheSources({ image: (id) => byId.get(id) }, imgs);
}

const STEP = '/bin/sh -c make';

test('a well-formed source restores the step with the layer after the parent\'s', () => {
  const parent = config([h('ADD base')], [L(1)]);
  const src = record('src', config([h('ADD base'), h(STEP), h('/bin/sh -c more')], [L(1), L(2), L(3)]));
  const m = sources(src).match(parent, STEP);
  assert.equal(m?.kind, 'restore');
  assert.equal(m.kind === 'restore' && m.diffId, L(2));
  assert.equal(m.kind === 'restore' && m.layerCount, 2);
});

test('a parent whose history counts more layers than its rootfs gives no hit (config and filesystem would differ)', () => {
  // Parent: two non-empty history lines, one layer. The source repeats that history, then this step.
  const parent = config([h('ADD base'), h('/bin/sh -c x')], [L(1)]);
  const src = record('src', config([h('ADD base'), h('/bin/sh -c x'), h(STEP), h('/bin/sh -c tail')], [L(1), L(6), L(2), L(3)]));
  // Without the check: diffId L(2) on top of the parent's [L(1)] in the config, but the chain [L(1), L(6), L(2)] as the filesystem.
  assert.equal(sources(src).match(parent, STEP), undefined);
});

test('a base without history (rootfs only) gives no hit from a source built on it', () => {
  const parent = config([], [L(1)]);
  const src = record('src', config([h(STEP), h('/bin/sh -c tail')], [L(1), L(2), L(3)]));
  // The history's first line would pick L(1), the parent's own layer, as the step's.
  assert.equal(sources(src).match(parent, STEP), undefined);
});

test('malformed history in a source or a parent is no hit, never an exception', () => {
  const good = config([h('ADD base')], [L(1)]);
  for (const bad of [[null, h(STEP)], 'abc', { length: 3 }, [h('ADD base'), null], [h('ADD base'), 7]]) {
    const src = record('bad', config(bad, [L(1), L(2)]));
    assert.doesNotThrow(() => sources(src).match(good, STEP));
    assert.equal(sources(src).match(good, STEP), undefined);
    assert.doesNotThrow(() => sources(record('good', config([h('ADD base'), h(STEP), h('x')], [L(1), L(2), L(3)]))).match(config(bad, [L(1)]), STEP));
  }
  const noRootfs = { ...record('r', config([h('ADD base'), h(STEP)], [])), config: { architecture: 'amd64', os: 'linux', history: [h('ADD base'), h(STEP)] } as unknown as ImageConfig };
  assert.doesNotThrow(() => sources(noRootfs).match(good, STEP));
});
