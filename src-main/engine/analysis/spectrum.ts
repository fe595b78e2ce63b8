/**
 * Magnitude spectra of a mono signal, one frame at a time, through the engine's real FFT (fft.ts).
 * Frames are centred on t·hop (zero padding outside the signal) with a periodic Hann window, so
 * frame t describes the time t·hop / sampleRate. Streams frames to a callback instead of holding
 * a spectrogram: a 10-minute song at hop 512 would be ~50k frames × 1025 bins. The signal may
 * arrive in chunks (MagnitudeFramer), so a song is analysed while it is decoded for separation.
 */
import { hannPeriodic } from '../stft.js';
import { createRealFft, type RealFft } from '../fft.js';

/**
 * Streams a mono signal into frames centred on t·hop (zero padding before 0 and after the end):
 * push() chunks of any length as they arrive, finish() once; onFrame(t, mag) gets t = 0 … ⌊N / hop⌋
 * in order, mag: nFft/2 + 1 linear magnitudes, reused between calls. Holds nFft + hop samples at
 * most, whatever the signal's length.
 */
export class MagnitudeFramer {
  private readonly frame: Float32Array;
  private readonly re: Float32Array;
  private readonly im: Float32Array;
  private readonly mag: Float32Array;
  /** Samples from `bufStart` on (absolute index), the ones a coming frame still needs. */
  private buf: Float32Array;
  private bufLen = 0;
  private bufStart = 0;
  private total = 0;
  private t = 0;
  private done = false;

  private constructor(
    private readonly fft: RealFft,
    private readonly window: Float32Array,
    private readonly nFft: number,
    private readonly hop: number,
    private readonly onFrame: (t: number, mag: Float32Array) => void,
  ) {
    const bins = nFft / 2 + 1;
    this.frame = new Float32Array(nFft);
    this.re = new Float32Array(bins);
    this.im = new Float32Array(bins);
    this.mag = new Float32Array(bins);
    this.buf = new Float32Array(nFft + hop);
  }

  static async create(nFft: number, hop: number, onFrame: (t: number, mag: Float32Array) => void): Promise<MagnitudeFramer> {
    return new MagnitudeFramer(await createRealFft(nFft), hannPeriodic(nFft), nFft, hop, onFrame);
  }

  push(mono: Float32Array): void {
    if (this.done) throw new Error('internal: MagnitudeFramer.push after finish');
    let from = 0;
    while (from < mono.length) {
      if (this.bufLen === this.buf.length) {
        // room for more: drop what no coming frame needs (before frame t's start), or grow
        const keepFrom = Math.max(this.bufStart, this.t * this.hop - this.nFft / 2);
        const drop = keepFrom - this.bufStart;
        if (drop > 0) {
          this.buf.copyWithin(0, drop, this.bufLen);
          this.bufLen -= drop;
          this.bufStart = keepFrom;
        } else {
          const bigger = new Float32Array(this.buf.length * 2);
          bigger.set(this.buf);
          this.buf = bigger;
        }
      }
      const n = Math.min(mono.length - from, this.buf.length - this.bufLen);
      this.buf.set(mono.subarray(from, from + n), this.bufLen);
      this.bufLen += n;
      this.total += n;
      from += n;
      // every frame whose samples have all arrived
      while (this.t * this.hop + this.nFft / 2 <= this.total) this.emit();
    }
  }

  /** Emits the frames that reach past the end (zero padded); returns how many frames there were. */
  finish(): number {
    if (!this.done) {
      const frames = 1 + Math.floor(this.total / this.hop);
      while (this.t < frames) this.emit();
      this.done = true;
    }
    return this.t;
  }

  private emit(): void {
    const { nFft, frame, window } = this;
    const start = this.t * this.hop - nFft / 2;
    for (let i = 0; i < nFft; i++) {
      const j = start + i;
      frame[i] = j >= 0 && j < this.total ? this.buf[j - this.bufStart] * window[i] : 0;
    }
    this.fft.forward(frame, this.re, this.im);
    for (let k = 0; k < this.mag.length; k++) this.mag[k] = Math.hypot(this.re[k], this.im[k]);
    this.onFrame(this.t, this.mag);
    this.t++;
  }
}

/** Calls onFrame(t, mag) for t = 0 … ⌊N / hop⌋ of a whole signal (MagnitudeFramer in one push). */
export async function forEachMagnitudeFrame(
  mono: Float32Array,
  nFft: number,
  hop: number,
  onFrame: (t: number, mag: Float32Array) => void,
): Promise<number> {
  const framer = await MagnitudeFramer.create(nFft, hop, onFrame);
  framer.push(mono);
  return framer.finish();
}

/** Mean of the channels: planar [channels][frames] → [frames]. */
export function downmix(planar: Float32Array[]): Float32Array {
  if (planar.length === 1) return planar[0];
  const n = planar[0].length;
  const out = new Float32Array(n);
  for (const ch of planar) for (let i = 0; i < n; i++) out[i] += ch[i];
  const g = 1 / planar.length;
  for (let i = 0; i < n; i++) out[i] *= g;
  return out;
}
