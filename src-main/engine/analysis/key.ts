/**
 * Musical key of a song from its mixture: a chromagram of spectral peaks correlated with the
 * Krumhansl–Kessler major and minor key profiles (Krumhansl 1990), the best of the 24 keys.
 *
 * Chroma: 16384-point frames (0.37 s at 44.1 kHz, 2.7 Hz bins: finer than a semitone from
 * ~65 Hz up), hop 8192; each local spectral maximum between 65 Hz and 2.1 kHz adds its magnitude to
 * its nearest pitch class (A4 = 440 Hz); each frame is normalised to sum 1 so loud passages do not
 * outvote the rest. Shapes: mono Float32Array [frames] at `sampleRate` Hz.
 */
import { MagnitudeFramer } from './spectrum.js';

export interface KeyEstimate {
  /** e.g. "A minor", "Eb major". */
  name: string;
  /** Pitch class of the tonic, 0 = C … 11 = B. */
  tonic: number;
  mode: 'major' | 'minor';
  /** Pearson correlation of the chroma with the chosen key's profile (−1…1). */
  confidence: number;
}

export const PITCH_NAMES = ['C', 'C#', 'D', 'Eb', 'E', 'F', 'F#', 'G', 'Ab', 'A', 'Bb', 'B'] as const;
const MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88];
const MINOR = [6.33, 2.68, 3.52, 5.38, 2.6, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17];

const N_FFT = 16384;
const HOP = 8192;
const F_MIN = 65;
const F_MAX = 2100;
/** Peaks more than 50 dB below the frame's loudest one are noise. */
const PEAK_FLOOR = 10 ** (-50 / 20);

/** Summed chroma of a mono signal that arrives in chunks (push, then finish). */
export class ChromaTracker {
  private constructor(
    private readonly framer: MagnitudeFramer,
    private readonly total: Float64Array,
  ) {}

  static async create(sampleRate: number): Promise<ChromaTracker> {
    const lo = Math.max(2, Math.ceil((F_MIN * N_FFT) / sampleRate));
    const hi = Math.min(N_FFT / 2 - 1, Math.floor((F_MAX * N_FFT) / sampleRate));
    const pcOfBin = new Int8Array(hi + 1);
    for (let k = lo; k <= hi; k++) {
      const midi = 69 + 12 * Math.log2((k * sampleRate) / N_FFT / 440);
      pcOfBin[k] = ((Math.round(midi) % 12) + 12) % 12;
    }
    const total = new Float64Array(12);
    const frame = new Float64Array(12);
    const framer = await MagnitudeFramer.create(N_FFT, HOP, (_t, mag) => {
      let top = 0;
      for (let k = lo; k <= hi; k++) if (mag[k] > top) top = mag[k];
      if (top < 1e-4) return; // silence (the unscaled FFT of a -80 dBFS sine peaks near 1e-4·N/4)
      frame.fill(0);
      let sum = 0;
      for (let k = lo; k <= hi; k++) {
        const m = mag[k];
        if (m > mag[k - 1] && m >= mag[k + 1] && m > top * PEAK_FLOOR) {
          frame[pcOfBin[k]] += m;
          sum += m;
        }
      }
      if (sum > 0) for (let p = 0; p < 12; p++) total[p] += frame[p] / sum;
    });
    return new ChromaTracker(framer, total);
  }

  push(mono: Float32Array): void {
    this.framer.push(mono);
  }

  /** Summed chroma [12] (C … B), normalised to sum 1; all zero for silence. */
  finish(): Float64Array {
    this.framer.finish();
    const total = this.total.slice();
    const s = total.reduce((a, b) => a + b, 0);
    if (s > 0) for (let p = 0; p < 12; p++) total[p] /= s;
    return total;
  }
}

/** Summed chroma [12] (C … B), normalised to sum 1; all zero for silence. */
export async function chroma(mono: Float32Array, sampleRate: number): Promise<Float64Array> {
  const tracker = await ChromaTracker.create(sampleRate);
  tracker.push(mono);
  return tracker.finish();
}

function pearson(a: ArrayLike<number>, b: ArrayLike<number>, shift: number): number {
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < 12; i++) {
    ma += a[(i + shift) % 12];
    mb += b[i];
  }
  ma /= 12;
  mb /= 12;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < 12; i++) {
    const x = a[(i + shift) % 12] - ma;
    const y = b[i] - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : 0;
}

/** The best of the 24 major/minor keys for a chroma vector [12]; null when it is flat (silence). */
export function keyFromChroma(c: ArrayLike<number>): KeyEstimate | null {
  let best: KeyEstimate | null = null;
  for (let tonic = 0; tonic < 12; tonic++) {
    for (const mode of ['major', 'minor'] as const) {
      const r = pearson(c, mode === 'major' ? MAJOR : MINOR, tonic);
      if (!best || r > best.confidence) best = { name: `${PITCH_NAMES[tonic]} ${mode}`, tonic, mode, confidence: r };
    }
  }
  if (!best || best.confidence <= 0) return null;
  return { ...best, confidence: Math.round(best.confidence * 1000) / 1000 };
}

export async function estimateKey(mono: Float32Array, sampleRate: number): Promise<KeyEstimate | null> {
  return keyFromChroma(await chroma(mono, sampleRate));
}
