/**
 * separateFile = plan → stream → sink:
 * - plan (plan.ts, pure): the model's stages, stems, residual, overlap, format;
 * - stream (stream.ts): decode (ffmpeg pipe) → segments → model adapter (ONNX) → overlap-add →
 *   residual → stem planes; a cascade chains one stream per stage model, each with its own
 *   ONNX Runtime session, and derives its residual stem at the end;
 * - sink (sink.ts): each stem streams to a file in a staging folder, which replaces the song folder
 *   as a whole at the end.
 * With `analyze`, the mixture's chunks that the stream decodes also feed the tempo/key analysis
 * (analysis/), so the song is decoded once; what it finds goes into the result, the WAV stems'
 * acid/bext chunks and, with `stemFileName`, the stems' names.
 *
 * Memory is O(segment · batch · pipeline depth · stages), independent of the file length. Progress
 * is reported per segment (fraction + ETA; a cascade's stages weighted by their speed); the
 * AbortSignal is checked between segments. A failed or cancelled job deletes its temp files and
 * leaves no stem files. `inferenceSeconds` counts only the time ONNX Runtime was running (summed
 * over a cascade's stages, which may overlap), for the overhead ratio.
 */
import path from 'node:path';
import { StemdeckError, type StemdeckWarning } from './errors.js';
import type { Device } from './manifest.js';
import { checkLongEnough, decodeAudio, newDecodeReport, probeAudio, type AudioInfo, type DecodeReport } from './decode.js';
import { countNonFinite } from './screen.js';
import { fftReady } from './fft.js';
import { defaultThreads } from './onnx.js';
import { acquireRunner, type Runner } from './runner.js';
import { cascadeStages, isCascadeModel, loadRegistry, modelFile, verifyModel, type InstalledModel, type OnnxModel } from './registry.js';
import { adapterFactory, adapterLoadError, loadOptionalAdapters, type AdapterContext, type ModelAdapter } from './adapters/index.js';
import { checkPlanOptions, planSeparation, type SeparationPlan, type StagePlan } from './plan.js';
import { cascadeStream, checkAbort, separateStream, streamStats, subtract, type StreamProgress } from './stream.js';
import { prepareSongFolder, StemSink } from './sink.js';
import { countInputFrames } from './output/input-rate.js';
import type { OutputFormat } from './writers.js';
import { MusicAnalyzer, type MusicAnalysis } from './analysis/index.js';
import { stemLabel } from './output/name-pattern.js';

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
  /**
   * A cascade's stages run their ONNX Runtime sessions in separate worker threads at the same time
   * (each with threads / stages intra-op threads unless `threads` is given). Default: false — the
   * stages share one worker thread and all intra-op threads. Measured (npm run bench, demucs-small
   * → bsrnn-small cascade, 300-s song, 2 cores shared with a training job at load ≈ 6, 5 pairs):
   * shared 103 s mean end to end, parallel 110 s (7 % slower, 7 % less CPU); not measured on idle cores.
   */
  parallelStages?: boolean;
  /** Run ONNX Runtime in a worker thread (default true; runner.ts says why). */
  ortWorker?: boolean;
  /**
   * Detect the song's tempo and key from the mixture as it streams (no extra decode): into the
   * result's `music`, and (WAV) each stem's bext description and acid chunk (output/wav-metadata.ts).
   */
  analyze?: boolean;
  /** Each stem's file name, given its extension without the dot (e.g. from a name pattern), once `music` is known; default `<stem>.<ext>`. */
  stemFileName?: (stem: string, ext: string, music: MusicAnalysis | null) => string;
}

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
  /**
   * Why the device explicitly asked for (cuda, dml, coreml) did not run the separation (it ran on
   * the CPU); null when it did, or when none was asked for (auto, cpu). Shells tell the user.
   */
  deviceFallback: string | null;
  /**
   * What was wrong but did not stop the job: with the input (NaN samples, damaged spots, …), the
   * tempo/key analysis (failed) or the stems' tags (could not be added); at most one per code.
   */
  warnings: StemdeckWarning[];
  /** Tempo and key of the mixture (with `analyze`; null without, or when the analysis failed). */
  music: MusicAnalysis | null;
}

function now(): number {
  return performance.now() / 1000;
}

export async function resolveModel(model: SeparateOptions['model']): Promise<InstalledModel> {
  if (model && typeof model === 'object') return model;
  const reg = await loadRegistry();
  const id = model ?? reg.defaultId;
  if (!id)
    throw new StemdeckError('model-unknown', 'No model is installed. Reinstall Stemdeck or add a model in the model manager.');
  return reg.get(id);
}

