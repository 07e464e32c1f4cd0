import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkExporters } from '../../../src/api/grpc/exporters.js';
import { attachSource, sourceDetails } from '../../../src/buildkit/error-source.js';
import { BuildStepError } from '../../../src/build/errors.js';
import { parseDockerfile } from '../../../src/build/parser/index.js';

test('exporters: what buildx sends is accepted; other types and attributes are refused by name', () => {
  checkExporters([{ Type: 'moby', Attrs: { name: 'docker.io/library/x:1' } }]);
  checkExporters([{ Type: 'moby', Attrs: { name: '127.0.0.1:5000/x:1', push: 'true' } }]);
  checkExporters([{ Type: 'docker', Attrs: { name: 'x:1' } }, { Type: 'oci', Attrs: { tar: 'true' } }, { Type: 'local', Attrs: {} }, { Type: 'tar', Attrs: {} }]);
  const refused = (e: { Type: string; Attrs: Record<string, string> }, re: RegExp, kind = 'NotImplemented') =>
    assert.throws(() => checkExporters([e]), (err: Error & { kind?: string }) => { assert.equal(err.kind, kind); assert.match(err.message, re); return true; });
  refused({ Type: 'registry', Attrs: {} }, /exporter "registry" is not supported/);
  refused({ Type: 'moby', Attrs: { compression: 'zstd' } }, /exporter moby: attribute "compression" is not supported/);
  refused({ Type: 'oci', Attrs: { tar: 'false' } }, /exporter oci: tar=false is not supported/);
  refused({ Type: 'moby', Attrs: { push: 'maybe', name: 'x' } }, /invalid value "maybe" for push/, 'InvalidParameter');
  refused({ Type: 'image', Attrs: { push: 'true' } }, /tag is needed when pushing to registry/, 'InvalidParameter');
  refused({ Type: 'local', Attrs: { 'platform-split': 'true' } }, /attribute "platform-split" is not supported/);
});

test('error source: a Dockerfile error carries BuildKit\'s errdefs.Source detail with its lines', () => {
  const text = Buffer.from('FROM busybox\nRUN echo \\\n  x\nCOPY onlyone\n');
  let err: unknown;
  try { parseDockerfile(text.toString()); } catch (e) { err = e; }
  assert.deepEqual(sourceDetails(err), [], 'nothing without the Dockerfile attached');
  const d = sourceDetails(attachSource(err, 'Dockerfile', text));
  assert.equal(d.length, 1);
  assert.equal(d[0].type_url, 'github.com/moby/buildkit/errdefs.Source+json');
  const v = JSON.parse(d[0].value.toString());
  assert.equal(Buffer.from(v.info.data, 'base64').toString(), text.toString());
  assert.equal(v.info.filename, 'Dockerfile');
  assert.deepEqual(v.ranges, [{ start: { line: 4 }, end: { line: 4 } }]);
  // A step's error: the line of the step, found through the cause chain.
  const step = attachSource(new Error('wrapped', { cause: new BuildStepError('Dockerfile', 2, new Error('boom')) }), 'Dockerfile', text);
  assert.deepEqual(JSON.parse(sourceDetails(step)[0].value.toString()).ranges, [{ start: { line: 2 }, end: { line: 2 } }]);
});
