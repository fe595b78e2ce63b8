/**
 * Real FFT used by the STFT. Backend: PFFFT compiled to WASM with SIMD (@echogarden/pffft-wasm),
 * chosen by scripts/bench-fft.ts on this project's 2-core machine (Node 20, busy machine),
 * forward + inverse real FFT, µs per frame:
 *
 *   n      pffft-wasm simd   pffft-wasm non-simd   fft.js 4.0.4 (radix-4, real fwd + complex inv)
 *   2048   14.2              29.3                  97.0      (wall, 23:24 UTC)
 *   4096   19.3              50.6                  129.9     (wall, 23:24 UTC)
 *   2048   11.6              28.9                  59.6      (CPU time, 00:16 UTC, load ≈ 27)
 *   6144   31.8              94.5                  —         (CPU time; fft.js is power-of-two only)
 * (this module's RealFft wrapper adds the copies into split re/im arrays: 17.0 µs at 2048; the STFT
 * uses zero-copy views instead, see stft.ts)
 *
 * kissfft-wasm 1.1.2 was dropped (its loader fails on Node 20 and installs a process-wide
 * unhandledRejection handler). PFFFT handles n = 2^a·3^b·5^c with n a multiple of 32 (so 2048,
 * 4096, 6144, 7680, 8192 …); other sizes use a plain JavaScript fallback (radix-2 for powers of two,
 * O(n²) DFT otherwise) that is correct but slow: fine for tests, never used by real models.
 *
 * Conventions: forward is unscaled (X[k] = Σ x[n]·e^{-2πikn/N}); inverse includes the 1/N,
 * so inverse(forward(x)) = x. Spectra are bins 0..n/2 as separate re/im Float32Arrays.
 */
import path from 'node:path';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export interface RealFft {
  readonly size: number;
  readonly backend: 'pffft-simd' | 'pffft' | 'js-radix2' | 'js-dft';
  /** input: n samples → re, im: n/2 + 1 bins. */
  forward(input: Float32Array, re: Float32Array, im: Float32Array): void;
  /** re, im: n/2 + 1 bins (im[0], im[n/2] ignored) → output: n samples (scaled by 1/n). */
  inverse(re: Float32Array, im: Float32Array, output: Float32Array): void;
}

interface PffftModule {
  HEAPF32: Float32Array;
  _pffft_new_setup(n: number, kind: number): number;
  _pffft_aligned_malloc(bytes: number): number;
  _pffft_transform_ordered(setup: number, input: number, output: number, work: number, dir: number): void;
}

let pffft: PffftModule | null = null;
let pffftSimd = false;
let loadError: unknown = null;

async function loadPffft(): Promise<void> {
  const require = createRequire(import.meta.url);
  const main = require.resolve('@echogarden/pffft-wasm');
  const distDir = path.dirname(path.dirname(main));
  const hasSimd = typeof WebAssembly.validate === 'function';
  for (const variant of hasSimd ? ['simd', 'non-simd'] : ['non-simd']) {
    try {
      const mod = (await import(pathToFileURL(path.join(distDir, variant, 'pffft.js')).href)) as {
        default: () => Promise<PffftModule>;
      };
      pffft = await mod.default();
      pffftSimd = variant === 'simd';
      return;
    } catch (e) {
      loadError = e;
    }
  }
}

/** Resolves when the WASM FFT is loaded (or failed to load: the JS fallback is then used). */
export const fftReady: Promise<void> = loadPffft().catch((e: unknown) => {
  loadError = e;
});

export function fftBackendError(): unknown {
  return pffft ? null : loadError;
}

function pffftSupports(n: number): boolean {
  if (n % 32 !== 0) return false;
  let m = n;
  for (const p of [2, 3, 5]) while (m % p === 0) m /= p;
  return m === 1;
}

/**
 * PFFFT real transform. Besides forward/inverse it offers zero-copy access for the STFT's inner
 * loops: write n samples (or a packed spectrum) into `inputView()`, call `execForward()` /
 * `execInverse()`, read `outputView()`. Packed spectrum layout (PFFFT "ordered" real format):
 * [re0, re(n/2), re1, im1, re2, im2, …]; the inverse is unscaled (×n).
 */
