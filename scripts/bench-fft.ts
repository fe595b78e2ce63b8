/**
 * Micro-benchmark of the FFT candidates for the engine's STFT (real FFT, forward + inverse).
 * Run: npx tsx scripts/bench-fft.ts [nFft]   (candidates that are not installed are skipped;
 * install them anywhere on NODE_PATH or in a scratch folder to compare).
 *
 * kissfft-wasm 1.1.2 was tried and dropped: on Node 20 its Emscripten loader fails ("Failed to parse
 * URL" when it fetch()es its .wasm by file path) and it installs a process-wide unhandledRejection
 * handler that aborts — unacceptable inside the engine host.
 *
 * Figures on this project's 2-core machine (Node 20, nFft 2048, µs per frame, forward + inverse,
 * other engineers' jobs running at the same time):  see the table printed at the end; recorded in
 * src-main/engine/fft.ts next to the choice.
 */
import { createRequire } from 'node:module';
import path from 'node:path';

const n = Number(process.argv[2] ?? 2048);
const frames = 4000;
const extra = process.env.FFT_BENCH_DIR ? [path.join(process.env.FFT_BENCH_DIR, 'node_modules')] : [];
const require = createRequire(import.meta.url);

function resolve(name: string): string | null {
  try {
    return require.resolve(name, { paths: [process.cwd(), ...extra] });
  } catch {
    return null;
  }
}

const input = new Float32Array(n);
for (let i = 0; i < n; i++) input[i] = Math.sin(i * 0.01) + Math.random() * 0.1;

interface Result { name: string; usPerFrame: number; err: number }
const results: Result[] = [];

function time(name: string, run: () => Float32Array): void {
  let out = run(); // warm-up
  for (let k = 0; k < 200; k++) out = run();
  // CPU time of this process, not wall time: the machine is shared, wall figures swing 5×
  const u0 = process.cpuUsage();
  for (let k = 0; k < frames; k++) out = run();
  const u = process.cpuUsage(u0);
  const us = (u.user + u.system) / frames;
  let err = 0;
  for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(out[i] - input[i]));
  results.push({ name, usPerFrame: us, err });
}

async function main(): Promise<void> {
  const fftjsPath = resolve('fft.js');
  if (fftjsPath) {
    const FFT = require(fftjsPath) as new (n: number) => {
      createComplexArray(): number[];
      realTransform(out: number[], input: ArrayLike<number>): void;
      completeSpectrum(out: number[]): void;
      inverseTransform(out: number[], input: number[]): void;
    };
    if ((n & (n - 1)) === 0) {
      const f = new FFT(n);
      const spec = f.createComplexArray();
      const back = f.createComplexArray();
      const out = new Float32Array(n);
      time('fft.js (realTransform + complex inverse)', () => {
        f.realTransform(spec, input);
        f.completeSpectrum(spec);
        f.inverseTransform(back, spec);
        for (let i = 0; i < n; i++) out[i] = back[2 * i];
        return out;
      });
    }
  }
  for (const variant of ['simd', 'non-simd']) {
    const p = resolve('@echogarden/pffft-wasm');
    if (!p) break;
    const file = path.join(path.dirname(p), '..', variant, 'pffft.js');
    const mod = (await import(file)) as { default: () => Promise<PffftModule> };
    const m = await mod.default();
    const setup = m._pffft_new_setup(n, 0);
    if (!setup) continue;
    const bytes = n * 4;
    const pin = m._pffft_aligned_malloc(bytes);
    const pspec = m._pffft_aligned_malloc(bytes);
    const pwork = m._pffft_aligned_malloc(bytes);
    const out = new Float32Array(n);
    time(`@echogarden/pffft-wasm ${variant} (ordered real)`, () => {
      m.HEAPF32.set(input, pin >> 2);
      m._pffft_transform_ordered(setup, pin, pspec, pwork, 0);
      m._pffft_transform_ordered(setup, pspec, pin, pwork, 1);
      const h = m.HEAPF32.subarray(pin >> 2, (pin >> 2) + n);
      for (let i = 0; i < n; i++) out[i] = h[i] / n;
      return out;
    });
  }
  try {
    const engine = await import('../src-main/engine/fft.js');
    const rf = await engine.createRealFft(n);
    const re = new Float32Array(n / 2 + 1);
    const im = new Float32Array(n / 2 + 1);
    const out = new Float32Array(n);
    time(`engine fft.ts (${rf.backend})`, () => {
      rf.forward(input, re, im);
      rf.inverse(re, im, out);
      return out;
    });
  } catch (e) {
    console.log('engine fft.ts not usable:', (e as Error).message);
  }
  console.log(`real FFT n=${n}, forward + inverse, ${frames} frames, CPU µs per frame`);
  for (const r of results.sort((a, b) => a.usPerFrame - b.usPerFrame))
    console.log(`${r.usPerFrame.toFixed(2).padStart(8)} µs/frame  max err ${r.err.toExponential(1)}  ${r.name}`);
}

interface PffftModule {
  HEAPF32: Float32Array;
  _pffft_new_setup(n: number, kind: number): number;
  _pffft_aligned_malloc(bytes: number): number;
  _pffft_transform_ordered(setup: number, i: number, o: number, w: number, dir: number): void;
}

void main();
