/**
 * separateFile: decode (ffmpeg pipe) → segments → model adapter (ONNX) → overlap-add →
 * optional residual stem → stream each stem to a temp file → rename all into place at the end.
 *
 * Memory is O(segment · batch · pipeline depth), independent of the file length. Progress is
 * reported per segment (fraction + ETA); the AbortSignal is checked between segments. A failed or
 * cancelled job deletes its temp files and leaves no stem files. `inferenceSeconds` counts only
 * the time ONNX Runtime was running (union of in-flight runs), for the overhead ratio.
 */
import fsp from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { StemdeckError } from './errors.js';
import { DeviceSchema, type Device } from './manifest.js';
import { decodeAudio, probeAudio } from './decode.js';
import { fftReady } from './fft.js';
import { getSession, type ort } from './onnx.js';
import { getWorkerSession, type WorkerSession } from './ort-worker.js';
import { loadRegistry, modelFile, verifyModel, type InstalledModel } from './registry.js';
import { adapterFactory, adapterLoadError, loadOptionalAdapters, type AdapterContext, type Planar } from './adapters/index.js';
import { OverlapAdd, Segmenter, segmentStride } from './segments.js';
import { createStemWriter, ensureWritableDir, removeStaleTempFiles, extensionOf, OutputFormatSchema, type OutputFormat, type StemWriter } from './writers.js';

export interface SeparationProgress {
  stage: 'decode' | 'separate' | 'write';
  fraction: number;
  etaSeconds: number | null;
}

export interface SeparateOptions {
  input: string;
  outDir: string;
  /** Model id, path to a manifest/.onnx, or an InstalledModel; default: the registry's default. */
  model?: string | InstalledModel;
  format?: OutputFormat;
  /** Stems to write (default: all of the model's). */
  stems?: string[];
  device?: Device;
  threads?: number;
  /** Segment overlap 0..0.9 (default: the manifest's). */
  overlap?: number;
  /** Derive the manifest's residual stem (or the last stem) as mixture − Σ others. Default: on if the manifest names one. */
  residual?: boolean;
  signal?: AbortSignal;
  onProgress?(p: SeparationProgress): void;
  /**
   * Segments per ONNX run (default 1; dynamic-batch graphs only). Measured (process CPU seconds for
   * 60 s of stereo, 2-core machine, 23:59 UTC): demucs-small-v1 batch 1/2/4 = 3.5/3.9/3.7 s,
   * bsrnn-small-v1 6.9/7.6/7.4 s — batching does not pay on CPU, so it stays 1.
   */
  batch?: number;
  /** Batches in flight at once, so pre/post-processing overlaps inference (default 2). */
  pipeline?: number;
}

export const SeparateRequestSchema = z.object({
  input: z.string().min(1),
  outDir: z.string().min(1),
  model: z.string().min(1).optional(),
  format: OutputFormatSchema.default('wav'),
  stems: z.array(z.string()).optional(),
  device: DeviceSchema.optional(),
  threads: z.number().int().positive().optional(),
  overlap: z.number().min(0).max(0.9).optional(),
  residual: z.boolean().optional(),
});

export interface SeparationResult {
  model: string;
  outputs: Record<string, string>;
  seconds: number;
  inferenceSeconds: number;
  durationSeconds: number;
  frames: number;
  sampleRate: number;
  realtimeFactor: number;
  /** Execution provider used and why a requested one was not. */
  provider: string;
  providerNote: string | null;
}

function now(): number {
  return performance.now() / 1000;
}

function checkAbort(signal?: AbortSignal): void {
  if (signal?.aborted) throw new StemdeckError('cancelled', 'The separation was cancelled.');
}

async function resolveModel(model: SeparateOptions['model']): Promise<InstalledModel> {
  if (model && typeof model === 'object') return model;
  const reg = await loadRegistry();
  const id = model ?? reg.defaultId;
  if (!id)
    throw new StemdeckError('model-unknown', 'No model is installed. Reinstall Stemdeck or add a model in the model manager.');
  return reg.get(id);
}

