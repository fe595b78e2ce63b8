/**
 * Tempo (BPM) and first beat of a song from its mixture.
 *
 * Method (Ellis 2007 / librosa's beat.tempo, simplified):
 * 1. onset strength: half-wave rectified spectral flux of log(1 + |X|) (2048-point frames, hop 512
 *    at 44.1 kHz ≈ 86 frames/s; unscaled FFT), minus its local mean. Mild compression on purpose:
 *    a stronger one (log(1 + 1000·|X|)) makes quiet hi-hats count like kicks and halved an 80 BPM
 *    drum loop's period;
 * 2. its autocorrelation over lags of 40–220 BPM, weighted by a log-normal tempo prior centred on
 *    120 BPM (one octave wide) — the prior picks between a tempo and its double/half, except that
 *    a half period as strong as the period wins (evenly spaced equal onsets: the faster pulse);
 * 3. the period refined to a fraction of a frame from the autocorrelation peaks at 1–8 periods
 *    (one frame is ~2 % at 120 BPM, the accuracy asked for), and the beat phase (first beat) as the
 *    offset whose beat grid collects the most onset strength.
 * Octave errors remain possible where the music itself is ambiguous (a kick/snare loop at 150 BPM
 * reads as 75: its two-beat cycle repeats more exactly than its beat); the first beat is a beat,
 * not necessarily the bar's downbeat: that is downbeat.ts's estimate (bass onsets and harmonic
 * change by position in a 4-beat bar), from features of the same frames.
 * Shapes: mono Float32Array [frames] at `sampleRate` Hz; times in seconds.
 */
import { MagnitudeFramer } from './spectrum.js';
import { BarFeatureTracker, estimateDownbeat, type BarFeatures } from './downbeat.js';

export interface TempoEstimate {
  /** Beats per minute, rounded to 0.1. */
  bpm: number;
  /** Time of the first beat of the grid, in seconds from the start (0 ≤ t < one beat). */
  firstBeatSeconds: number;
  /** Time of the first downbeat (a 4-beat bar's first beat) in seconds, within the grid's first 4 beats; null when no bar position stands out. */
  firstDownbeatSeconds: number | null;
  /** Autocorrelation at the beat period over that at lag 0 (0…1): how periodic the onsets are. */
  confidence: number;
}

const N_FFT = 2048;
const HOP = 512;
const MIN_BPM = 40;
const MAX_BPM = 220;
const PRIOR_BPM = 120;
const PRIOR_OCTAVES = 1;
/** Below this periodicity there is no beat to speak of (a drone, speech, silence). */
const MIN_CONFIDENCE = 0.05;

/**
 * Spectral flux of a mono signal that arrives in chunks (push, then finish): the onset strength's
 * first step, one number per frame (86 per second at 44.1 kHz), so a song is never held whole.
 */
export class OnsetTracker {
  private flux = new Float32Array(4096);
  private frames = 0;

  private constructor(
    private readonly framer: MagnitudeFramer,
    private readonly bar: BarFeatureTracker,
    readonly sampleRate: number,
  ) {}

  static async create(sampleRate: number): Promise<OnsetTracker> {
    const maxBin = Math.min(N_FFT / 2, Math.round((11000 * N_FFT) / sampleRate));
    const prev = new Float32Array(maxBin + 1);
    let tracker: OnsetTracker | null = null;
    // the downbeat's features come from the same frames (downbeat.ts)
    const bar = new BarFeatureTracker(N_FFT, sampleRate);
    const framer = await MagnitudeFramer.create(N_FFT, HOP, (t, mag) => {
      let s = 0;
      for (let k = 1; k <= maxBin; k++) {
        const v = Math.log1p(mag[k]);
        if (t > 0 && v > prev[k]) s += v - prev[k];
        prev[k] = v;
      }
      tracker!.add(s);
      bar.add(t, mag);
    });
    tracker = new OnsetTracker(framer, bar, sampleRate);
    return tracker;
  }

  private add(s: number): void {
    if (this.frames === this.flux.length) {
      const bigger = new Float32Array(this.flux.length * 2);
      bigger.set(this.flux);
      this.flux = bigger;
    }
    this.flux[this.frames++] = s;
  }

  push(mono: Float32Array): void {
    this.framer.push(mono);
  }

  /** The onset strength per frame (frame t at t·HOP samples): [frames], ≥ 0; and the downbeat's features of the same frames. */
  finish(): Onsets {
    this.framer.finish();
    return { envelope: envelopeOf(this.flux.subarray(0, this.frames)), frameRate: this.sampleRate / HOP, bar: this.bar.finish() };
  }
}

export interface Onsets {
  envelope: Float32Array;
  frameRate: number;
  /** Bass onsets and chroma per frame, for the downbeat (absent: none is estimated). */
  bar?: BarFeatures;
}

/** Onset strength per frame (frame t at t·HOP samples): [frames], ≥ 0. */
export async function onsetStrength(mono: Float32Array, sampleRate: number): Promise<Onsets> {
  const tracker = await OnsetTracker.create(sampleRate);
  tracker.push(mono);
  return tracker.finish();
}

