/** Sizes, durations and rational numbers parsed and printed the way Docker's go-units and Go's time do. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGoDuration, fromHumanSize, parseGoDuration, parseNanoCpus, ramInBytes } from '../../../src/cli/opts/units.js';
import { bytesSize, formatG, humanDuration, humanSize, humanSizeWithPrecision, timeAgo } from '../../../src/cli/format/units.js';
import { getTimestamp } from '../../../src/cli/opts/timestamp.js';

test('RAMInBytes: binary units, b/ib suffixes, Docker error text', () => {
  assert.equal(ramInBytes('64m'), 67108864);
  assert.equal(ramInBytes('1g'), 1073741824);
  assert.equal(ramInBytes('1.5k'), 1536);
  assert.equal(ramInBytes('10MiB'), 10485760);
  assert.equal(ramInBytes('10mb'), 10485760);
  assert.equal(ramInBytes('512'), 512);
  assert.equal(ramInBytes('32 kb'), 32768);
  assert.throws(() => ramInBytes('foo'), { message: "invalid size: 'foo'" });
  assert.throws(() => ramInBytes('10x'), { message: "invalid suffix: 'x'" });
  assert.throws(() => ramInBytes('-1'), { message: "invalid size: '-1'" });
  assert.equal(fromHumanSize('1kB'), 1000);
});

test('Go durations', () => {
  assert.equal(parseGoDuration('10m'), 600e9);
  assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
  assert.equal(parseGoDuration('250ms'), 250e6);
  assert.equal(parseGoDuration('0'), 0);
  assert.throws(() => parseGoDuration('10'), /missing unit in duration "10"/);
  assert.throws(() => parseGoDuration('5y'), /unknown unit "y" in duration "5y"/);
  assert.equal(formatGoDuration(0), '0s');
  assert.equal(formatGoDuration(90e9), '1m30s');
  assert.equal(formatGoDuration(3600e9), '1h0m0s');
  assert.equal(formatGoDuration(1.5e9), '1.5s');
});

test('--cpus as nano CPUs', () => {
  assert.equal(parseNanoCpus('0.5'), 500_000_000);
  assert.equal(parseNanoCpus('2'), 2_000_000_000);
  assert.equal(parseNanoCpus('.25'), 250_000_000);
  assert.throws(() => parseNanoCpus('0.0000000001'), /value is too precise/);
});

test('human sizes: decimal units, three or four significant digits', () => {
  assert.equal(humanSizeWithPrecision(4_261_632, 3), '4.26MB');
  assert.equal(humanSizeWithPrecision(0, 3), '0B');
  assert.equal(humanSizeWithPrecision(999, 3), '999B');
  assert.equal(humanSizeWithPrecision(1_234_567_890, 3), '1.23GB');
  assert.equal(humanSizeWithPrecision(7_000_000, 3), '7MB');
  assert.equal(humanSizeWithPrecision(999_999, 3), '1e+03kB');
  assert.equal(humanSize(2048), '2.048kB');
  assert.equal(humanSize(4_261_632), '4.262MB');
  assert.equal(bytesSize(9_437_184), '9MiB');
  assert.equal(bytesSize(8_000_000_000), '7.451GiB');
  assert.equal(formatG(0.000012, 3), '1.2e-05');
});

test('human durations like go-units', () => {
  assert.equal(humanDuration(500), 'Less than a second');
  assert.equal(humanDuration(1000), '1 second');
  assert.equal(humanDuration(45_000), '45 seconds');
  assert.equal(humanDuration(90_000), 'About a minute');
  assert.equal(humanDuration(5 * 60_000), '5 minutes');
  assert.equal(humanDuration(60 * 60_000), 'About an hour');
  assert.equal(humanDuration(2 * 3600_000), '2 hours');
  assert.equal(humanDuration(3 * 86400_000), '3 days');
  assert.equal(humanDuration(20 * 86400_000), '2 weeks');
  assert.equal(humanDuration(90 * 86400_000), '3 months');
  assert.equal(humanDuration(800 * 86400_000), '2 years');
  assert.equal(timeAgo(1000, 1000 * 1000 + 3_000), '3 seconds ago');
});

test('--since values: durations, RFC 3339 and unix seconds', () => {
  const now = new Date('2024-01-01T12:00:00Z');
  assert.equal(getTimestamp('10m', now), String(Date.parse('2024-01-01T11:50:00Z') / 1000));
  assert.equal(getTimestamp('2024-01-01T10:00:00Z', now), `${Date.parse('2024-01-01T10:00:00Z') / 1000}.000000000`);
  assert.equal(getTimestamp('2024-01-01T10:00:00.5+01:00', now), `${Date.parse('2024-01-01T09:00:00Z') / 1000}.500000000`);
  assert.equal(getTimestamp('1700000000', now), '1700000000');
  assert.equal(getTimestamp('1700000000.123', now), '1700000000.123');
  assert.throws(() => getTimestamp('yesterday', now), /failed to parse value as time or duration: "yesterday"/);
});
