/**
 * The ETA at the start of a job comes from measured speed (issue 14.9): an 11-s song never reads
 * "13 min left" because its first segment also loaded the model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtaEstimator, measuredSpeed } from '../../src-main/host/eta.js';

// The reported case: the first progress after 1.5 s (model loading) at 0.19 % done.
const first = { fraction: 0.0019, elapsed: 1.5 };

test('an 11-s song with a model measured at 8× real time here: about 1.4 s, not 13 min', () => {
  const speed = measuredSpeed(
    [
      { model: 'm', durationSeconds: 200, seconds: 25 },
      { model: 'other', durationSeconds: 10, seconds: 100 },
      { model: 'm', durationSeconds: 40, seconds: 5 },
    ],
    'm',
  );
  assert.equal(speed, 8);
  const eta = new EtaEstimator(11 / speed!).eta(first.fraction, first.elapsed);
  const linear = (first.elapsed / first.fraction) * (1 - first.fraction);
  assert.ok(linear > 13 * 60, 'the extrapolation the engine reports');
  assert.ok(eta !== null && eta < 5, `eta ${eta}`);
});

test('nothing measured yet: "estimating" (null) at first, then the running rate', () => {
  const e = new EtaEstimator(null);
  assert.equal(e.eta(first.fraction, first.elapsed), null);
  assert.equal(e.eta(0.5, 10), 10);
});

test("a manifest's realtimeFactor is a start the running rate soon replaces; done is 0", () => {
  const e = new EtaEstimator(11 / 20, false); // manifest: 20× real time, this machine 4× slower
  assert.ok(e.eta(first.fraction, first.elapsed)! < 1);
  const late = e.eta(0.6, 1.65)!; // the measured rate: 2.75 s in all
  assert.ok(Math.abs(late - 1.1) < 0.01, `late ${late}`);
  assert.equal(e.eta(1, 3), 0);
});