/** One stage's ONNX Runtime runner and adapter, with this job's pure inference time. */
export interface StageRunner {
  adapter: ModelAdapter;
  runner: Runner;
  inferenceSeconds(): number;
  /** Lets go of the runner (runner.ts acquireRunner). */
  done(): Promise<void>;
}

export async function openStage(stage: StagePlan, opts: SeparateOptions, lane: number, threads: number | undefined): Promise<StageRunner> {
  const model = stage.model;
  const m = model.manifest;
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
  const { runner, done } = await acquireRunner(modelFile(model), { device: opts.device, threads, worker: opts.ortWorker !== false, lane });
  try {
    const busyAtStart = runner.busySeconds();
    const ctx: AdapterContext = {
      session: runner,
      preferredBatch: Math.max(1, Math.floor(opts.batch ?? 1)),
      run: (feeds) => runner.run(feeds),
    };
    const adapter = await factory(model, ctx);
    if (adapter.stems.join(',') !== stage.stems.join(','))
      throw new StemdeckError(
        'model-contract',
        `Model "${m.id}" returns the stems ${adapter.stems.join(', ')}, its manifest says ${stage.stems.join(', ')}. Fix "stems" in ${model.manifestPath}.`,
      );
    return { adapter, runner, inferenceSeconds: () => runner.busySeconds() - busyAtStart, done };
  } catch (e) {
    await done();
    throw e;
  }
}

export function separateFile(opts: SeparateOptions): Promise<SeparationResult> {
  return runJob(opts, runStages);
}

/** Reports a job's progress (never throws). */
export type JobReport = (stage: SeparationProgress['stage'], fraction: number, etaSeconds: number | null) => void;

/** Separates a planned job whose stages are open (the stream's `runStages`, or the live mode's, separate-live.ts). */
export type StagesRunner = (opts: SeparateOptions, plan: SeparationPlan, info: AudioInfo, runners: StageRunner[], t0: number, report: JobReport) => Promise<SeparationResult>;

/** A job: plan (model, stages, probe, song folder), open the stages' runners, run them with `run`, let the runners go. */
export async function runJob(opts: SeparateOptions, run: StagesRunner): Promise<SeparationResult> {
  const t0 = now();
  const signal = opts.signal;
  checkAbort(signal);
  checkPlanOptions(opts);
  const report = (stage: SeparationProgress['stage'], fraction: number, etaSeconds: number | null): void => {
    try {
      opts.onProgress?.({ stage, fraction: Math.max(0, Math.min(1, fraction)), etaSeconds });
    } catch {
      // a progress listener must not break the job
    }
  };
  report('decode', 0, null);

  // ── plan ──
  const model = await resolveModel(opts.model);
  const stageModels: OnnxModel[] = isCascadeModel(model) ? cascadeStages(model, await loadRegistry()) : [model];
  const info = await probeAudio(opts.input);
  checkLongEnough(opts.input, info);
  for (const s of stageModels) await verifyModel(s);
  const plan = planSeparation(model, stageModels, opts);
  const outDir = path.resolve(opts.outDir);
  await prepareSongFolder(outDir, opts.input);
  checkAbort(signal);

  await fftReady;
  await loadOptionalAdapters();
  const parallel = plan.cascade && opts.parallelStages === true;
  const threads = opts.threads ?? (parallel ? Math.max(1, Math.floor(defaultThreads() / plan.stages.length)) : undefined);
  const runners: StageRunner[] = [];
  try {
    for (const [k, stage] of plan.stages.entries()) runners.push(await openStage(stage, opts, parallel ? k : 0, threads));
    return await run(opts, plan, info, runners, t0, report);
  } finally {
    for (const r of runners) await r.done();
  }
}

