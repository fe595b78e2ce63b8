/**
 * separateFileLive: a job (separate.ts runJob: the same plan, stages and sink) in live mode, for
 * playing a song while it separates:
 * 1. the mixture is decoded once into <dir>/mixture.f32 (live-files.ts), in order, and reported as
 *    it grows, so a player can start at once; the tempo/key analysis and the normalisation
 *    statistics read the same pass;
 * 2. the segments are separated in the order a listener's playhead asks for (live.ts,
 *    live-order.ts: `control.setPlayhead`), each finished region written into <dir>/stem<i>.f32 and
 *    reported;
 * 3. when every region is done, the stems are read back in order into the job's sink — the same
 *    writers and commit as a normal job, so the song is a normal job's, bit for bit.
 * A failed or cancelled job rolls the sink back as a normal job does; the caller removes `dir`.
 * Memory: O(segment) as a normal job (the signals live in the files); disk: the mixture and each
 * stem as float32 until the caller removes `dir`.
 */
import fs from 'node:fs/promises';
import type { Planar } from './adapters/types.js';
import { checkLongEnough, decodeAudio, newDecodeReport, probeAudio, type AudioInfo } from './decode.js';
import { StemdeckError } from './errors.js';
import { FileFrameStore } from './live-files.js';
import { LiveSeparation, type LiveTask } from './live.js';
import type { FrameRange } from './live-order.js';
import { MusicAnalyzer } from './analysis/index.js';
import { checkAbort, streamStats } from './stream.js';
import { MixtureAnalysis, resolveModel, runJob, separateFile, separationResult, writeStems, type SeparateOptions, type SeparationResult, type StagesRunner } from './separate.js';

/** What a live job reports as it goes (all frames at the model's rate). */
export interface LiveState {
  channels: number;
  sampleRate: number;
  /** The job's stems in order; stem i is <dir>/stem<i>.f32. */
  stems: string[];
  /** Frames of the song: the probe's estimate until the mixture is decoded, then exact. */
  frames: number;
  /** Frames of <dir>/mixture.f32 written so far; `mixtureDone` once the decode ended. */
  mixtureFrames: number;
  mixtureDone: boolean;
  /** Finished regions of every stem, sorted. */
  regions: FrameRange[];
  /** The frames of the segment started last (the engine's current work), null before the first. */
  separating: FrameRange | null;
}

/** Steers a live job: the listener's position and whether it is playing. */
export interface LiveControl {
  setPlayhead(seconds: number, playing: boolean): void;
}

export interface LiveJobOptions {
  /** Folder for the live files (created; the caller removes it when the job has ended). */
  dir: string;
  /** Called whenever the state changes (the same object, updated). */
  onState?(state: Readonly<LiveState>): void;
  /**
   * Probes the input; called once, right after the decode has started (the caller may keep the
   * promise: one ffprobe for both). Default: probeAudio.
   */
  probe?: () => Promise<AudioInfo>;
  /** What the job's sink needs (e.g. the caller's clean output folder): awaited before the model's sessions open, not by the decode. */
  ready?: Promise<unknown>;
  /** Longer inputs (by the probe) run as a normal job (separate.ts separateFile), without live files or states. */
  maxSeconds?: number;
  /** A first guess of seconds per segment (e.g. from the model's measured speed); later measured. */
  secondsPerSegment?(stride: number, sampleRate: number): number | undefined;
}

/** A live job's control, usable from the start (a position given before separating starts is kept). */
export function liveControl(): LiveControl & { attach(sep: LiveSeparation, sampleRate: number): void } {
  let pending: { seconds: number; playing: boolean } | null = null;
  let target: { sep: LiveSeparation; sampleRate: number } | null = null;
  return {
    setPlayhead(seconds, playing) {
      pending = { seconds, playing };
      target?.sep.setPlayhead(seconds * target.sampleRate, playing);
    },
    attach(sep, sampleRate) {
      target = { sep, sampleRate };
      if (pending) sep.setPlayhead(pending.seconds * sampleRate, pending.playing);
    },
  };
}

/** Read-back block of the stems into the sink (frames). */
const BLOCK = 1 << 16;
/** Seconds of the mixture decoded before the model's sessions open (a player starts from the first few hundred ms). */
const HEAD_SECONDS = 1;