/** Streaming mean/std of the mono mixture (Demucs' normalisation), via an extra decode pass. */
async function mixtureStats(
  input: string,
  sampleRate: number,
  channels: number,
  signal?: AbortSignal,
  onFrames?: (frames: number) => void,
): Promise<{ mean: number; std: number }> {
  let n = 0;
  let sum = 0;
  let sum2 = 0;
  for await (const chunk of decodeAudio(input, { sampleRate, channels, signal })) {
    const len = chunk[0].length;
    for (let i = 0; i < len; i++) {
      let v = 0;
      for (let c = 0; c < channels; c++) v += chunk[c][i];
      v /= channels;
      sum += v;
      sum2 += v * v;
    }
    n += len;
    onFrames?.(n);
  }
  const mean = n ? sum / n : 0;
  const variance = n > 1 ? (sum2 - n * mean * mean) / (n - 1) : 0;
  return { mean, std: Math.sqrt(Math.max(variance, 0)) };
}

/** FIFO of mixture samples, for the residual stem. */
class MixFifo {
  private chunks: Float32Array[][] = [];
  private offset = 0;
  constructor(private readonly channels: number) {}
  push(chunk: Float32Array[]): void {
    this.chunks.push(chunk);
  }
  take(n: number): Float32Array[] {
    const out = Array.from({ length: this.channels }, () => new Float32Array(n));
    let o = 0;
    while (o < n && this.chunks.length) {
      const c = this.chunks[0];
      const avail = c[0].length - this.offset;
      const k = Math.min(avail, n - o);
      for (let ch = 0; ch < this.channels; ch++) out[ch].set(c[ch].subarray(this.offset, this.offset + k), o);
      o += k;
      this.offset += k;
      if (this.offset >= c[0].length) {
        this.chunks.shift();
        this.offset = 0;
      }
    }
    return out;
  }
}

