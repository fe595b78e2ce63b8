/**
 * Waveform peaks: parsed from the song's precomputed peaks.bin (layout in contract.ts,
 * `PeaksInfoSchema`), or computed from a decoded AudioBuffer when a song has none.
 * One level = int8 (min, max) pairs, scaled by 127, one pair per `spp` frames.
 */
import { parsePeaks } from '$api/peaks.js';

export interface PeakLevel {
  /** Frames per (min, max) pair. */
  spp: number;
  /** Interleaved min, max; length 2·ceil(frames/spp). */
  data: Int8Array;
}

export interface StemPeaks {
  sampleRate: number;
  frames: number;
  /** Finest first (ascending spp). */
  levels: PeakLevel[];
}

/** Parses peaks.bin (src-main/api/peaks.ts) into one StemPeaks per stem (in the order of song.stems). */
export function parsePeaksBin(buf: ArrayBuffer): StemPeaks[] {
  const p = parsePeaks(buf);
  return p.stems.map((levels) => ({
    sampleRate: p.sampleRate,
    frames: p.frames,
    levels: levels.map((l) => ({ spp: l.samplesPerPeak, data: l.data })).sort((a, b) => a.spp - b.spp),
  }));
}

/** Computes peaks from decoded audio (fallback when the song has no peaks.bin). */
export function peaksFromBuffer(buffer: AudioBuffer, spps: number[] = [256, 2048, 16384], gain = 1): StemPeaks {
  const frames = buffer.length;
  const chans = Array.from({ length: buffer.numberOfChannels }, (_, c) => buffer.getChannelData(c));
  const levels: PeakLevel[] = [];
  const base = spps[0];
  const n0 = Math.ceil(frames / base);
  const d0 = new Int8Array(n0 * 2);
  for (let i = 0; i < n0; i++) {
    let lo = 0;
    let hi = 0;
    const end = Math.min(frames, (i + 1) * base);
    for (const ch of chans)
      for (let j = i * base; j < end; j++) {
        const v = ch[j];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    d0[2 * i] = Math.max(-127, Math.round(lo * gain * 127));
    d0[2 * i + 1] = Math.min(127, Math.round(hi * gain * 127));
  }
  levels.push({ spp: base, data: d0 });
  for (const spp of spps.slice(1)) {
    const k = spp / base;
    const n = Math.ceil(frames / spp);
    const d = new Int8Array(n * 2);
    for (let i = 0; i < n; i++) {
      let lo = 0;
      let hi = 0;
      for (let j = i * k; j < Math.min(n0, (i + 1) * k); j++) {
        lo = Math.min(lo, d0[2 * j]);
        hi = Math.max(hi, d0[2 * j + 1]);
      }
      d[2 * i] = lo;
      d[2 * i + 1] = hi;
    }
    levels.push({ spp, data: d });
  }
  return { sampleRate: buffer.sampleRate, frames, levels };
}

/** Largest |value| of the coarsest level (0…127). */
export function peakMax(p: StemPeaks): number {
  const coarse = p.levels[p.levels.length - 1];
  let m = 0;
  if (coarse) for (const v of coarse.data) m = Math.max(m, Math.abs(v));
  return m;
}

/** Display peaks of a quiet stem, normalised (int8 peaks of a stem below ~−16 dBFS look blocky). */
export function normalisedPeaks(buffer: AudioBuffer): StemPeaks {
  let max = 0;
  for (let c = 0; c < buffer.numberOfChannels; c++) for (const v of buffer.getChannelData(c)) max = Math.max(max, Math.abs(v));
  return peaksFromBuffer(buffer, undefined, max > 0 ? Math.min(256, 1 / max) : 1);
}

/**
 * Min/max per pixel column for the time window [t0, t1) at `width` pixels, from the coarsest
 * level that still has at least one pair per pixel. Values in −1…1.
 */
export function columns(peaks: StemPeaks, t0: number, t1: number, width: number): { min: Float32Array; max: Float32Array } {
  const min = new Float32Array(width);
  const max = new Float32Array(width);
  if (width <= 0 || t1 <= t0 || peaks.levels.length === 0) return { min, max };
  const framesPerPx = ((t1 - t0) * peaks.sampleRate) / width;
  let level = peaks.levels[0];
  for (const l of peaks.levels) if (l.spp <= framesPerPx) level = l;
  const pairs = level.data.length / 2;
  for (let x = 0; x < width; x++) {
    const f0 = (t0 + ((t1 - t0) * x) / width) * peaks.sampleRate;
    const f1 = (t0 + ((t1 - t0) * (x + 1)) / width) * peaks.sampleRate;
    let i0 = Math.floor(f0 / level.spp);
    const i1 = Math.max(i0 + 1, Math.ceil(f1 / level.spp));
    let lo = 0;
    let hi = 0;
    for (; i0 < i1 && i0 < pairs; i0++) {
      if (i0 < 0) continue;
      const a = level.data[2 * i0];
      const b = level.data[2 * i0 + 1];
      if (a < lo) lo = a;
      if (b > hi) hi = b;
    }
    min[x] = lo / 127;
    max[x] = hi / 127;
  }
  return { min, max };
}
