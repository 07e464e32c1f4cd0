import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderLayerTree, type ImageTree, type TreeLayer } from '../../../src/cli/image/layer-tree.js';

const id = (c: string) => `sha256:${c.repeat(64)}`;
function layer(c: string, parent: string, size: number, images: { tag?: string; img: string }[] = []): TreeLayer {
  return {
    ChainID: id(c), DiffID: id(c), Parent: parent ? id(parent) : '', Size: size, Created: 0,
    Images: images.map((i) => ({ Id: id(i.img), RepoTags: i.tag ? [i.tag] : [], Containers: 0 })),
  };
}

const tree: ImageTree = {
  Layers: [
    layer('a', '', 4_260_000, [{ tag: 'busybox:latest', img: '1' }]),
    layer('b', 'a', 2_100_000, [{ tag: 'app:latest', img: '2' }]),
    layer('c', 'b', 12, [{ img: '3' }]),
    layer('d', 'a', 100, [{ tag: 'web:1', img: '4' }]),
  ],
  ImagesWithoutLayers: [{ Id: id('5'), RepoTags: ['meta:latest'], Containers: 0 }],
};

test('draws each layer under its parent with sizes and the images on it', () => {
  assert.equal(renderLayerTree(tree, { trunc: true }), [
    '└─aaaaaaaaaaaa Size: 4.26MB Virtual Size: 4.26MB Tags: busybox:latest',
    '  ├─bbbbbbbbbbbb Size: 2.1MB Virtual Size: 6.36MB Tags: app:latest',
    '  │ └─cccccccccccc Size: 12B Virtual Size: 6.36MB Image: 333333333333',
    '  └─dddddddddddd Size: 100B Virtual Size: 4.26MB Tags: web:1',
    '(no layers) Tags: meta:latest',
    '',
  ].join('\n'));
});

test('`only` keeps the branches leading to the chosen images and names only them', () => {
  assert.equal(renderLayerTree(tree, { trunc: true, only: new Set([id('4')]) }), [
    '└─aaaaaaaaaaaa Size: 4.26MB Virtual Size: 4.26MB',
    '  └─dddddddddddd Size: 100B Virtual Size: 4.26MB Tags: web:1',
    '',
  ].join('\n'));
});

test('--no-trunc shows whole chain IDs', () => {
  const out = renderLayerTree({ Layers: [layer('e', '', 1, [{ img: '6' }])], ImagesWithoutLayers: [] }, { trunc: false });
  assert.equal(out, `└─${id('e')} Size: 1B Virtual Size: 1B Image: ${id('6')}\n`);
});
