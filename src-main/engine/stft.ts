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
import { fftReady, PffftReal, realFft, type RealFft } from './fft.js';

/** Frames per transpose block in the PFFFT paths. */
const BLOCK = 16;

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
  private readonly fast: PffftReal | null;
  /** BLOCK packed frames (PFFFT path). */
  private readonly block: Float32Array;
  /** window / nFft (PFFFT's inverse is unscaled). */
  private readonly windowScaled: Float32Array;
  /** 1 / Σ w² per output position, cached per frame count (segments share one). */
  private readonly invWsum = new Map<number, Float32Array>();

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
    this.fast = this.fft instanceof PffftReal && nFft % 2 === 0 ? this.fft : null;
    this.block = new Float32Array(this.fast ? BLOCK * nFft : 0);
    this.windowScaled = this.window.map((v) => v / nFft);
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
    if (this.fast && n > 0) {
      this.forwardFast(signal, re, im, nb, frames);
      for (let f = nb; f < bins; f++) {
        re.fill(0, f * frames, (f + 1) * frames);
        im.fill(0, f * frames, (f + 1) * frames);
      }
      return frames;
    }
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
   * PFFFT path, frames in blocks of BLOCK: each frame's packed spectrum is copied (memcpy) into a
   * block buffer, then the block is transposed into the [bins][frames] planes so that every write
   * row is BLOCK contiguous floats (cache-friendly; strided single-float writes cost ~3× the FFT).
   */
  private forwardFast(signal: Float32Array, re: Float32Array, im: Float32Array, nb: number, frames: number): void {
    const fast = this.fast!;
    const nFft = this.nFft;
    const half = nFft >> 1;
    const n = signal.length;
    const pad = this.center ? half : 0;
    const w = this.window;
    const blk = this.block;
    const top = Math.min(nb, half);
    for (let t0 = 0; t0 < frames; t0 += BLOCK) {
      const bn = Math.min(BLOCK, frames - t0);
      for (let k = 0; k < bn; k++) {
        const start = (t0 + k) * this.hop - pad;
        const dst = fast.inputView();
        if (start >= 0 && start + nFft <= n) for (let i = 0; i < nFft; i++) dst[i] = signal[start + i] * w[i];
        else for (let i = 0; i < nFft; i++) dst[i] = signal[reflectIndex(start + i, n)] * w[i];
        fast.execForward();
        blk.set(fast.outputView(), k * nFft);
      }
      for (let k = 0; k < bn; k++) {
        re[t0 + k] = blk[k * nFft];
        im[t0 + k] = 0;
      }
      for (let f = 1; f < top; f++) {
        const row = f * frames + t0;
        for (let k = 0, j = 2 * f; k < bn; k++, j += nFft) {
          re[row + k] = blk[j];
          im[row + k] = blk[j + 1];
        }
      }
      if (nb > half) {
        const row = half * frames + t0;
        for (let k = 0; k < bn; k++) {
          re[row + k] = blk[k * nFft + 1];
          im[row + k] = 0;
        }
      }
    }
  }

  /** PFFFT inverse path: transposes a block of frames into packed spectra, then iFFT + overlap-add. */
  private inverseFast(re: Float32Array, im: Float32Array, nb: number, frames: number, out: Float32Array): void {
    const fast = this.fast!;
    const nFft = this.nFft;
    const half = nFft >> 1;
    const pad = this.center ? half : 0;
    const outLen = out.length;
    const ws = this.windowScaled;
    const blk = this.block;
    const top = Math.min(nb, half);
    for (let t0 = 0; t0 < frames; t0 += BLOCK) {
      const bn = Math.min(BLOCK, frames - t0);
      blk.fill(0, 0, bn * nFft);
      for (let k = 0; k < bn; k++) {
        blk[k * nFft] = nb > 0 ? re[t0 + k] : 0;
        blk[k * nFft + 1] = nb > half ? re[half * frames + t0 + k] : 0;
      }
      for (let f = 1; f < top; f++) {
        const row = f * frames + t0;
        for (let k = 0, j = 2 * f; k < bn; k++, j += nFft) {
          blk[j] = re[row + k];
          blk[j + 1] = im[row + k];
        }
      }
      for (let k = 0; k < bn; k++) {
        fast.inputView().set(blk.subarray(k * nFft, (k + 1) * nFft));
        fast.execInverse();
        const frame = fast.outputView();
        const off = (t0 + k) * this.hop - pad;
        const i0 = Math.max(0, -off);
        const i1 = Math.min(nFft, outLen - off);
        for (let i = i0; i < i1; i++) out[off + i] += frame[i] * ws[i];
      }
    }
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
    // overlap-add straight into the output (positions shifted by `pad`), then scale by 1/Σw²
    const out = new Float32Array(outLen);
    const w = this.window;
    const nb = Math.min(bins, this.fullBins);
    if (this.fast) {
      this.inverseFast(re, im, nb, frames, out);
      const inv = this.inverseWindowSum(frames, outLen);
      for (let i = 0; i < outLen; i++) out[i] *= inv[i];
      return out;
    }
    const sr = this.specRe;
    const si = this.specIm;
    const buf = this.frameBuf;
    sr.fill(0);
    si.fill(0);
    for (let t = 0; t < frames; t++) {
      for (let f = 0; f < nb; f++) {
        sr[f] = re[f * frames + t];
        si[f] = im[f * frames + t];
      }
      this.fft.inverse(sr, si, buf);
      const off = t * hop - pad;
      const i0 = Math.max(0, -off);
      const i1 = Math.min(nFft, outLen - off);
      for (let i = i0; i < i1; i++) out[off + i] += buf[i] * w[i];
    }
    const inv = this.inverseWindowSum(frames, outLen);
    for (let i = 0; i < outLen; i++) out[i] *= inv[i];
    return out;
  }

  private inverseWindowSum(frames: number, outLen: number): Float32Array {
    const key = frames * 4294967296 + outLen;
    const hit = this.invWsum.get(key);
    if (hit) return hit;
    const nFft = this.nFft;
    const pad = this.center ? nFft >> 1 : 0;
    const ws = new Float64Array(outLen);
    const w = this.window;
    for (let t = 0; t < frames; t++) {
      const off = t * this.hop - pad;
      const i0 = Math.max(0, -off);
      const i1 = Math.min(nFft, outLen - off);
      for (let i = i0; i < i1; i++) ws[off + i] += w[i] * w[i];
    }
    const inv = new Float32Array(outLen);
    for (let i = 0; i < outLen; i++) inv[i] = ws[i] > 1e-11 ? 1 / ws[i] : 0;
    if (this.invWsum.size > 8) this.invWsum.clear();
    this.invWsum.set(key, inv);
    return inv;
  }
}