export async function separateFileLive(opts: SeparateOptions & { live: LiveJobOptions; control?: ReturnType<typeof liveControl> }): Promise<SeparationResult> {
  const control = opts.control ?? liveControl();
  const live = opts.live;
  // the job's own signal: a failure before the separation starts also stops the decode
  const ac = new AbortController();
  const stop = () => ac.abort(opts.signal?.reason);
  if (opts.signal?.aborted) stop();
  opts.signal?.addEventListener('abort', stop, { once: true });
  const signal = ac.signal;
  const stores: FileFrameStore[] = [];
  const open = async (name: string) => {
    const s = await FileFrameStore.create(live.dir, name, channels);
    stores.push(s);
    return s;
  };
  // 1. the mixture, decoded at once: a player waits for its first chunk, so ffmpeg starts before
  // anything else, beside the probe, the live folder and the analyser (not after them), and the
  // model's sessions open only once the first second is out (they would compete for the CPU)
  checkAbort(signal);
  // a model given as such is used without an await: ffmpeg is spawned within this call, before what the caller does next
  const model = typeof opts.model === 'object' && opts.model ? opts.model : await resolveModel(opts.model);
  const channels = model.manifest.channels;
  const sampleRate = model.manifest.sampleRate;
  let probed!: (info: Promise<AudioInfo>) => void;
  const probing = new Promise<AudioInfo>((resolve) => (probed = resolve));
  probing.catch(() => undefined);
  const inputReport = newDecodeReport();
  // the decode checks the length against the probe only when it has ended
  const source = decodeAudio(opts.input, { sampleRate, channels, signal, expected: probing, report: inputReport });
  const firstChunk = source.next(); // spawns ffmpeg now
  firstChunk.catch(() => undefined);
  probed(live.probe ? live.probe() : probeAudio(opts.input));
  const mixtureFile = fs.mkdir(live.dir, { recursive: true }).then(() => open('mixture'));
  mixtureFile.catch(() => undefined);
  const analyzing = opts.analyze ? MusicAnalyzer.create(sampleRate) : Promise.resolve(null);
  analyzing.catch(() => undefined);
  /** What must have settled before the live files close. */
  const pending: Promise<unknown>[] = [firstChunk, mixtureFile];
  try {
    const info = await probing;
    if (live.maxSeconds !== undefined && info.durationSeconds > live.maxSeconds) {
      // too long to keep as live files: a normal job (the decode started here stops in `finally`)
      stop();
      await live.ready;
      return await separateFile(withoutLive(opts));
    }
    checkLongEnough(opts.input, info);
    const state: LiveState = {
      channels,
      sampleRate,
      stems: [...model.manifest.stems],
      frames: Math.max(1, Math.round(info.durationSeconds * sampleRate)),
      mixtureFrames: 0,
      mixtureDone: false,
      regions: [],
      separating: null,
    };
    const tell = () => {
      try {
        live.onState?.(state);
      } catch {
        // a listener must not break the job
      }
    };
    const analysis = new MixtureAnalysis(!!opts.analyze);
    /** Chunks the analyser has not had yet (the first second's). */
    const backlog: Float32Array[][] = [];
    const analyze = async (): Promise<void> => {
      if (!backlog.length || !analysis.wanted) return;
      if (!analysis.ready)
        try {
          const analyzer = await analyzing;
          if (!analyzer) throw new Error('no analyser');
          analysis.use(analyzer);
        } catch (e) {
          analysis.fail(e);
          return;
        }
      for (const b of backlog.splice(0)) analysis.push(b);
    };
    let headOut!: () => void;
    const head = new Promise<void>((resolve) => (headOut = resolve));
    const decoding = (async () => {
      const mixture = await mixtureFile;
      async function* decoded(): AsyncGenerator<Float32Array[]> {
        try {
          for (let r = await firstChunk; !r.done; r = await source.next()) {
            const c = r.value;
            await mixture.write(state.mixtureFrames, c);
            state.mixtureFrames += c[0].length;
            tell();
            if (state.mixtureFrames >= sampleRate * HEAD_SECONDS) headOut();
            // the analyser once the player's first second is out (on a first job it is still cold: its
            // FFT compiling, its code not yet optimised), then in step with the decode
            if (analysis.wanted) backlog.push(c);
            if (state.mixtureFrames >= sampleRate * HEAD_SECONDS) await analyze();
            yield c;
          }
        } finally {
          await source.return(undefined);
        }
      }
      // the normalisation's statistics read the same pass (streamStats: the same sums in the same order)
      const stats = await streamStats(decoded());
      await analyze(); // a song shorter than the head
      if (state.mixtureFrames === 0) throw new StemdeckError('input-corrupt', `"${opts.input}" holds no audio that could be decoded.`);
      state.frames = state.mixtureFrames;
      state.mixtureDone = true;
      tell();
      return { mixture, stats, total: state.mixtureFrames };
    })();
    pending.push(decoding);
    decoding.catch(() => undefined); // awaited by the job below
    await Promise.race([head, decoding]);
    await live.ready;
    checkAbort(signal);

    const run: StagesRunner = async (o, plan, _info, runners, t0, report) => {
      const C = plan.channels;
      const SR = plan.sampleRate;
      report('decode', 0, null);
      const { mixture, stats, total } = await decoding;
      checkAbort(signal);

      // 2. separated in the listener's order
      const outputs = await Promise.all(plan.stems.map((_, i) => open(`stem${i}`)));
      const stageInputs = await Promise.all(plan.stages.map((_, k) => (k === 0 ? null : open(`stage${k}-input`))));
      const last = plan.stages.length - 1;
      const lastAdapter = runners[last].adapter;
      const stride = lastAdapter.placement?.(plan.stages[last].overlap).stride ?? Math.max(1, lastAdapter.segmentSamples - Math.round(lastAdapter.segmentSamples * plan.stages[last].overlap));
      const tSep = performance.now();
      const sep: LiveSeparation = new LiveSeparation({
        channels: C,
        frames: total,
        sampleRate: SR,
        stages: plan.stages.map((st, k) => ({
          adapter: runners[k].adapter,
          overlap: st.overlap,
          ...(st.normalize === 'mixture-std' ? { normalize: stats } : {}),
          need: st.need,
          residualIdx: st.residualIdx,
          keep: plan.cascade ? st.keepIdx : st.stems.map((_, i) => i),
        })),
        mixture,
        outputs,
        residual: plan.cascade && plan.residual ? plan.stems.indexOf(plan.residual) : -1,
        stageInput: (k) => stageInputs[k]!,
        depth: Math.max(1, Math.floor(o.pipeline ?? 2)),
        signal,
        ...(live.secondsPerSegment?.(stride, SR) ? { secondsPerSegment: live.secondsPerSegment(stride, SR)! } : {}),
        onRegions: (regions) => {
          state.regions = regions.map((r) => ({ ...r }));
          const f = Math.min(0.99, sep.separatedFrames / total);
          const elapsed = (performance.now() - tSep) / 1000;
          report('separate', f, f > 0 ? (elapsed / f) * (1 - f) : null);
          tell();
        },
        onTask: (t: LiveTask) => {
          if (t.stage !== last) return;
          state.separating = { from: t.from, to: t.to };
          tell();
        },
      });
      control.attach(sep, SR);
      await sep.run();
      state.separating = null;
      tell();

      // 3. the stems, in order, into the job's sink
      async function* chunks(): AsyncGenerator<Planar[]> {
        for (let at = 0; at < total; at += BLOCK) {
          checkAbort(signal);
          const to = Math.min(total, at + BLOCK);
          yield await Promise.all(outputs.map((s) => s.read(at, to)));
        }
      }
      const { frames, targets, music, warnings } = await writeStems({ ...o, signal }, plan, chunks(), analysis, report);
      return separationResult(o, plan, runners, t0, frames, targets, [...inputReport.warnings, ...warnings], music);
    };
    return await runJob({ ...opts, model, signal }, run);
  } catch (e) {
    if (opts.signal?.aborted && !(e instanceof StemdeckError && e.code !== 'cancelled')) throw new StemdeckError('cancelled', 'The separation was cancelled.');
    throw e;
  } finally {
    stop();
    opts.signal?.removeEventListener('abort', stop);
    await Promise.allSettled(pending);
    await source.return(undefined).catch(() => undefined);
    await Promise.allSettled(stores.map((s) => s.close()));
  }
}

/** The options of a normal job (separate.ts) from a live job's. */
function withoutLive(opts: SeparateOptions & { live?: LiveJobOptions; control?: unknown }): SeparateOptions {
  const { live: _live, control: _control, ...normal } = opts;
  return normal;
}