export class PffftReal implements RealFft {
  readonly backend: RealFft['backend'];
  private readonly setup: number;
  private readonly pIn: number;
  private readonly pOut: number;
  private readonly pWork: number;
  private heap: ArrayBufferLike | null = null;
  private inView: Float32Array = new Float32Array(0);
  private outView: Float32Array = new Float32Array(0);
  constructor(
    readonly size: number,
    private readonly m: PffftModule,
  ) {
    this.backend = pffftSimd ? 'pffft-simd' : 'pffft';
    this.setup = m._pffft_new_setup(size, 0);
    if (!this.setup) throw new Error(`pffft cannot do n=${size}`);
    this.pIn = m._pffft_aligned_malloc(size * 4);
    this.pOut = m._pffft_aligned_malloc(size * 4);
    this.pWork = m._pffft_aligned_malloc(size * 4);
  }
  private refresh(): void {
    const h = this.m.HEAPF32;
    if (h.buffer === this.heap) return;
    this.heap = h.buffer;
    this.inView = h.subarray(this.pIn >> 2, (this.pIn >> 2) + this.size);
    this.outView = h.subarray(this.pOut >> 2, (this.pOut >> 2) + this.size);
  }
  inputView(): Float32Array {
    this.refresh();
    return this.inView;
  }
  outputView(): Float32Array {
    this.refresh();
    return this.outView;
  }
  execForward(): void {
    this.m._pffft_transform_ordered(this.setup, this.pIn, this.pOut, this.pWork, 0);
  }
  execInverse(): void {
    this.m._pffft_transform_ordered(this.setup, this.pIn, this.pOut, this.pWork, 1);
  }

  forward(input: Float32Array, re: Float32Array, im: Float32Array): void {
    const n = this.size;
    const m = this.m;
    m.HEAPF32.set(input.length === n ? input : input.subarray(0, n), this.pIn >> 2);
    m._pffft_transform_ordered(this.setup, this.pIn, this.pOut, this.pWork, 0);
    const h = m.HEAPF32; // re-read: memory may have grown
    const o = this.pOut >> 2;
    const half = n >> 1;
    re[0] = h[o];
    im[0] = 0;
    re[half] = h[o + 1];
    im[half] = 0;
    for (let k = 1; k < half; k++) {
      re[k] = h[o + 2 * k];
      im[k] = h[o + 2 * k + 1];
    }
  }
  inverse(re: Float32Array, im: Float32Array, output: Float32Array): void {
    const n = this.size;
    const m = this.m;
    const h = m.HEAPF32;
    const i0 = this.pIn >> 2;
    const half = n >> 1;
    h[i0] = re[0];
    h[i0 + 1] = re[half];
    for (let k = 1; k < half; k++) {
      h[i0 + 2 * k] = re[k];
      h[i0 + 2 * k + 1] = im[k];
    }
    m._pffft_transform_ordered(this.setup, this.pIn, this.pOut, this.pWork, 1);
    const h2 = m.HEAPF32;
    const o = this.pOut >> 2;
    const scale = 1 / n;
    for (let i = 0; i < n; i++) output[i] = h2[o + i] * scale;
  }
}

