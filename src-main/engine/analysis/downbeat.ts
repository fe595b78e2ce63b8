/**
 * The bar's first downbeat, given the beat grid (tempo.ts), assuming 4 beats to the bar.
 *
 * Method: the two cheap cues of the beat-synchronous downbeat literature —
 * - low-frequency onsets: the bass drum (and the bass's new note) fall on the bar's first beat more
 *   than on the others (Goto 2001, "An audio-based real-time beat tracking system for music with or
 *   without drum-sounds", J. New Music Research 30(2): bass-drum pattern → bar level);
 * - harmonic change: chords change at the start of bars (Goto & Muraoka 1999, "Real-time beat
 *   tracking for drumless audio signals: chord change detection for musical decisions"; Davies &
 *   Plumbley 2006, "A spectral difference approach to downbeat extraction in musical audio",
 *   EUSIPCO: the bar position with the most spectral change between beats).
 * For each position in the bar, the mean low-frequency onset strength there and the mean change of
 * the chroma from the beat before it to the beat after it, each as a share of its sum over the
 * positions; the downbeat is the position with the largest total share. When no position stands out
 * (a click track: every beat alike) there is no downbeat to report.
 *
 * Features per analysis frame (tempo.ts's 2048-point frames, hop 512 at 44.1 kHz ≈ 86 per second):
 * the rectified flux of log(1 + |X|) below 150 Hz, and a 12-bin chroma of |X| from 260 Hz (about one
 * FFT bin per semitone there) to 2.1 kHz. Memory: 13 numbers per frame (~1100 per second of music).
 */

/** Lowest and highest frequencies of the chroma (Hz), and the top of the bass band (Hz). */
const CHROMA_MIN_HZ = 260;
const CHROMA_MAX_HZ = 2100;
const BASS_MAX_HZ = 150;
/** Beats to the bar. */
const METER = 4;
/** The winning position's share over the runner-up's, at least (else: no clear downbeat). */
const MIN_MARGIN = 1.1;

/** Per-frame bass onsets and chroma of a signal's magnitude frames, in frame order. */
export class BarFeatureTracker {
  private bass = new Float32Array(4096);
  private chroma = new Float32Array(4096 * 12);
  private frames = 0;
  private readonly prevBass: Float32Array;
  private readonly bassBins: number;
  private readonly pcOfBin: Int8Array;
  private readonly chromaLo: number;
  private readonly chromaHi: number;

  constructor(nFft: number, sampleRate: number) {
    this.bassBins = Math.max(1, Math.floor((BASS_MAX_HZ * nFft) / sampleRate));
    this.prevBass = new Float32Array(this.bassBins + 1);
    this.chromaLo = Math.ceil((CHROMA_MIN_HZ * nFft) / sampleRate);
    this.chromaHi = Math.min(nFft / 2, Math.floor((CHROMA_MAX_HZ * nFft) / sampleRate));
    this.pcOfBin = new Int8Array(this.chromaHi + 1);
    for (let k = this.chromaLo; k <= this.chromaHi; k++) {
      const midi = 69 + 12 * Math.log2((k * sampleRate) / nFft / 440);
      this.pcOfBin[k] = ((Math.round(midi) % 12) + 12) % 12;
    }
  }

  /** Frame t's linear magnitudes [nFft/2 + 1] (frames arrive in order, t = 0, 1, …). */
  add(t: number, mag: Float32Array): void {
    if (this.frames === this.bass.length) {
      const bass = new Float32Array(this.bass.length * 2);
      bass.set(this.bass);
      this.bass = bass;
      const chroma = new Float32Array(this.chroma.length * 2);
      chroma.set(this.chroma);
      this.chroma = chroma;
    }
    let s = 0;
    for (let k = 1; k <= this.bassBins; k++) {
      const v = Math.log1p(mag[k]);
      if (t > 0 && v > this.prevBass[k]) s += v - this.prevBass[k];
      this.prevBass[k] = v;
    }
    this.bass[this.frames] = s;
    const c = this.chroma.subarray(this.frames * 12, this.frames * 12 + 12);
    for (let k = this.chromaLo; k <= this.chromaHi; k++) c[this.pcOfBin[k]] += mag[k];
    this.frames++;
  }

  finish(): BarFeatures {
    return { bass: this.bass.subarray(0, this.frames), chroma: this.chroma.subarray(0, this.frames * 12), frames: this.frames };
  }
}

export interface BarFeatures {
  /** Bass-band onset strength per frame [frames]. */
  bass: Float32Array;
  /** Chroma per frame, [frames][12] flattened. */
  chroma: Float32Array;
  frames: number;
}