/** Spectral flux [frames] → onset strength [frames]. */
function envelopeOf(flux: Float32Array): Float32Array {
  const frames = flux.length;
  // minus the local mean (±8 frames ≈ ±90 ms), rectified: steady noise and slow swells are no onsets
  const rect = new Float32Array(frames);
  const R = 8;
  for (let t = 0; t < frames; t++) {
    let m = 0;
    let c = 0;
    for (let u = Math.max(0, t - R); u <= Math.min(frames - 1, t + R); u++, c++) m += flux[u];
    rect[t] = Math.max(0, flux[t] - m / c);
  }
  // smoothed (1 2 3 2 1)/9, symmetric so no delay: a one-frame onset would put a beat period that
  // falls between two lags (150 BPM = 34.45 frames) below its double (68.9 ≈ 69), which then wins
  const env = new Float32Array(frames);
  const K = [1 / 9, 2 / 9, 3 / 9, 2 / 9, 1 / 9];
  for (let t = 0; t < frames; t++) {
    let v = 0;
    for (let j = -2; j <= 2; j++) v += K[j + 2] * (rect[t + j] ?? 0);
    env[t] = v;
  }
  return env;
}

/** Unbiased autocorrelation r[l] = mean_t x[t]·x[t+l], l = 0 … maxLag. */
function autocorrelation(x: Float32Array, maxLag: number): Float64Array {
  const r = new Float64Array(maxLag + 1);
  for (let l = 0; l <= maxLag && l < x.length; l++) {
    let s = 0;
    for (let t = 0; t + l < x.length; t++) s += x[t] * x[t + l];
    r[l] = s / (x.length - l);
  }
  return r;
}

/** The local maximum of r within [lo, hi], refined by a parabola through it and its neighbours. */
function peakNear(r: Float64Array, lo: number, hi: number): { lag: number; value: number } | null {
  lo = Math.max(1, Math.floor(lo));
  hi = Math.min(r.length - 2, Math.ceil(hi));
  let best = -1;
  for (let l = lo; l <= hi; l++) if (best < 0 || r[l] > r[best]) best = l;
  if (best < 0 || r[best] < r[best - 1] || r[best] < r[best + 1]) return null;
  const a = r[best - 1];
  const b = r[best];
  const c = r[best + 1];
  const d = a - 2 * b + c;
  const delta = d < 0 ? (0.5 * (a - c)) / d : 0;
  return { lag: best + Math.max(-0.5, Math.min(0.5, delta)), value: b };
}

/** Tempo of a mono signal; null when it has no clear beat (or is shorter than ~4 beats at 40 BPM). */
export async function estimateTempo(mono: Float32Array, sampleRate: number): Promise<TempoEstimate | null> {
  return tempoFromOnsets(await onsetStrength(mono, sampleRate));
}

/** Tempo from an onset strength envelope (OnsetTracker.finish). */
export function tempoFromOnsets({ envelope, frameRate, bar }: Onsets): TempoEstimate | null {
  const minLag = Math.floor((60 * frameRate) / MAX_BPM);
  const maxLag = Math.ceil((60 * frameRate) / MIN_BPM);
  const refineLag = Math.min(8 * maxLag, Math.floor(envelope.length / 2));
  if (refineLag <= maxLag) return null;
  const r = autocorrelation(envelope, refineLag);
  if (!(r[0] > 0)) return null;

  let bestLag = -1;
  let bestScore = -Infinity;
  for (let l = minLag; l <= maxLag; l++) {
    if (!(r[l] >= r[l - 1] && r[l] >= r[l + 1])) continue;
    const octaves = Math.log2((60 * frameRate) / l / PRIOR_BPM) / PRIOR_OCTAVES;
    const score = r[l] * Math.exp(-0.5 * octaves * octaves);
    if (score > bestScore) {
      bestScore = score;
      bestLag = l;
    }
  }
  if (bestLag < 0) return null;
  // Every other beat as strong as the beats (a click track): the prior alone cannot tell 170 from
  // 85 BPM (equally far from 120 in octaves), but the faster pulse is what is played.
  const half = peakNear(r, bestLag / 2 - 1.5, bestLag / 2 + 1.5);
  if (half && half.lag >= minLag && half.value >= 0.9 * r[bestLag]) bestLag = Math.round(half.lag);
  const confidence = r[bestLag] / r[0];
  if (confidence < MIN_CONFIDENCE) return null;

  // refine: least-squares slope of the peaks at k periods (k = 1…8 while they are there)
  let num = 0;
  let den = 0;
  let period = bestLag;
  for (let k = 1; k <= 8; k++) {
    const p = peakNear(r, k * period - 0.03 * k * period - 1, k * period + 0.03 * k * period + 1);
    if (!p || p.value < 0.3 * r[bestLag]) break;
    num += k * p.lag;
    den += k * k;
    period = num / den;
  }

  const firstBeat = beatPhase(envelope, period);
  const bpm = (60 * frameRate) / period;
  const downbeat = bar ? estimateDownbeat(bar, firstBeat, period) : null;
  return {
    bpm: Math.round(bpm * 10) / 10,
    firstBeatSeconds: firstBeat / frameRate,
    firstDownbeatSeconds: downbeat ? downbeat.frame / frameRate : null,
    confidence: Math.round(confidence * 1000) / 1000,
  };
}

/** Offset (frames, 0 ≤ φ < period) of the beat grid that collects the most onset strength. */
function beatPhase(env: Float32Array, period: number): number {
  let best = 0;
  let bestSum = -1;
  for (let phi = 0; phi < period; phi += 0.25) {
    let s = 0;
    for (let t = phi; t < env.length; t += period) {
      const i = Math.round(t);
      s += Math.max(env[i] ?? 0, 0.5 * (env[i - 1] ?? 0), 0.5 * (env[i + 1] ?? 0));
    }
    if (s > bestSum) {
      bestSum = s;
      best = phi;
    }
  }
  return best;
}
