/**
 * The live order (engine/live-order.ts), pure: paused it starts under the playhead and fills the
 * rest after the end; playing, a model at 1.3× real time keeps the separated audio ahead of the
 * playhead from the moment the playhead first reaches it to the end of a 4-minute song (a
 * simulation of the engine's scheduling: segments of the bundled Demucs' size, its lookahead rule).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { liveOrder, RegionSet, type FrameRange } from '../../src-main/engine/live-order.js';
import { evenPlacement, segmentPlan } from '../../src-main/engine/segments.js';

const SR = 44100;

function rangesOf(N: number, overlap: number, total: number): FrameRange[] {
  return segmentPlan(evenPlacement(N, overlap), N, total).map((s) => ({ from: s.start, to: Math.min(total, s.start + s.length) }));
}

test('RegionSet merges touching ranges and answers coverage', () => {
  const r = new RegionSet();
  r.add(10, 20);
  r.add(30, 40);
  assert.equal(r.covers(12, 18), true);
  assert.equal(r.covers(15, 35), false);
  r.add(20, 30);
  assert.deepEqual(r.ranges, [{ from: 10, to: 40 }]);
  assert.equal(r.covers(15, 35), true);
  assert.equal(r.frames, 30);
  assert.equal(r.has(40), false);
});

test('paused: the segment under the playhead first, on to the end, then from the start', () => {
  const ranges = rangesOf(1000, 0.25, 10_000);
  const started = new Set<number>();
  assert.deepEqual(liveOrder(ranges, (k) => started.has(k), 0, 0).slice(0, 3), [0, 1, 2]);
  const order = liveOrder(ranges, (k) => started.has(k), 6100, 0);
  // segments 7 (5250–6250) and 8 (6000–7000) both cover 6100: the earlier first
  assert.deepEqual(order.slice(0, 3), [7, 8, 9]);
  assert.deepEqual(order.slice(order.indexOf(0)), [0, 1, 2, 3, 4, 5, 6], 'the ones behind the playhead last, in order');
  for (const k of [7, 8]) started.add(k);
  assert.equal(liveOrder(ranges, (k) => started.has(k), 6100, 0)[0], 9);
});

test('playing: the work goes where it will be done before the playhead gets there', () => {
  const ranges = rangesOf(1000, 0.25, 20_000);
  // nothing started, playhead at 0, a segment takes 1600 frames of playback: 0 and 1 would come too late
  const order = liveOrder(ranges, () => false, 0, 1600);
  const first = ranges[order[0]];
  assert.ok(Math.max(first.from, ranges[order[0] - 1].to) >= 1600, `first region starts at ${first.from}`);
  assert.deepEqual(order.slice(-2), [0, 1].filter((k) => !order.slice(0, -2).includes(k)), 'the skipped ones after the rest');
});

/**
 * The engine's scheduling against a listener playing from the drop, simulated: one model server
 * doing one segment every `stride / SR / speed` seconds, `depth` segments in flight, the order
 * decided by liveOrder with the engine's lookahead ((in flight + 1) · seconds per segment · 1.25).
 * Returns the time the playhead first reached separated audio and the seconds of playback after
 * that which were not separated.
 */
function simulate(speed: number, depth: number, seconds = 240): { enteredAt: number; unseparatedAfter: number; order: number[] } {
  const N = 132300;
  const total = seconds * SR;
  const ranges = rangesOf(N, 0.25, total);
  const stride = ranges[1].from - ranges[0].from;
  const perSegment = stride / SR / speed;
  const state = new Uint8Array(ranges.length); // 0 waiting, 1 running, 2 done
  const doneAt = new Float64Array(ranges.length).fill(Infinity);
  const order: number[] = [];
  let serverFree = 0;
  const inflight: { k: number; at: number }[] = [];
  let now = 0;
  while (state.some((s) => s !== 2)) {
    while (inflight.length < depth) {
      const lookahead = (inflight.length + 1) * perSegment * SR * 1.25;
      const next = liveOrder(ranges, (k) => state[k] !== 0, Math.min(total, now * SR), lookahead)[0];
      if (next === undefined) break;
      state[next] = 1;
      order.push(next);
      serverFree = Math.max(serverFree, now) + perSegment;
      inflight.push({ k: next, at: serverFree });
    }
    inflight.sort((a, b) => a.at - b.at);
    const first = inflight.shift()!;
    now = first.at;
    state[first.k] = 2;
    doneAt[first.k] = first.at;
  }
  // a frame is final once every segment covering it is done
  const finalAt = (x: number) => {
    let t = 0;
    for (let k = 0; k < ranges.length; k++) if (ranges[k].from <= x && x < ranges[k].to) t = Math.max(t, doneAt[k]);
    return t;
  };
  let enteredAt = Infinity;
  let unseparatedAfter = 0;
  const step = 0.01;
  for (let t = 0; t < seconds; t += step) {
    const separated = finalAt(Math.floor(t * SR)) <= t;
    if (separated && enteredAt === Infinity) enteredAt = t;
    else if (!separated && enteredAt !== Infinity) unseparatedAfter += step;
  }
  return { enteredAt, unseparatedAfter, order };
}

test('a model at 1.3× real time: once the playhead reaches separated audio it never hears unseparated audio again (4-minute song)', () => {
  for (const depth of [1, 2]) {
    const r = simulate(1.3, depth);
    assert.ok(r.enteredAt < 10, `depth ${depth}: separated audio from ${r.enteredAt.toFixed(2)} s`);
    assert.equal(r.unseparatedAfter, 0, `depth ${depth}: ${r.unseparatedAfter.toFixed(2)} s of unseparated audio after ${r.enteredAt.toFixed(2)} s`);
    console.log(`# 1.3× real time, depth ${depth}: the mixture plays for the first ${r.enteredAt.toFixed(2)} s, then only separated audio`);
  }
  // the plain order (from the start, no lookahead) would keep catching up with the separated edge
  const naive = (() => {
    const N = 132300;
    const total = 240 * SR;
    const ranges = rangesOf(N, 0.25, total);
    const per = (ranges[1].from - ranges[0].from) / SR / 1.3;
    // segment k is done at (k + 1) · per; frame x is final when the last segment covering it is
    let unsep = 0;
    let entered = false;
    for (let t = 0; t < 240; t += 0.01) {
      const x = Math.floor(t * SR);
      let last = 0;
      ranges.forEach((r, k) => r.from <= x && x < r.to && (last = k));
      const ok = (last + 1) * per <= t;
      if (ok) entered = true;
      else if (entered) unsep += 0.01;
    }
    return unsep;
  })();
  assert.ok(naive > 0, 'the simulation can tell: a plain sequential order plays unseparated audio again after the first region');
});
