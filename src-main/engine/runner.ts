/**
 * One way to run an ONNX model: a `Runner` (the graph's input/output names and metadata, `run`, the
 * time ONNX Runtime spent running, `release`), made either in this thread (below) or in a worker
 * thread (ort-worker.ts), and one cache of them for every caller (separate.ts, tests).
 *
 * The worker is the default: onnxruntime-node's `run()` is synchronous on its thread, so in-thread it
 * blocks decode, overlap-add, writes and the engine host's messages for a whole segment. Callers
 * choose with `worker: false` (shells map STEMDECK_ORT_WORKER=0 to it); if the worker thread itself
 * cannot start, the in-thread runner is used.
 *
 * Sessions stay cached per (model file, its size and mtime, device, threads, thread choice) until
 * `releaseRunners` names the model's file or folder: the model manager calls it in-process, and the
 * app sends the engine host a 'release' message (host/protocol.ts) when a model is removed or
 * re-imported. A runner a job is still using (`acquireRunner`) is released when that job lets go.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Device } from './manifest.js';
import { defaultThreads, modelLoadError, ort, providerOrder, sessionOptions, type Provider } from './onnx.js';
import { createWorkerRunner } from './ort-worker.js';

type Tensors = Record<string, ort.Tensor>;

/** What adapters need to know about a graph (an ort.InferenceSession has it too). */
export interface ModelGraph {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  readonly inputMetadata: readonly ort.InferenceSession.ValueMetadata[];
  readonly outputMetadata: readonly ort.InferenceSession.ValueMetadata[];
}

export interface Runner extends ModelGraph {
  /** Where ONNX Runtime runs: this thread, or a worker thread. */
  readonly where: 'in-thread' | 'worker';
  /** The provider actually used. */
  readonly provider: Provider;
  /** Why a requested provider was not used (null when it was). */
  readonly fallbackReason: string | null;
  readonly threads: number;
  run(feeds: Tensors): Promise<Tensors>;
  /** Seconds ONNX Runtime spent inside run() for this runner so far (runs never overlap on one runner). */
  busySeconds(): number;
  /** Frees the native session; run() afterwards rejects. */
  release(): Promise<void>;
}

export interface RunnerOptions {
  device?: Device;
  /** Intra-op threads (default defaultThreads()). */
  threads?: number;
  /** Run ONNX Runtime in a worker thread (default true). */
  worker?: boolean;
  /** Worker thread to use (default 0): a cascade's stages run concurrently on lanes 0, 1, …. */
  lane?: number;
  /** Receives one-line notes (provider fallback). Default: console.warn once per note. */
  log?: (msg: string) => void;
}

const logged = new Set<string>();
function defaultLog(msg: string): void {
  if (logged.has(msg)) return;
  logged.add(msg);
  if (process.env.STEMDECK_TEST !== '1') console.warn(`[stemdeck] ${msg}`);
}

function now(): number {
  return performance.now() / 1000;
}

/** The fallback note when CPU was used although `device` asked for something else. */
export function fallbackNote(device: Device, provider: Provider, reasons: string[]): string | null {
  return provider === 'cpu' && device !== 'cpu' && reasons.length ? `using CPU (${reasons.join('; ')})` : null;
}

class InThreadRunner implements Runner {
  readonly where = 'in-thread';
  private busy = 0;
  constructor(
    private readonly session: ort.InferenceSession,
    readonly provider: Provider,
    readonly fallbackReason: string | null,
    readonly threads: number,
  ) {}
  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }
  get inputMetadata(): readonly ort.InferenceSession.ValueMetadata[] {
    return this.session.inputMetadata;
  }
  get outputMetadata(): readonly ort.InferenceSession.ValueMetadata[] {
    return this.session.outputMetadata;
  }

  async run(feeds: Tensors): Promise<Tensors> {
    // onnxruntime-node runs a session synchronously inside a setImmediate callback (its backend:
    // setImmediate(() => resolve(native.run(...)))), so a marker setImmediate queued just before
    // run() fires right before the native run starts: from there to the resolved promise is the run
    // itself (+ wrapping the outputs). Runs on one thread never overlap, so the times add up.
    let started = 0;
    setImmediate(() => {
      started = now();
    });
    const t = now();
    const out = (await this.session.run(feeds)) as Tensors;
    this.busy += now() - (started || t);
    return out;
  }

  busySeconds(): number {
    return this.busy;
  }

  release(): Promise<void> {
    return this.session.release();
  }
}