/** Iterative radix-2 complex FFT used for real transforms of power-of-two size (fallback). */
class JsRadix2Real implements RealFft {
  readonly backend = 'js-radix2' as const;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  private readonly rev: Uint32Array;
  private readonly bufRe: Float64Array;
  private readonly bufIm: Float64Array;
  constructor(readonly size: number) {
    const n = size;
    this.cos = new Float64Array(n / 2);
    this.sin = new Float64Array(n / 2);
    for (let i = 0; i < n / 2; i++) {
      this.cos[i] = Math.cos((2 * Math.PI * i) / n);
      this.sin[i] = Math.sin((2 * Math.PI * i) / n);
    }
    this.rev = new Uint32Array(n);
    const bits = Math.round(Math.log2(n));
    for (let i = 0; i < n; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    this.bufRe = new Float64Array(n);
    this.bufIm = new Float64Array(n);
  }
  private run(sign: number): void {
    const n = this.size;
    const re = this.bufRe;
    const im = this.bufIm;
    for (let i = 0; i < n; i++) {
      const j = this.rev[i];
      if (j > i) {
        let t = re[i];
        re[i] = re[j];
        re[j] = t;
        t = im[i];
        im[i] = im[j];
        im[j] = t;
      }
    }
    for (let len = 2; len <= n; len <<= 1) {
      const half = len >> 1;
      const step = n / len;
      for (let s = 0; s < n; s += len) {
        for (let k = 0; k < half; k++) {
          const wr = this.cos[k * step];
          const wi = -sign * this.sin[k * step];
          const a = s + k;
          const b = a + half;
          const xr = re[b] * wr - im[b] * wi;
          const xi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - xr;
          im[b] = im[a] - xi;
          re[a] += xr;
          im[a] += xi;
        }
      }
    }
  }
  forward(input: Float32Array, re: Float32Array, im: Float32Array): void {
    const n = this.size;
    for (let i = 0; i < n; i++) {
      this.bufRe[i] = input[i];
      this.bufIm[i] = 0;
    }
    this.run(1);
    for (let k = 0; k <= n / 2; k++) {
      re[k] = this.bufRe[k];
      im[k] = this.bufIm[k];
    }
  }
  inverse(re: Float32Array, im: Float32Array, output: Float32Array): void {
    const n = this.size;
    const half = n / 2;
    for (let k = 0; k <= half; k++) {
      this.bufRe[k] = re[k];
      this.bufIm[k] = k === 0 || k === half ? 0 : im[k];
    }
    for (let k = half + 1; k < n; k++) {
      this.bufRe[k] = re[n - k];
      this.bufIm[k] = -im[n - k];
    }
    this.run(-1);
    for (let i = 0; i < n; i++) output[i] = this.bufRe[i] / n;
  }
}

/** O(n²) DFT for sizes nothing else handles (odd or awkward nFft in tests). */
class JsDftReal implements RealFft {
  readonly backend = 'js-dft' as const;
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  constructor(readonly size: number) {
    this.cos = new Float64Array(size);
    this.sin = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      this.cos[i] = Math.cos((2 * Math.PI * i) / size);
      this.sin[i] = Math.sin((2 * Math.PI * i) / size);
    }
  }
  forward(input: Float32Array, re: Float32Array, im: Float32Array): void {
    const n = this.size;
    const bins = Math.floor(n / 2) + 1;
    for (let k = 0; k < bins; k++) {
      let sr = 0;
      let si = 0;
      for (let t = 0, idx = 0; t < n; t++, idx = (idx + k) % n) {
        sr += input[t] * this.cos[idx];
        si -= input[t] * this.sin[idx];
      }
      re[k] = sr;
      im[k] = si;
    }
  }
  inverse(re: Float32Array, im: Float32Array, output: Float32Array): void {
    const n = this.size;
    const bins = Math.floor(n / 2) + 1;
    for (let t = 0; t < n; t++) {
      let s = re[0];
      for (let k = 1, idx = t % n; k < bins; k++, idx = (idx + t) % n) {
        const both = !(n % 2 === 0 && k === n / 2);
        const v = re[k] * this.cos[idx] - im[k] * this.sin[idx];
        s += both ? 2 * v : v;
      }
      output[t] = s / n;
    }
  }
}

/** A real FFT of size n; uses PFFFT-WASM when it is loaded and supports n. */
export function realFft(n: number): RealFft {
  if (!Number.isInteger(n) || n < 2) throw new RangeError(`FFT size must be an integer ≥ 2, got ${n}`);
  if (pffft && pffftSupports(n)) return new PffftReal(n, pffft);
  if ((n & (n - 1)) === 0) return new JsRadix2Real(n);
  return new JsDftReal(n);
}

export async function createRealFft(n: number): Promise<RealFft> {
  await fftReady;
  return realFft(n);
}