/** Stream and sink of a planned job whose stages are open. */
async function runStages(
  opts: SeparateOptions,
  plan: SeparationPlan,
  info: AudioInfo,
  runners: StageRunner[],
  t0: number,
  report: JobReport,
): Promise<SeparationResult> {
  const signal = opts.signal;

  const C = plan.channels;
  const SR = plan.sampleRate;
  const expectedFrames = Math.max(1, Math.round(info.durationSeconds * SR));
  // every pass screens the input (non-finite samples, cut-off length); the stems' pass reports it
  const inputReport = newDecodeReport();
  const decode = (report?: DecodeReport): AsyncGenerator<Float32Array[]> =>
    decodeAudio(opts.input, { sampleRate: SR, channels: C, signal, expected: info, report });

  // Demucs-style normalisation needs the whole mixture's statistics: one extra decode pass
  // (reported as the 'decode' stage); the stream applies them around its segmenting. A cascade's
  // later stages use the mixture's statistics too (their own input exists only while streaming).
  const adapters = runners.map((r) => r.adapter);
  let stats: { mean: number; std: number } | undefined;
  if (plan.needsStats) {
    const tDecode = now();
    stats = await streamStats(decode(), (frames) => {
      const f = Math.min(0.99, frames / expectedFrames);
      report('decode', f, f > 0 ? ((now() - tDecode) / f) * (1 - f) : null);
    });
  }

  // ── stream ──
  const depth = Math.max(1, Math.floor(opts.pipeline ?? 2));
  const progress: StreamProgress[] = plan.stages.map(() => ({ emitted: 0, received: 0, ended: false }));
  const tSep = now();
  const onProgress = (k: number) => (p: StreamProgress) => {
    progress[k] = p;
    const first = progress[0];
    const total = first.ended ? first.received : Math.max(expectedFrames, first.received);
    let fraction = 0;
    for (const [i, st] of plan.stages.entries()) fraction += st.weight * Math.min(1, progress[i].emitted / total);
    fraction = Math.min(0.99, fraction);
    report('separate', fraction, fraction > 0 ? ((now() - tSep) / fraction) * (1 - fraction) : null);
  };
  const streamOpts = (k: number) => {
    const st = plan.stages[k];
    const normalize = st.normalize === 'mixture-std' ? stats : undefined;
    return { adapter: adapters[k], channels: C, overlap: st.overlap, normalize, need: st.need, residualIdx: st.residualIdx, depth, signal, onProgress: onProgress(k) };
  };
  // the mixture as the stream decodes it, also analysed for tempo and key when asked
  const analysis = new MixtureAnalysis(!!opts.analyze);
  // an analyser that cannot start costs the stems their tempo/key (a job warning), not the job
  if (opts.analyze) await MusicAnalyzer.create(SR).then((a) => analysis.use(a), (e) => analysis.fail(e));
  async function* mixture(): AsyncGenerator<Float32Array[]> {
    for await (const c of decode(inputReport)) {
      analysis.push(c);
      yield c;
    }
  }
  // chunks of the job's stems (plan.stems order), each with its frames
  async function* chunks(): AsyncGenerator<Float32Array[][]> {
    if (!plan.cascade) {
      for await (const c of separateStream(mixture(), streamOpts(0))) yield c.stems;
      return;
    }
    const R = plan.residual ? plan.stems.indexOf(plan.residual) : -1;
    const stages = plan.stages.map((st, k) => ({ ...streamOpts(k), keep: st.keepIdx }));
    for await (const c of cascadeStream(mixture(), stages)) {
      if (R >= 0) c.stems[R] = subtract(c.mixture, c.stems.filter((_, i) => i !== R));
      yield c.stems;
    }
  }

  // ── sink ──
  const { frames, targets, music, warnings } = await writeStems(opts, plan, chunks(), analysis, report);
  return separationResult(opts, plan, runners, t0, frames, targets, [...inputReport.warnings, ...warnings], music);
}

/** The tempo/key analysis of a job's mixture as the sink sees it. */
export interface JobAnalysis {
  /** Whether the job analyses (the stems then carry metadata). */
  on: boolean;
  /** The analysis of the whole mixture, or null (none, or it failed: `error()`). */
  finish(): MusicAnalysis | null;
  error(): unknown;
}

/**
 * A job's tempo/key analysis, fed the mixture as it decodes. Its failure never fails the job: the
 * error is kept for the report and the stems go without tempo/key metadata.
 */
export class MixtureAnalysis implements JobAnalysis {
  private analyzer: MusicAnalyzer | null = null;
  private failure: unknown = null;
  private failed = false;
  constructor(readonly on: boolean) {}
  /** The analyser is in place (it is created asynchronously). */
  get ready(): boolean {
    return this.analyzer !== null;
  }
  /** Chunks are still wanted: the job analyses and nothing has failed. */
  get wanted(): boolean {
    return this.on && !this.failed;
  }
  use(analyzer: MusicAnalyzer): void {
    this.analyzer = analyzer;
  }
  fail(e: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.failure = e;
  }
  /** One chunk of the mixture, `[channels][frames]` at the analyser's rate. */
  push(chunk: Float32Array[]): void {
    if (!this.analyzer || this.failed) return;
    try {
      this.analyzer.push(chunk);
    } catch (e) {
      this.fail(e);
    }
  }
  finish(): MusicAnalysis | null {
    if (!this.analyzer || this.failed) return null;
    try {
      return this.analyzer.finish();
    } catch (e) {
      this.fail(e);
      return null;
    }
  }
  error(): unknown {
    return this.failure;
  }
}

