/**
 * The live mixer's region bookkeeping (src-renderer/lib/mixer-session-live.ts): addRange keeps the
 * separated regions as sorted, disjoint, merged [from, to) ranges whatever order they arrive in,
 * missingParts gives exactly the parts of a range not covered — both checked against a plain
 * frame-by-frame model on thousands of random cases — and LiveAudio's fill (the mixture played
 * where the stems are not separated) stays silent wherever a region was separated, in either order
 * of arrival.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addRange, LiveAudio, missingParts } from '../../src-renderer/lib/mixer-session-live.js';
import type { JobLive } from '../../src-main/api/contract.js';

type Ranges = [number, number][];

/** Deterministic pseudo-random integers in [0, n). */
function rng(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

/** The frames a list of ranges covers, as a bitmap of `size` frames. */
function covered(ranges: Ranges, size: number): boolean[] {
  const on = new Array<boolean>(size).fill(false);
  for (const [a, b] of ranges) for (let f = a; f < b; f++) on[f] = true;
  return on;
}

/** The runs of `true` in a bitmap between `from` and `to`: the canonical ranges of what it covers. */
function runs(on: boolean[], from = 0, to = on.length, value = true): Ranges {
  const out: Ranges = [];
  for (let f = from; f < to; f++) {
    if (on[f] !== value) continue;
    if (out.length && out[out.length - 1][1] === f) out[out.length - 1][1] = f + 1;
    else out.push([f, f + 1]);
  }
  return out;
}

test('addRange: a few cases by hand — apart, touching, inside, around, bridging several', () => {
  assert.deepEqual(addRange([], 10, 20), [[10, 20]]);
  assert.deepEqual(addRange([[10, 20]], 30, 40), [[10, 20], [30, 40]]);
  assert.deepEqual(addRange([[30, 40]], 10, 20), [[10, 20], [30, 40]], 'sorted when added before');
  assert.deepEqual(addRange([[10, 20]], 20, 30), [[10, 30]], 'touching at the end: one range');
  assert.deepEqual(addRange([[20, 30]], 10, 20), [[10, 30]], 'touching at the start: one range');
  assert.deepEqual(addRange([[10, 40]], 15, 25), [[10, 40]], 'inside: unchanged');
  assert.deepEqual(addRange([[15, 25]], 10, 40), [[10, 40]], 'around: replaced');
  assert.deepEqual(addRange([[0, 5], [10, 15], [20, 25], [40, 50]], 12, 22), [[0, 5], [10, 25], [40, 50]], 'bridging two, the others kept');
  assert.deepEqual(addRange([[0, 5], [10, 15], [20, 25]], 5, 20), [[0, 25]], 'filling both gaps exactly');
});

test('missingParts: a few cases by hand', () => {
  assert.deepEqual(missingParts([], [0, 100]), [[0, 100]]);
  assert.deepEqual(missingParts([[0, 100]], [10, 20]), []);
  assert.deepEqual(missingParts([[10, 20], [30, 40]], [0, 50]), [[0, 10], [20, 30], [40, 50]]);
  assert.deepEqual(missingParts([[10, 20], [30, 40]], [15, 35]), [[20, 30]]);
  assert.deepEqual(missingParts([[10, 20]], [20, 30]), [[20, 30]], 'a region ending where the range starts covers none of it');
  assert.deepEqual(missingParts([[10, 20]], [0, 10]), [[0, 10]]);
});

test('addRange and missingParts = the frame-by-frame model, for random regions in random order', () => {
  const size = 120;
  const rand = rng(15);
  for (let round = 0; round < 2000; round++) {
    let have: Ranges = [];
    const added: Ranges = [];
    for (let k = 0, n = 1 + rand(8); k < n; k++) {
      const a = rand(size);
      const b = Math.min(size, a + 1 + rand(30));
      have = addRange(have, a, b);
      added.push([a, b]);
      const want = runs(covered(added, size));
      assert.deepEqual(have, want, `after adding ${JSON.stringify(added)}: sorted, disjoint, touching ranges merged`);
    }
    const from = rand(size);
    const to = Math.min(size, from + rand(60));
    const on = covered(have, size);
    assert.deepEqual(missingParts(have, [from, to]), runs(on, from, to, false), `missing of [${from}, ${to}) in ${JSON.stringify(have)}`);
  }
});

/** The parts of AudioBuffer that LiveAudio uses, in memory. */
class FakeBuffer {
  readonly data: Float32Array[];
  constructor(
    readonly numberOfChannels: number,
    readonly length: number,
  ) {
    this.data = Array.from({ length: numberOfChannels }, () => new Float32Array(length));
  }
  copyToChannel(src: Float32Array, channel: number, at = 0): void {
    this.data[channel].set(src.subarray(0, Math.max(0, this.length - at)), at);
  }
}
const fakeContext = { createBuffer: (channels: number, frames: number) => new FakeBuffer(channels, frames) } as unknown as BaseAudioContext;

test('LiveAudio: the fill plays the mixture only where no region is separated, whichever arrives first', () => {
  const frames = 1000;
  const live = {
    sampleRate: 44100,
    channels: 2,
    frames,
    mixture: { ref: { root: 'live', path: 'j/mixture.f32' }, frames: 0, done: false },
    stems: [
      { name: 'vocals', ref: { root: 'live', path: 'j/stem0.f32' } },
      { name: 'other', ref: { root: 'live', path: 'j/stem1.f32' } },
    ],
    regions: [],
    separating: null,
  } as JobLive;
  const planes = (from: number, to: number, v: number) => [0, 1].map((c) => Float32Array.from({ length: to - from }, (_, i) => v + c + (from + i) / 1e4));
  const audio = new LiveAudio(fakeContext, live, frames);
  audio.addMixture(0, planes(0, 300, 1)); // a prefix of the mixture
  audio.addRegion(200, [planes(200, 500, 5), planes(200, 500, 7)]); // a region reaching past it
  audio.addMixture(300, planes(300, 1000, 1)); // the rest of the mixture, after the region
  audio.addRegion(600, [planes(600, 700, 5), planes(600, 700, 7)]);
  assert.deepEqual(audio.separated, [[200, 500], [600, 700]]);
  assert.equal(audio.mixtureLoaded, 1000);
  const fill = (audio.fill as unknown as FakeBuffer).data;
  const stem0 = (audio.stems[0] as unknown as FakeBuffer).data;
  for (let f = 0; f < frames; f++) {
    const separated = (f >= 200 && f < 500) || (f >= 600 && f < 700);
    for (let c = 0; c < 2; c++) {
      assert.equal(fill[c][f], separated ? 0 : Math.fround(1 + c + f / 1e4), `fill, channel ${c}, frame ${f}`);
      assert.equal(stem0[c][f], separated ? Math.fround(5 + c + f / 1e4) : 0, `stem, channel ${c}, frame ${f}`);
    }
  }
});