export interface DownbeatEstimate {
  /** The first downbeat, in analysis frames (≥ 0): on the beat grid or halfway between two of its beats. */
  frame: number;
  /** The winning position's score over the best other position's (≥ MIN_MARGIN). */
  margin: number;
}

/**
 * The first downbeat of a beat grid (first beat at `phase` frames, `period` frames per beat), or
 * null when fewer than two bars are there or no position in the bar stands out.
 *
 * The positions tried are the grid's beats and the points halfway between them over one 4-beat
 * cycle (8 positions), each scored over every cycle of the song: a grid at half the tempo (a
 * kick/snare loop read at 75 instead of 150 BPM, tempo.ts) has the bar's other beats halfway
 * between its own, and its 4-beat cycle is two bars — positions 4 apart are then the same beat of
 * two bars, so the earlier one is taken and the margin is over the positions that are not it.
 * (Where the bass drum falls on beats 1 and 3 alike and the chords do not change at bar lines,
 * beat 1 and beat 3 are alike too: the earlier one is reported.)
 */
export function estimateDownbeat(f: BarFeatures, phase: number, period: number): DownbeatEstimate | null {
  const cycle = METER * period;
  const cycles = Math.floor((f.frames - phase) / cycle);
  if (cycles < 2) return null;
  const positions = 2 * METER;

  // bass onset at t: the strongest within ±2 frames (onsets fall a little off the grid)
  const bassAt = (t: number): number => {
    let m = 0;
    for (let i = Math.round(t) - 2; i <= Math.round(t) + 2; i++) if (i >= 0 && i < f.frames) m = Math.max(m, f.bass[i]);
    return m;
  };
  // harmonic change at t: 1 − cosine of the chroma summed over the beat before t and the beat after
  const a = new Float64Array(12);
  const b = new Float64Array(12);
  const sumChroma = (out: Float64Array, from: number, to: number): void => {
    out.fill(0);
    for (let i = Math.max(0, Math.round(from)); i < Math.min(f.frames, Math.round(to)); i++) for (let p = 0; p < 12; p++) out[p] += f.chroma[i * 12 + p];
  };
  const changeAt = (t: number): number | null => {
    if (t - period < 0 || t + period > f.frames) return null; // not a full beat on both sides
    sumChroma(a, t - period, t);
    sumChroma(b, t, t + period);
    let dot = 0;
    let na = 0;
    let nb = 0;
    for (let p = 0; p < 12; p++) {
      dot += a[p] * b[p];
      na += a[p] * a[p];
      nb += b[p] * b[p];
    }
    return na > 0 && nb > 0 ? 1 - dot / Math.sqrt(na * nb) : 0;
  };

  // means over the cycles (the change only where it is defined)
  const bass = new Float64Array(positions);
  const change = new Float64Array(positions);
  for (let c = 0; c < positions; c++) {
    let n = 0;
    for (let j = 0; j < cycles; j++) {
      const t = phase + (c * period) / 2 + j * cycle;
      bass[c] += bassAt(t) / cycles;
      const d = changeAt(t);
      if (d !== null) {
        change[c] += d;
        n++;
      }
    }
    if (n) change[c] /= n;
  }
  const shares = (x: Float64Array): Float64Array => {
    const total = x.reduce((s, v) => s + v, 0);
    return total > 0 ? x.map((v) => v / total) : x;
  };
  const bassShare = shares(bass);
  const changeShare = shares(change);
  const score = bassShare.map((v, c) => v + changeShare[c]);
  let best = 0;
  for (let c = 1; c < positions; c++) if (score[c] > score[best] * 1.000001) best = c;
  if (!(score[best] > 0)) return null;
  // the same beat of the other bar when the grid runs at half the tempo: a bar is then half a cycle
  const twin = (best + METER) % positions;
  const bar = score[twin] >= score[best] / MIN_MARGIN ? cycle / 2 : cycle;
  let other = 0;
  for (let c = 0; c < positions; c++) if (c !== best && c !== twin) other = Math.max(other, score[c]);
  const margin = other > 0 ? score[best] / other : Infinity;
  if (margin < MIN_MARGIN) return null;
  // the first one: whole bars back while the song is there (it may come before the grid's first beat)
  let frame = phase + (best * period) / 2;
  while (frame - bar >= -2) frame -= bar;
  return { frame: Math.max(0, frame), margin: Math.round(Math.min(margin, 99) * 100) / 100 };
}
