/**
 * The worker-thread Runner (runner.ts): ONNX Runtime sessions in a worker thread, the default.
 *
 * Why: onnxruntime-node's `session.run()` is synchronous on the calling thread (its backend does
 * `setImmediate(() => resolve(nativeSession.run(...)))`), so on the main thread it blocks the event
 * loop for the whole inference. Measured with `node --cpu-prof` (scripts/bench.ts --cpu-prof): while
 * a segment runs, nothing drains ffmpeg's 64 KiB decode pipe, overlap-add and the stem writes wait,
 * and the engine host cannot answer IPC — decode, segmenting, overlap-add and writing all add to
 * the end-to-end time instead of overlapping with inference. In a worker, the main thread keeps
 * decoding/writing while the model runs.
 *
 * The worker is plain JavaScript evaluated from a string (no extra bundled file, so it works from
 * source under tsx, from the built app and in Electron's utility process alike) and `require`s
 * onnxruntime-node by the absolute path resolved here. If the worker cannot start,
 * createWorkerRunner returns null and runner.ts uses an in-thread runner.
 *
 * Tensors cross the thread boundary as { type, dims, data }: inputs are copied (structured clone),
 * outputs are transferred (no copy).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Device } from './manifest.js';
import { modelLoadError, ort, providerOrder, sessionOptions, type Provider } from './onnx.js';
import { fallbackNote, type Runner } from './runner.js';

const WORKER_SOURCE = String.raw`
const { parentPort, workerData } = require('node:worker_threads');
const ort = require(workerData.ortPath);
const sessions = new Map();
function tensorOut(t) { return { type: t.type, dims: Array.from(t.dims), data: t.data }; }
let queue = Promise.resolve();
async function run(m) {
  const s = sessions.get(m.sid);
  if (!s) { parentPort.postMessage({ type: 'error', id: m.id, message: 'session released' }); return; }
  try {
    const feeds = {};
    for (const k of Object.keys(m.feeds)) { const f = m.feeds[k]; feeds[k] = new ort.Tensor(f.type, f.data, f.dims); }
    const t0 = performance.now();
    const out = await s.run(feeds);
    const seconds = (performance.now() - t0) / 1000;
    const outputs = {};
    const transfer = [];
    for (const k of Object.keys(out)) { outputs[k] = tensorOut(out[k]); if (out[k].data && out[k].data.buffer) transfer.push(out[k].data.buffer); }
    try { parentPort.postMessage({ type: 'ran', id: m.id, outputs, seconds }, transfer); }
    catch (e) { parentPort.postMessage({ type: 'ran', id: m.id, outputs, seconds }); }
  } catch (e) {
    parentPort.postMessage({ type: 'error', id: m.id, message: String((e && e.message) || e) });
  }
}
parentPort.on('message', async (m) => {
  if (m.type === 'create') {
    const reasons = [];
    for (const eps of m.providers) {
      try {
        const s = await ort.InferenceSession.create(m.file, Object.assign({}, m.options, { executionProviders: eps }));
        sessions.set(m.sid, s);
        parentPort.postMessage({ type: 'created', id: m.id, provider: eps[0], reasons,
          inputNames: s.inputNames, outputNames: s.outputNames,
          inputMetadata: s.inputMetadata, outputMetadata: s.outputMetadata });
        return;
      } catch (e) {
        reasons.push(eps[0] + ': ' + String((e && e.message) || e).split('\n')[0]);
      }
    }
    parentPort.postMessage({ type: 'error', id: m.id, message: reasons[reasons.length - 1] || 'cannot create session', reasons });
  } else if (m.type === 'run') {
    // one run at a time, timed from its own start: runs queued together (a cascade's two
    // sessions) would otherwise each count the time of the ones before them
    const prev = queue;
    let done;
    queue = new Promise((r) => { done = r; });
    await prev;
    try { await run(m); } finally { done(); }
  } else if (m.type === 'release') {
    const s = sessions.get(m.sid);
    sessions.delete(m.sid);
    try { if (s) await s.release(); } catch (e) { /* already released */ }
    parentPort.postMessage({ type: 'released', id: m.id });
  }
});
`;

interface Pending {
  resolve(v: Record<string, unknown>): void;
  reject(e: Error): void;
}

class OrtWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  failed: Error | null = null;

  constructor() {
    const require = createRequire(import.meta.url);
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ortPath: require.resolve('onnxruntime-node') } });
    this.worker.unref();
    this.worker.on('message', (m: { type: string; id: number; message?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (this.pending.size === 0) this.worker.unref();
      if (m.type === 'error') p.reject(Object.assign(new Error(m.message ?? 'ONNX Runtime worker error'), { details: m }));
      else p.resolve(m as unknown as Record<string, unknown>);
    });
    const die = (e: Error): void => {
      this.failed = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      for (const [lane, w] of workers) if (w === this) workers.delete(lane);
    };
    this.worker.on('error', die);
    this.worker.on('exit', (code) => die(new Error(`ONNX Runtime worker exited (${code})`)));
  }

  request(msg: Record<string, unknown>): Promise<Record<string, unknown>> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) this.worker.ref();
      this.worker.postMessage({ ...msg, id });
    });
  }
}

/**
 * One worker thread per lane. Lane 0 serves every job by default; a cascade whose stages run
 * concurrently puts stage k on lane k, so two stages' runs overlap on two cores.
 */
const workers = new Map<number, OrtWorker>();
let sessionIds = 1;

function worker(lane = 0): OrtWorker {
  let w = workers.get(lane);
  if (!w) {
    w = new OrtWorker();
    workers.set(lane, w);
  }
  return w;
}

type WireTensor = { type: ort.Tensor.Type; dims: number[]; data: ort.Tensor.DataType };
type Metadata = readonly ort.InferenceSession.ValueMetadata[];

class WorkerRunner implements Runner {
  readonly where = 'worker';
  /** Seconds the worker spent inside session.run() (pure inference, measured in the worker). */
  private busy = 0;
  constructor(
    private readonly sid: number,
    private readonly lane: number,
    readonly inputNames: readonly string[],
    readonly outputNames: readonly string[],
    readonly inputMetadata: Metadata,
    readonly outputMetadata: Metadata,
    readonly provider: Provider,
    readonly fallbackReason: string | null,
    readonly threads: number,
  ) {}

  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    const wire: Record<string, WireTensor> = {};
    for (const [k, t] of Object.entries(feeds)) wire[k] = { type: t.type, dims: [...t.dims], data: t.data };
    const r = (await worker(this.lane).request({ type: 'run', sid: this.sid, feeds: wire })) as { outputs: Record<string, WireTensor>; seconds: number };
    this.busy += r.seconds;
    const out: Record<string, ort.Tensor> = {};
    for (const [k, t] of Object.entries(r.outputs)) out[k] = new ort.Tensor(t.type, t.data as Float32Array, t.dims);
    return out;
  }

  busySeconds(): number {
    return this.busy;
  }

  async release(): Promise<void> {
    await worker(this.lane)
      .request({ type: 'release', sid: this.sid })
      .catch(() => undefined);
  }
}

/**
 * A session of `file` on worker thread `lane`, or null when the worker thread cannot be used here.
 * Throws StemdeckError('model-corrupt') when ONNX Runtime cannot load the file.
 */
export async function createWorkerRunner(file: string, device: Device, threads: number, lane: number): Promise<Runner | null> {
  const { lists, skipped } = providerOrder(device);
  const sid = sessionIds++;
  let r: Record<string, unknown>;
  try {
    r = await worker(lane).request({ type: 'create', sid, file, options: sessionOptions(threads), providers: lists });
  } catch (e) {
    const details = (e as { details?: { type?: string } }).details;
    if (details?.type === 'error') throw modelLoadError(file, (e as Error).message, e);
    return null; // the worker itself failed
  }
  const provider = r.provider as Provider;
  const note = fallbackNote(device, provider, [...skipped, ...((r.reasons as string[]) ?? [])]);
  return new WorkerRunner(sid, lane, r.inputNames as string[], r.outputNames as string[], r.inputMetadata as Metadata, r.outputMetadata as Metadata, provider, note, threads);
}
