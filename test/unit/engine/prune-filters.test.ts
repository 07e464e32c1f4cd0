import { test } from 'node:test';
import assert from 'node:assert/strict';
import { filterTime, prunable, pruneFilters } from '../../../src/engine/prune-filters.js';
import { InvalidParameterError } from '../../../src/errors.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');

test('until: a Go duration counts back from now; unix seconds and RFC 3339 are points in time', () => {
  assert.equal(filterTime('24h', NOW), NOW - 86_400_000);
  assert.equal(filterTime('1h30m', NOW), NOW - 5_400_000);
  assert.equal(filterTime('1700000000', NOW), 1_700_000_000_000);
  assert.equal(filterTime('1700000000.5', NOW), 1_700_000_000_500);
  assert.equal(filterTime('2026-11-01T00:00:00Z', NOW), Date.parse('2026-11-01T00:00:00Z'));
  assert.throws(() => filterTime('yesterday', NOW), InvalidParameterError);
});

test('filters: unknown keys and two untils are refused; extra keys pass', () => {
  assert.throws(() => pruneFilters({ colour: ['red'] }), /invalid filter 'colour'/);
  assert.throws(() => pruneFilters({ until: ['1h', '2h'] }), /more than one until/);
  assert.throws(() => pruneFilters({ until: ['abc'] }), { message: 'failed to parse value as time or duration: "abc"' });
  assert.deepEqual(pruneFilters({ dangling: ['true'] }, ['dangling']), { until: undefined, label: [], notLabel: [] });
});

test('prunable: created strictly before until, every label present, no label! present', () => {
  const f = pruneFilters({ until: ['1700000000'], label: ['env=prod', 'team'], 'label!': ['keep'] });
  const old = 1_699_999_999_000;
  assert.equal(prunable(f, old, { env: 'prod', team: 'x' }), true);
  assert.equal(prunable(f, 1_700_000_000_000, { env: 'prod', team: 'x' }), false);
  assert.equal(prunable(f, old, { env: 'dev', team: 'x' }), false);
  assert.equal(prunable(f, old, { env: 'prod' }), false);
  assert.equal(prunable(f, old, { env: 'prod', team: 'x', keep: '' }), false);
  assert.equal(prunable(pruneFilters({}), old, null), true);
});
