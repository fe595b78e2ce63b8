/**
 * STFT / iSTFT with a periodic Hann window, matching torch.stft(center=True, pad_mode='reflect',
 * onesided=True, normalized=False) and torch.istft(length=…).
 *
 * Layouts (one audio channel at a time):
 * - signal: Float32Array [samples]
 * - spectrogram: two Float32Arrays `re`, `im`, each [bins][frames] (bin-major, frames contiguous:
 *   element (f, t) at f·frames + t) — the layout of one channel plane of the model tensors
 *   [B, 2C, F, T]. `bins` may be fewer than nFft/2 + 1 (the model's lowest F bins); the
 *   inverse treats missing bins as zero.
 * - frames for N samples: center ? 1 + ⌊N / hop⌋ : 1 + ⌊(N − nFft) / hop⌋.
 */
import { fftReady, realFft, type RealFft } from './fft.js';

export interface Spectrogram {
  re: Float32Array;
  im: Float32Array;
  bins: number;
  frames: number;
}

export function hannPeriodic(n: number): Float32Array {
  const w = new Float32Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
  return w;
}

/** Index into a signal of length n with (repeated) reflection at both ends, like numpy 'reflect'. */
function reflectIndex(i: number, n: number): number {
  if (n === 1) return 0;
  const period = 2 * (n - 1);
  let j = i % period;
  if (j < 0) j += period;
  return j < n ? j : period - j;
}

export class Stft {
  readonly window: Float32Array;
  readonly fullBins: number;
  private readonly fft: RealFft;
  private readonly frameBuf: Float32Array;
  private readonly specRe: Float32Array;
  private readonly specIm: Float32Array;

  constructor(
    readonly nFft: number,
    readonly hop: number,
    readonly center = true,
  ) {
    if (!Number.isInteger(nFft) || nFft < 2) throw new RangeError(`nFft must be an integer ≥ 2, got ${nFft}`);
    if (!Number.isInteger(hop) || hop < 1 || hop > nFft) throw new RangeError(`hop must be in 1..nFft, got ${hop}`);
    this.window = hannPeriodic(nFft);
    this.fullBins = Math.floor(nFft / 2) + 1;
    this.fft = realFft(nFft);
    this.frameBuf = new Float32Array(nFft);
    this.specRe = new Float32Array(this.fullBins);
    this.specIm = new Float32Array(this.fullBins);
  }

  /** Like the constructor, but waits for the WASM FFT first (the constructor alone may fall back to JS). */
  static async create(nFft: number, hop: number, center = true): Promise<Stft> {
    await fftReady;
    return new Stft(nFft, hop, center);
  }

  get backend(): RealFft['backend'] {
    return this.fft.backend;
  }

  /** Frames of the STFT of a signal of `samples` samples. */
  frames(samples: number): number {
    if (this.center) return 1 + Math.floor(samples / this.hop);
    if (samples < this.nFft) return 0;
    return 1 + Math.floor((samples - this.nFft) / this.hop);
  }

  /** Forward STFT of one channel; `bins` (default all) lowest bins are kept. */
  forward(signal: Float32Array, bins = this.fullBins): Spectrogram {
    const frames = this.frames(signal.length);
    const re = new Float32Array(bins * frames);
    const im = new Float32Array(bins * frames);
    this.forwardInto(signal, re, im, bins);
    return { re, im, bins, frames };
  }

  /**
   * Forward STFT of one channel written into `re`/`im` (each ≥ bins·frames long, layout [bins][frames]);
   * they may be views into a model input tensor.
   */
  forwardInto(signal: Float32Array, re: Float32Array, im: Float32Array, bins = this.fullBins): number {
    const n = signal.length;
    const nFft = this.nFft;
    const frames = this.frames(n);
    const pad = this.center ? nFft >> 1 : 0;
    const w = this.window;
    const buf = this.frameBuf;
    const sr = this.specRe;
    const si = this.specIm;
    const nb = Math.min(bins, this.fullBins);
    for (let t = 0; t < frames; t++) {
      const start = t * this.hop - pad;
      if (start >= 0 && start + nFft <= n) {
        for (let i = 0; i < nFft; i++) buf[i] = signal[start + i] * w[i];
      } else if (n === 0) {
        buf.fill(0);
      } else {
        for (let i = 0; i < nFft; i++) buf[i] = signal[reflectIndex(start + i, n)] * w[i];
      }
      this.fft.forward(buf, sr, si);
      for (let f = 0; f < nb; f++) {
        re[f * frames + t] = sr[f];
        im[f * frames + t] = si[f];
      }
    }
    for (let f = nb; f < bins; f++) {
      re.fill(0, f * frames, (f + 1) * frames);
      im.fill(0, f * frames, (f + 1) * frames);
    }
    return frames;
  }

  /**
   * Inverse STFT of one channel: `re`/`im` are [bins][frames]; returns `length` samples
   * (default: what the frames cover). Bins above `bins` are zero.
   */
  inverse(re: Float32Array, im: Float32Array, bins: number, frames: number, length?: number): Float32Array {
    const nFft = this.nFft;
    const hop = this.hop;
    const pad = this.center ? nFft >> 1 : 0;
    const total = nFft + hop * (frames - 1);
    const outLen = length ?? total - 2 * pad;
    const acc = new Float32Array(total);
    const wsum = new Float32Array(total);
    const w = this.window;
    const sr = this.specRe;
    const si = this.specIm;
    const buf = this.frameBuf;
    const nb = Math.min(bins, this.fullBins);
    sr.fill(0);
    si.fill(0);
    for (let t = 0; t < frames; t++) {
      for (let f = 0; f < nb; f++) {
        sr[f] = re[f * frames + t];
        si[f] = im[f * frames + t];
      }
      this.fft.inverse(sr, si, buf);
      const off = t * hop;
      for (let i = 0; i < nFft; i++) {
        acc[off + i] += buf[i] * w[i];
        wsum[off + i] += w[i] * w[i];
      }
    }
    const out = new Float32Array(outLen);
    const end = Math.min(outLen, total - pad);
    for (let i = 0; i < end; i++) {
      const d = wsum[i + pad];
      out[i] = d > 1e-11 ? acc[i + pad] / d : 0;
    }
    return out;
  }
}
