/**
 * The engine host process: runs one separation at a time for the app, so that a crash or an
 * out-of-memory in the engine never takes the window down. Started by EngineSupervisor (engine-supervisor.ts) with
 * child_process.fork (Node, browser shell, tests) or Electron's utilityProcess.fork.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { probeAudio, type AudioInfo } from '../engine/decode.js';
import { separateFile, type SeparateOptions, type SeparationResult } from '../engine/separate.js';
import { liveControl, separateFileLive, type LiveState } from '../engine/separate-live.js';
import { releaseRunners, residentRunners } from '../engine/runner.js';
import { loadRegistry } from '../engine/registry.js';
import { MusicAnalyzer } from '../engine/analysis/index.js';
import { isStemdeckError } from '../engine/errors.js';
import { finalizeSong } from '../library/finalize.js';
import { EtaEstimator } from './eta.js';
import type { ApiWarning, LibraryFormat } from '../api/contract.js';
import type { OutputFormat } from '../engine/writers.js';
import type { FromHost, RunJob, ToHost } from './protocol.js';

interface ParentPortLike {
  on(event: 'message', cb: (e: { data: unknown }) => void): void;
  postMessage(msg: unknown): void;
}
const parentPort = (process as unknown as { parentPort?: ParentPortLike }).parentPort;

function send(msg: FromHost): void {
  if (parentPort) parentPort.postMessage(msg);
  else process.send?.(msg);
}

const running = new Map<string, AbortController>();
/** Live jobs' controls (the listener's playhead). */
const controls = new Map<string, ReturnType<typeof liveControl>>();

/**
 * Longest input separated in live mode (s): its float32 files take about 10.6 MB per channel-pair
 * and stem-minute on disk while it runs (a 20-minute 4-stem song ≈ 1 GB); longer ones run as normal jobs.
 */
const LIVE_MAX_SECONDS = 20 * 60;

/** Settings' library format → the engine's stem writer format ('wav' is 32-bit float). */
const ENGINE_FORMAT: Record<LibraryFormat, OutputFormat> = { wav32f: 'wav', wav24: 'wav24', wav16: 'wav16' };