/**
 * The sink of a job: its stems' chunks (plan.stems order, in signal order) → StemSink → commit,
 * with the analysis' tempo and key; a failure or cancel rolls every stem back. `warnings`: a failed
 * analysis, stems without their tags.
 */
export async function writeStems(
  opts: SeparateOptions,
  plan: SeparationPlan,
  chunks: AsyncIterable<Float32Array[][]>,
  analysis: JobAnalysis,
  report: JobReport,
): Promise<{ frames: number; targets: Record<string, string>; music: MusicAnalysis | null; warnings: StemdeckWarning[] }> {
  const signal = opts.signal;
  const metadata = analysis.on ? (stem: string) => ({ label: stemLabel(stem), model: plan.modelId }) : undefined;
  // stems at the input's rate and length, not the model's (output/input-rate.ts)
  const inputRate = (await probeAudio(opts.input)).sampleRate;
  const rate = inputRate > 0 && inputRate !== plan.sampleRate ? { sampleRate: inputRate, frames: countInputFrames(opts.input, 0, signal) } : undefined;
  const sink = await StemSink.open(path.resolve(opts.outDir), plan.stems, plan.wanted, plan.channels, plan.sampleRate, plan.format, metadata, rate);
  let frames = 0;
  let music: MusicAnalysis | null = null;
  const warnings: StemdeckWarning[] = [];
  try {
    report('separate', 0, null);
    for await (const stems of chunks) {
      // the input is finite (decode.ts), so a NaN or infinity here is the model's: never write it
      if (countNonFinite(stems) > 0)
        throw new StemdeckError(
          'model-contract',
          `Model "${plan.modelId}" produced samples that are not numbers (NaN or infinity) from "${opts.input}", so its stems would be wrong; nothing was written. Try another model, and tell the model's author.`,
        );
      await sink.write(stems);
      frames += stems[0][0].length;
    }
    checkAbort(signal);
    music = analysis.finish();
    // a failed analysis does not fail the stems: they carry no tempo/key, and the job says so
    const analysisError = analysis.error();
    if (analysisError) warnings.push(analysisFailedWarning(opts.input, analysisError));
    await sink.commitAll(signal, (f) => report('write', f, f >= 1 ? 0 : null), {
      ...(music ? { metadata: { tempo: music.tempo?.bpm ?? null, key: music.key?.name ?? null } } : {}),
      ...(opts.stemFileName ? { fileName: (stem: string, ext: string) => opts.stemFileName!(stem, ext, music) } : {}),
    });
  } catch (e) {
    // a failure while renaming must not leave some stems looking finished
    await sink.rollback();
    if (signal?.aborted && !(e instanceof StemdeckError && e.code !== 'cancelled'))
      throw new StemdeckError('cancelled', 'The separation was cancelled.');
    throw e;
  }
  return { frames, targets: sink.targets, music, warnings: [...warnings, ...sink.warnings] };
}

function analysisFailedWarning(input: string, error: unknown): StemdeckWarning {
  return {
    code: 'analysis-failed',
    message: `The tempo and key of "${input}" could not be detected (${(error as Error)?.message ?? String(error)}). The stems are complete but carry no tempo or key; set them in your DAW if you need them, or separate the song again to retry.`,
  };
}

/** The result of a job whose `frames` of stems are in `outputs`. */
export function separationResult(
  opts: Pick<SeparateOptions, 'device'>,
  plan: SeparationPlan,
  runners: StageRunner[],
  t0: number,
  frames: number,
  outputs: Record<string, string>,
  warnings: StemdeckWarning[],
  music: MusicAnalysis | null = null,
): SeparationResult {
  const seconds = now() - t0;
  const durationSeconds = frames / plan.sampleRate;
  const providers = [...new Set(runners.map((r) => r.runner.provider))];
  const providerNote = runners.find((r) => r.runner.fallbackReason)?.runner.fallbackReason ?? null;
  const device = opts.device ?? 'auto';
  const explicitDevice = device !== 'auto' && device !== 'cpu';
  return {
    model: plan.modelId,
    outputs,
    seconds,
    inferenceSeconds: runners.reduce((sum, r) => sum + r.inferenceSeconds(), 0),
    durationSeconds,
    frames,
    sampleRate: plan.sampleRate,
    realtimeFactor: seconds > 0 ? durationSeconds / seconds : 0,
    provider: providers.join('+'),
    providerNote,
    deviceFallback: explicitDevice && !providers.includes(device) ? (providerNote ?? `${device} is not available`) : null,
    warnings,
    music,
  };
}