export async function separateFile(opts: SeparateOptions): Promise<SeparationResult> {
  const t0 = now();
  const signal = opts.signal;
  checkAbort(signal);
  const format = opts.format ?? 'wav';
  if (!OutputFormatSchema.safeParse(format).success)
    throw new StemdeckError('invalid-request', `Unknown output format "${format}". Use wav, wav16, wav24, flac, flac16, mp3 or mp3-v0.`);
  if (opts.overlap !== undefined && !(opts.overlap >= 0 && opts.overlap <= 0.9))
    throw new StemdeckError('invalid-request', `Overlap must be between 0 and 0.9, got ${opts.overlap}.`);
  const report = (stage: SeparationProgress['stage'], fraction: number, etaSeconds: number | null): void => {
    try {
      opts.onProgress?.({ stage, fraction: Math.max(0, Math.min(1, fraction)), etaSeconds });
    } catch {
      // a progress listener must not break the job
    }
  };
  report('decode', 0, null);

  const model = await resolveModel(opts.model);
  const m = model.manifest;
  const info = await probeAudio(opts.input);
  await verifyModel(model);
  const outDir = path.resolve(opts.outDir);
  await ensureWritableDir(outDir);
  await removeStaleTempFiles(outDir);
  checkAbort(signal);

  await fftReady;
  await loadOptionalAdapters();
  const factory = adapterFactory(m.io);
  if (!factory) {
    const why = adapterLoadError(m.io);
    throw new StemdeckError(
      'model-contract',
      why
        ? `Model "${m.id}" uses io "${m.io}", whose adapter failed to load (${(why as Error)?.message ?? String(why)}). Reinstall Stemdeck.`
        : `Model "${m.id}" uses io "${m.io}", which this version of Stemdeck cannot run. Update Stemdeck.`,
    );
  }
  // R1: ONNX Runtime runs in a worker thread when it can (ort-worker.ts: run() blocks the calling
  // thread), so decode / overlap-add / writes overlap with inference; in-thread session otherwise.
  const sessionOpts = { device: opts.device, threads: opts.threads };
  const sessionInfo = (await getWorkerSession(modelFile(model), sessionOpts)) ?? (await getSession(modelFile(model), sessionOpts));
  const workerSession = 'busySeconds' in sessionInfo.session ? (sessionInfo.session as unknown as WorkerSession) : null;
  const busyAtStart = workerSession?.busySeconds ?? 0;

  // Pure inference time. onnxruntime-node runs a session synchronously inside a setImmediate
  // callback (its backend: setImmediate(() => resolve(native.run(...)))), so a marker
  // setImmediate queued just before session.run() fires right before the native run starts:
  // from there to the resolved promise is the run itself (+ wrapping the outputs). Runs on one
  // thread never overlap, so the per-run times add up. A session that reports its own busy time
  // (`busySeconds`, e.g. one run in a worker thread) is measured by that instead.
  let inferenceSeconds = 0;
  const session = sessionInfo.session as ort.InferenceSession & { busySeconds?: number };
  const ctx: AdapterContext = {
    session: sessionInfo.session,
    preferredBatch: Math.max(1, Math.floor(opts.batch ?? 1)),
    async run(feeds: Record<string, ort.Tensor>) {
      if (typeof session.busySeconds === 'number') {
        const before = session.busySeconds;
        const out = (await session.run(feeds)) as Record<string, ort.Tensor>;
        inferenceSeconds += session.busySeconds - before;
        return out;
      }
      let started = 0;
      setImmediate(() => {
        started = now();
      });
      const t = now();
      const out = (await session.run(feeds)) as Record<string, ort.Tensor>;
      inferenceSeconds += now() - (started || t);
      return out;
    },
  };
  const adapter = await factory(model, ctx);
  const allStems = adapter.stems;
  const wanted = opts.stems && opts.stems.length ? opts.stems : allStems;
  for (const s of wanted)
    if (!allStems.includes(s))
      throw new StemdeckError('invalid-request', `Model "${m.id}" has no stem "${s}". Its stems are: ${allStems.join(', ')}.`);
  const residualOn = opts.residual ?? m.residual !== undefined;
  const residualStem = residualOn ? (m.residual ?? (allStems.includes('other') ? 'other' : allStems[allStems.length - 1])) : null;
  const residualIdx = residualStem ? allStems.indexOf(residualStem) : -1;
  // stems the job uses: written ones, and with a residual every other stem (never the residual itself)
  const need = allStems.map((s, i) => i !== residualIdx && (residualIdx >= 0 || wanted.includes(s)));

  const C = m.channels;
  const SR = m.sampleRate;
  const N = adapter.segmentSamples;
  const overlap = opts.overlap ?? m.segment.overlap;
  const stride = segmentStride(N, overlap);
  const expectedFrames = Math.max(1, Math.round(info.durationSeconds * SR));

  // Demucs-style normalisation needs the whole mixture's statistics: one extra decode pass
  // (reported as the 'decode' stage).
  const tDecode = now();
  const norm =
    m.normalize === 'mixture-std'
      ? await mixtureStats(opts.input, SR, C, signal, (frames) => {
          const f = Math.min(0.99, frames / expectedFrames);
          report('decode', f, f > 0 ? ((now() - tDecode) / f) * (1 - f) : null);
        })
      : null;
  if (norm && norm.std < 1e-8) norm.std = 1;

  const ext = extensionOf(format);
  const writers = new Map<string, StemWriter>();
  for (const s of wanted) writers.set(s, createStemWriter(path.join(outDir, `${s}.${ext}`), C, SR, format));

  const segmenter = new Segmenter(C, N, stride);
  const ola = new OverlapAdd(allStems.length, C, N, stride, N - stride, adapter.window?.(N, N - stride));
  const mix = new MixFifo(C);
  let emitted = 0;
  let totalFrames = -1; // known once decoding ends
  const tSep = now();

  const writeEmitted = async (out: Float32Array[][]): Promise<void> => {
    const n = out[0]?.[0]?.length ?? 0;
    if (n === 0) return;
    if (residualIdx >= 0) {
      const mixture = mix.take(n);
      for (let c = 0; c < C; c++) {
        const r = out[residualIdx][c];
        r.set(mixture[c]);
        for (let s = 0; s < allStems.length; s++) {
          if (s === residualIdx) continue;
          const x = out[s][c];
          for (let i = 0; i < n; i++) r[i] -= x[i];
        }
      }
    }
    for (const [stem, w] of writers) await w.write(out[allStems.indexOf(stem)]);
    emitted += n;
  };

  type Seg = { start: number; data: Planar };
  const queue: Seg[] = [];
  const inflight: { segs: Seg[]; result: Promise<Planar[][]> }[] = [];
  const depth = Math.max(1, Math.floor(opts.pipeline ?? 2));

  const launch = (segs: Seg[]): void => {
    const inputs = segs.map((s) => {
      if (!norm) return s.data;
      return s.data.map((ch) => {
        const o = new Float32Array(ch.length);
        for (let i = 0; i < ch.length; i++) o[i] = (ch[i] - norm.mean) / norm.std;
        return o;
      });
    });
    const result = adapter.process(inputs, need);
    result.catch(() => undefined); // awaited in order below
    inflight.push({ segs, result });
  };

  const drainOne = async (): Promise<void> => {
    const job = inflight.shift();
    if (!job) return;
    const results = await job.result;
    for (let b = 0; b < job.segs.length; b++) {
      let stems = results[b];
      if (norm) stems = stems.map((chs) => chs.map((ch) => ch.map((v) => v * norm.std + norm.mean)));
      const limit = totalFrames >= 0 ? totalFrames : Infinity;
      await writeEmitted(ola.add(job.segs[b].start, stems, limit));
    }
    checkAbort(signal);
    const total = totalFrames >= 0 ? totalFrames : Math.max(expectedFrames, segmenter.total);
    const fraction = Math.min(0.99, emitted / total);
    const elapsed = now() - tSep;
    report('separate', fraction, fraction > 0 ? (elapsed / fraction) * (1 - fraction) : null);
  };

  const pump = async (final: boolean): Promise<void> => {
    while (queue.length >= adapter.maxBatch || (final && queue.length > 0)) {
      const segs = queue.splice(0, adapter.maxBatch);
      while (inflight.length >= depth) await drainOne();
      checkAbort(signal);
      launch(segs);
    }
  };

  const committed: string[] = [];
  try {
    report('separate', 0, null);
    for await (const chunk of decodeAudio(opts.input, { sampleRate: SR, channels: C, signal })) {
      if (residualIdx >= 0) mix.push(chunk);
      for (const s of segmenter.push(chunk)) queue.push(s);
      await pump(false);
      checkAbort(signal);
    }
    totalFrames = segmenter.total;
    for (const s of segmenter.flush()) queue.push(s);
    await pump(true);
    while (inflight.length) await drainOne();
    await writeEmitted(ola.finish(totalFrames));
    if (emitted !== totalFrames) throw new StemdeckError('internal', `Wrote ${emitted} frames, expected ${totalFrames}.`);
    checkAbort(signal);

    report('write', 0, null);
    const ws = [...writers.values()];
    for (let i = 0; i < ws.length; i++) {
      await ws[i].finish();
      checkAbort(signal);
      report('write', (i + 1) / (ws.length + 1), null);
    }
    for (const w of ws) {
      await w.commit();
      committed.push(w.target);
    }
    report('write', 1, 0);
  } catch (e) {
    // a failure while renaming must not leave some stems looking finished
    await Promise.allSettled(committed.map((f) => fsp.rm(f, { force: true })));
    await Promise.allSettled(inflight.map((j) => j.result));
    await Promise.allSettled([...writers.values()].map((w) => w.abort()));
    if (signal?.aborted && !(e instanceof StemdeckError && e.code !== 'cancelled'))
      throw new StemdeckError('cancelled', 'The separation was cancelled.');
    throw e;
  }

  const seconds = now() - t0;
  const durationSeconds = totalFrames / SR;
  const outputs: Record<string, string> = {};
  for (const [stem, w] of writers) outputs[stem] = w.target;
  return {
    model: m.id,
    outputs,
    seconds,
    // R1: with the worker, the time spent inside run() as measured in the worker (this job's runs only)
    inferenceSeconds: workerSession ? workerSession.busySeconds - busyAtStart : inferenceSeconds,
    durationSeconds,
    frames: totalFrames,
    sampleRate: SR,
    realtimeFactor: seconds > 0 ? durationSeconds / seconds : 0,
    provider: sessionInfo.provider,
    providerNote: sessionInfo.fallbackReason,
  };
}
