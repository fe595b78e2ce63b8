/** Issue 14 polish: the zoomed ruler keeps the tick step's decimals; sizes read as the CLI prints them. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatBytes, formatTick } from '../../src-renderer/lib/format.js';

test('ruler labels keep the step: 0:03.75, not 0:03.8', () => {
  assert.equal(formatTick(3.75, 0.25), '0:03.75');
  assert.equal(formatTick(3.5, 0.5), '0:03.5');
  assert.equal(formatTick(3.7000000001, 0.1), '0:03.7');
  assert.equal(formatTick(65, 5), '1:05');
  assert.equal(formatTick(59.75, 0.25), '0:59.75');
});

test('model sizes in decimal MB like the CLI (HTDemucs: 304.4 MB in both, not 290 MB)', () => {
  assert.equal(formatBytes(304_400_000), '304.4 MB');
  assert.equal(formatBytes(1_600_000_000), '1.6 GB');
  assert.equal(formatBytes(512), '512 B');
});