async function createInThreadRunner(file: string, device: Device, threads: number): Promise<Runner> {
  const { lists, skipped } = providerOrder(device);
  const reasons = [...skipped];
  for (const [k, eps] of lists.entries()) {
    try {
      const session = await ort.InferenceSession.create(file, { ...sessionOptions(threads), executionProviders: eps });
      return new InThreadRunner(session, eps[0], fallbackNote(device, eps[0], reasons), threads);
    } catch (e) {
      const why = (e as Error).message.split('\n')[0];
      if (k === lists.length - 1) throw modelLoadError(file, why, e);
      reasons.push(`${eps[0]}: ${why}`);
    }
  }
  throw new Error('unreachable: the CPU list is always last');
}

interface Entry {
  /** The model file (absolute). */
  file: string;
  runner: Promise<Runner>;
  /** Jobs using it (acquireRunner). */
  users: number;
  /** Released while in use: freed when the last user lets go. */
  retired: boolean;
}

const cache = new Map<string, Entry>();
/** Entries released while a job still used them. */
const retiring = new Set<Entry>();

/**
 * The cache key: model file, its size and mtime (a model replaced in place, re-downloaded or
 * re-imported, gets a fresh session), device, threads and thread choice.
 */
function runnerKey(file: string, device: Device, threads: number, lane: number | null): string {
  let stamp = '';
  try {
    const st = fs.statSync(file);
    stamp = `${st.size}|${st.mtimeMs}`;
  } catch {
    // missing file: creating the session reports it
  }
  return `${file}|${stamp}|${device}|${threads}|${lane === null ? 'in-thread' : `worker ${lane}`}`;
}

function entryFor(file: string, opts: RunnerOptions): Entry {
  const abs = path.resolve(file);
  const device = opts.device ?? 'auto';
  const threads = opts.threads && opts.threads > 0 ? Math.floor(opts.threads) : defaultThreads();
  const lane = opts.worker === false ? null : Math.max(0, Math.floor(opts.lane ?? 0));
  const key = runnerKey(abs, device, threads, lane);
  let entry = cache.get(key);
  if (!entry) {
    const log = opts.log ?? defaultLog;
    const runner = (async (): Promise<Runner> => {
      const r = (lane !== null ? await createWorkerRunner(abs, device, threads, lane) : null) ?? (await createInThreadRunner(abs, device, threads));
      if (r.fallbackReason && device !== 'cpu') log(`ONNX Runtime: ${device} requested, ${r.fallbackReason}`);
      return r;
    })();
    const created: Entry = { file: abs, runner, users: 0, retired: false };
    entry = created;
    cache.set(key, created);
    runner.catch(() => {
      if (cache.get(key) === created) cache.delete(key);
    });
  }
  return entry;
}

/** The cached runner of a model file (created on first use). */
export function getRunner(file: string, opts: RunnerOptions = {}): Promise<Runner> {
  return entryFor(file, opts).runner;
}

/**
 * The cached runner of a model file for one job: `done()` lets go of it, and a runner released
 * while the job ran (its model removed or re-imported) is freed then, so the job itself finishes.
 */
export async function acquireRunner(file: string, opts: RunnerOptions = {}): Promise<{ runner: Runner; done(): Promise<void> }> {
  const entry = entryFor(file, opts);
  entry.users++;
  let runner: Runner;
  try {
    runner = await entry.runner;
  } catch (e) {
    entry.users--;
    throw e;
  }
  let letGo = false;
  return {
    runner,
    async done() {
      if (letGo) return;
      letGo = true;
      entry.users--;
      if (entry.retired && entry.users === 0) await free(entry);
    },
  };
}

async function free(entry: Entry): Promise<void> {
  retiring.delete(entry);
  try {
    await (await entry.runner).release();
  } catch {
    // failed to create, or already released
  }
}

function under(file: string, target: string): boolean {
  const t = path.resolve(target);
  return file === t || file.startsWith(t.endsWith(path.sep) ? t : t + path.sep);
}

/**
 * Releases the cached runners of these model files, or of every model file under these folders
 * (all runners when `targets` is omitted). A runner a job is using is freed when the job lets go.
 */
export async function releaseRunners(targets?: readonly string[]): Promise<void> {
  for (const [key, entry] of [...cache]) {
    if (targets && !targets.some((t) => under(entry.file, t))) continue;
    cache.delete(key);
    entry.retired = true;
    if (entry.users > 0) retiring.add(entry);
    else await free(entry);
  }
}

/** The model files that have a session in this process (cached, or still used by a job). */
export function residentRunners(): string[] {
  return [...new Set([...cache.values(), ...retiring].map((e) => e.file))].sort();
}