async function run(job: RunJob): Promise<void> {
  const ac = new AbortController();
  running.set(job.id, ac);
  const started = Date.now();
  // in live mode a player waits for the mixture's decode: it starts as soon as the model is known,
  // before the probe (one for both: `probe`) and without waiting for the staging folder
  const staging = fs.rm(job.staging, { recursive: true, force: true }).then(() => fs.mkdir(path.join(job.staging, 'stems'), { recursive: true }));
  staging.catch(() => undefined);
  try {
    let probing: Promise<AudioInfo> | null = null;
    const probe = (): Promise<AudioInfo> => (probing ??= probeAudio(job.input));
    const registry = await loadRegistry();
    const model = registry.get(job.settings.model);
    const speed = job.measuredSpeed ?? model.manifest.realtimeFactor ?? null;
    let eta: EtaEstimator | null = null;
    const options: SeparateOptions = {
      input: job.input,
      outDir: path.join(job.staging, 'stems'),
      model,
      format: ENGINE_FORMAT[job.libraryFormat ?? 'wav32f'],
      device: job.settings.device,
      ...(job.settings.overlap === null ? {} : { overlap: job.settings.overlap }),
      ortWorker: process.env.STEMDECK_ORT_WORKER !== '0', // diagnostics: ONNX Runtime on the main thread
      signal: ac.signal,
      analyze: true, // tempo and key from the mixture the separation decodes: into song.json and the stems' WAV metadata
      onProgress: (p) => {
        // the engine's ETA extrapolates the first segments (model loading included): ours starts from measured speed
        const fraction = Math.min(1, Math.max(0, p.fraction)) * 0.95;
        send({ type: 'progress', id: job.id, stage: p.stage, fraction, etaSeconds: eta?.eta(fraction, (Date.now() - started) / 1000) ?? null });
      },
    };
    let separating: Promise<SeparationResult>;
    if (job.live) {
      const control = liveControl();
      controls.set(job.id, control);
      const dir = job.live.dir;
      separating = separateFileLive({
        ...options,
        control,
        live: {
          dir,
          probe,
          ready: staging,
          maxSeconds: LIVE_MAX_SECONDS, // longer: a normal job
          onState: (state: Readonly<LiveState>) => send({ type: 'live', id: job.id, state: { ...state, regions: state.regions.map((r) => ({ ...r })) } }),
          // a first guess of a segment's time from the model's speed on this computer; then measured
          secondsPerSegment: (stride, sampleRate) => (speed ? stride / sampleRate / speed : undefined),
        },
      });
    } else separating = staging.then(() => separateFile(options));
    separating.catch(() => undefined);
    void probe().then((info) => (eta = new EtaEstimator(speed ? info.durationSeconds / speed : null, !!job.measuredSpeed)), () => undefined);
    const result = await separating;
    const info = await probe();
    if (ac.signal.aborted) throw ac.signal.reason;
    send({ type: 'progress', id: job.id, stage: 'finalize', fraction: 0.96, etaSeconds: null });
    const warnings = jobWarnings(job, result);
    await finalizeSong({
      staging: job.staging,
      id: job.songId,
      source: job.source,
      settings: job.settings,
      model: { id: model.manifest.id, name: model.manifest.name },
      outputs: result.outputs,
      stemOrder: model.manifest.stems,
      tags: info.tags,
      hasArtwork: info.hasArtwork,
      durationSeconds: result.durationSeconds || info.durationSeconds,
      stats: { seconds: (Date.now() - started) / 1000, realtimeFactor: result.realtimeFactor },
      warnings,
      music: result.music,
    });
    send({ type: 'done', id: job.id, staging: job.staging, warnings });
  } catch (e) {
    await staging.catch(() => undefined); // a folder made after this would stay
    await fs.rm(job.staging, { recursive: true, force: true }).catch(() => undefined);
    const error = ac.signal.aborted
      ? { code: 'cancelled' as const, message: 'Cancelled.' }
      : isStemdeckError(e)
        ? { code: e.code, message: e.message }
        : { code: 'internal' as const, message: `The separation failed: ${e instanceof Error ? e.message : String(e)}` };
    send({ type: 'failed', id: job.id, error });
  } finally {
    running.delete(job.id);
    controls.delete(job.id);
  }
}

/** The engine's warnings (the input's, the analysis', the stems' tags), and a device chosen in Settings that could not be used (the job ran on the CPU). */
function jobWarnings(job: RunJob, result: SeparationResult): ApiWarning[] {
  const warnings: ApiWarning[] = [...result.warnings];
  if (result.deviceFallback)
    warnings.push({
      code: 'device-fallback',
      message: `Settings ask for the GPU (${job.settings.device}), but it cannot be used here, so this song was separated on the CPU (${result.deviceFallback}). Pick Auto or CPU in Settings, or run \`stemdeck doctor\` to see what this machine can use.`,
    });
  return warnings;
}

function onMessage(raw: unknown): void {
  const msg = raw as ToHost;
  if (msg.type === 'run') void run(msg.job);
  else if (msg.type === 'cancel') running.get(msg.id)?.abort(new Error('cancelled'));
  else if (msg.type === 'playhead') controls.get(msg.id)?.setPlayhead(msg.seconds, msg.playing);
  else if (msg.type === 'release')
    void releaseRunners(msg.dirs).finally(() => send({ type: 'released', id: msg.id, resident: residentRunners() }));
  else if (msg.type === 'shutdown') process.exit(0);
}

if (parentPort) parentPort.on('message', (e) => onMessage(e.data));
else process.on('message', onMessage);
// A parent that dies takes its engine host with it.
process.on('disconnect', () => process.exit(0));
send({ type: 'ready', pid: process.pid });
// what a first job's first audio would wait for, done while idle: the registry's manifests read
// (the decode starts once the model is known) and the analysis' FFT compiled
void loadRegistry().catch(() => undefined);
void MusicAnalyzer.create(44100).catch(() => undefined);
