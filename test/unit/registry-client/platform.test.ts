import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compatiblePlatforms, defaultPlatform, formatPlatform, normalizePlatform, parsePlatform, selectManifest, type PlatformDescriptor,
} from '../../../src/registry/client/platform.js';
import { NotFoundError, InvalidParameterError } from '../../../src/errors.js';

const entry = (digest: string, os: string, architecture: string, variant?: string): PlatformDescriptor =>
  ({ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest, size: 1, platform: variant ? { os, architecture, variant } : { os, architecture } });

test('--platform parsing and normalisation', () => {
  assert.deepEqual(parsePlatform('linux/amd64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/arm64/v8'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('linux/arm'), { os: 'linux', architecture: 'arm', variant: 'v7' });
  assert.deepEqual(parsePlatform('Linux/ARM/6'), { os: 'linux', architecture: 'arm', variant: 'v6' });
  assert.deepEqual(parsePlatform('linux/x86_64'), { os: 'linux', architecture: 'amd64' });
  assert.deepEqual(parsePlatform('linux/aarch64'), { os: 'linux', architecture: 'arm64' });
  assert.deepEqual(parsePlatform('linux'), defaultPlatform(), 'an OS alone means this host architecture');
  assert.throws(() => parsePlatform('linux/amd64/v2/x'), InvalidParameterError);
  assert.throws(() => parsePlatform('plan10/amd64'), /unknown operating system "plan10"/);
  assert.throws(() => parsePlatform('linux/z80'), /unknown architecture "z80"/);
  assert.throws(() => parsePlatform('linux//v7'), InvalidParameterError);
});

test('formatting and the default platform here', () => {
  assert.equal(formatPlatform({ os: 'linux', architecture: 'arm', variant: 'v7' }), 'linux/arm/v7');
  assert.equal(formatPlatform(defaultPlatform()), process.arch === 'x64' ? 'linux/amd64' : formatPlatform(defaultPlatform()));
  assert.deepEqual(normalizePlatform({ os: 'linux', architecture: 'armhf' }), { os: 'linux', architecture: 'arm', variant: 'v7' });
});

test('exact match wins; the first of equal entries is taken', () => {
  const list = [entry('sha256:arm', 'linux', 'arm64', 'v8'), entry('sha256:amd', 'linux', 'amd64'), entry('sha256:amd2', 'linux', 'amd64')];
  assert.equal(selectManifest(list, { os: 'linux', architecture: 'amd64' }).digest, 'sha256:amd');
  assert.equal(selectManifest(list, { os: 'linux', architecture: 'arm64' }).digest, 'sha256:arm', 'arm64 entry with v8 matches arm64');
});

test('arm variants: v7 takes v7 over v6, falls back to v6 then v5, never v8', () => {
  const list = [entry('sha256:v5', 'linux', 'arm', 'v5'), entry('sha256:v6', 'linux', 'arm', 'v6'), entry('sha256:v7', 'linux', 'arm', 'v7'), entry('sha256:v8', 'linux', 'arm', 'v8')];
  assert.equal(selectManifest(list, parsePlatform('linux/arm/v7')).digest, 'sha256:v7');
  assert.equal(selectManifest(list.slice(0, 2), parsePlatform('linux/arm/v7')).digest, 'sha256:v6');
  assert.equal(selectManifest(list.slice(0, 1), parsePlatform('linux/arm/v6')).digest, 'sha256:v5');
  assert.throws(() => selectManifest([list[3]], parsePlatform('linux/arm/v7')), NotFoundError);
  assert.equal(selectManifest([entry('sha256:bare', 'linux', 'arm')], parsePlatform('linux/arm/v7')).digest, 'sha256:bare', 'no variant on arm means v7');
});

test('arm64 falls back to 32-bit arm; amd64 to 386; windows never matches linux', () => {
  assert.equal(selectManifest([entry('sha256:a7', 'linux', 'arm', 'v7')], parsePlatform('linux/arm64')).digest, 'sha256:a7');
  assert.equal(selectManifest([entry('sha256:i', 'linux', '386'), entry('sha256:w', 'windows', 'amd64')], parsePlatform('linux/amd64')).digest, 'sha256:i');
  assert.deepEqual(compatiblePlatforms(parsePlatform('linux/amd64')).map(formatPlatform), ['linux/amd64', 'linux/386']);
  assert.deepEqual(compatiblePlatforms(parsePlatform('linux/amd64/v3')).map(formatPlatform), ['linux/amd64/v3', 'linux/amd64/v2', 'linux/amd64', 'linux/386']);
});

test('no match: Docker\'s message; entries without platform (attestations) are skipped', () => {
  const list = [entry('sha256:arm', 'linux', 'arm64'), { mediaType: 'x', digest: 'sha256:att', size: 1, platform: { os: 'unknown', architecture: 'unknown' } }, { digest: 'sha256:none', size: 1 }];
  assert.throws(() => selectManifest(list, { os: 'linux', architecture: 'amd64' }),
    (e: unknown) => e instanceof NotFoundError && e.message === 'no matching manifest for linux/amd64 in the manifest list entries');
  assert.throws(() => selectManifest([], parsePlatform('linux/arm/v7')), /no matching manifest for linux\/arm\/v7 in the manifest list entries/);
});
