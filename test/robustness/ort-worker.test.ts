// ONNX Runtime in a worker thread (src-main/engine/ort-worker.ts, the default runner of runner.ts):
// the same numbers as an in-thread runner, model errors keep their codes, `ortWorker: false`
// runs in-thread, and — the point of it — the event loop stays responsive while
// the default model runs (onnxruntime-node's run() is synchronous: in-thread it blocks the loop for
// a whole segment, so decode/overlap-add/writes and the engine host's IPC wait).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { getRunner, type Runner } from '../../src-main/engine/runner.js';
import { cascadeStages, isCascadeModel, loadRegistry, modelFile, separateFile } from '../../src-main/engine/index.js';
import { StemdeckError } from '../../src-main/engine/errors.js';
import { fixtureModels, makeTone, readWav, tempDir, useTempHome } from './helpers.js';

let work = '';
let home = '';
before(() => {
  home = useTempHome();
  work = tempDir();
});
after(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

test('a model file replaced in place gets a fresh worker session', async () => {
  const file = path.join(work, 'replaced.onnx');
  fs.copyFileSync(path.join(fixtureModels, 'identity-complex', 'identity-complex.onnx'), file);
  const first = await getRunner(file, { device: 'cpu', threads: 1 });
  assert.equal(first.where, 'worker', 'the worker starts here');
  assert.equal(await getRunner(file, { device: 'cpu', threads: 1 }), first, 'unchanged file: the cached session');
  fs.copyFileSync(path.join(fixtureModels, 'identity-waveform', 'identity-waveform.onnx'), file);
  const second = await getRunner(file, { device: 'cpu', threads: 1 });
  assert.ok(second !== first, 'a new session after the file changed');
  const inputs = (r: Runner) => (r.inputMetadata[0] as { shape: readonly unknown[] }).shape;
  assert.notDeepEqual(inputs(second), inputs(first), 'the new session reads the new model');
});

test('a worker session gives exactly the in-thread outputs', async () => {
  const file = path.join(fixtureModels, 'identity-complex', 'identity-complex.onnx');
  const ws = await getRunner(file, { device: 'cpu', threads: 1 });
  assert.equal(ws.where, 'worker', 'the worker starts here');
  assert.ok(ws.inputNames.length === 1 && ws.outputNames.length === 1);
  const shape = [1, ...((ws.inputMetadata[0] as { shape: readonly number[] }).shape.slice(1))];
  const n = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n).map((_, i) => Math.sin(i * 0.01) * (i % 5));
  const local = await ort.InferenceSession.create(file);
  const want = (await local.run({ [local.inputNames[0]]: new ort.Tensor('float32', x, shape) }))[local.outputNames[0]];
  const got = (await ws.run({ [ws.inputNames[0]]: new ort.Tensor('float32', x, shape) }))[ws.outputNames[0]];
  assert.deepEqual(got.dims, want.dims);
  assert.deepEqual(got.data, want.data);
  assert.ok(ws.busySeconds() > 0, 'the worker reports its run time');
  await local.release();
});

test('a garbage model file → model-corrupt from the worker too', async () => {
  const f = path.join(work, 'garbage.onnx');
  fs.writeFileSync(f, 'not a model');
  await assert.rejects(getRunner(f, { device: 'cpu' }), (e) => e instanceof StemdeckError && e.code === 'model-corrupt');
});

test('ortWorker: false → in-thread runner, same result', async () => {
  const input = makeTone(path.join(work, 'a.wav'), 2, { codec: ['-c:a', 'pcm_f32le'] });
  const manifest = path.join(fixtureModels, 'identity-waveform', 'manifest.json');
  assert.equal((await getRunner(path.join(fixtureModels, 'identity-waveform', 'identity-waveform.onnx'), { worker: false })).where, 'in-thread');
  const off = await separateFile({ input, outDir: path.join(work, 'off'), model: manifest, format: 'wav', ortWorker: false });
  close(readWav(off.outputs.vocals).data, readWav(input).data);
  assert.ok(off.inferenceSeconds > 0, 'the in-thread runner times its runs');
  const r = await separateFile({ input, outDir: path.join(work, 'on'), model: manifest, format: 'wav' });
  close(readWav(r.outputs.vocals).data, readWav(input).data);
});

/** Identity through overlap-add: equal up to float rounding of the crossfade normalisation. */
function close(a: Float32Array[], b: Float32Array[]): void {
  assert.equal(a.length, b.length);
  for (let c = 0; c < a.length; c++) {
    assert.equal(a[c].length, b[c].length);
    for (let i = 0; i < a[c].length; i++) if (Math.abs(a[c][i] - b[c][i]) > 1e-6) assert.fail(`channel ${c} sample ${i}: ${a[c][i]} vs ${b[c][i]}`);
  }
}

test('the event loop keeps turning while the default model runs in the worker (in-thread it stops)', async () => {
  // Counted, not timed: timer callbacks that fire while one run() is pending. In-thread, the native
  // run blocks the loop for the whole run (at most one tick slips in before it starts); in the worker
  // the loop keeps serving timers, decode and IPC. Wall-clock lag would depend on the machine's load.
  const registry = await loadRegistry();
  const id = registry.defaultId;
  assert.ok(id, 'a default model is bundled');
  const found = registry.get(id);
  // a cascade default: its first stage model
  const model = isCascadeModel(found) ? cascadeStages(found, registry)[0] : found;
  const ticksPerRun = async (worker: boolean): Promise<number[]> => {
    const runner = await getRunner(modelFile(model), { worker });
    assert.equal(runner.where, worker ? 'worker' : 'in-thread');
    const feeds: Record<string, ort.Tensor> = {};
    for (const [i, name] of runner.inputNames.entries()) {
      const dims = (runner.inputMetadata[i] as { shape: readonly (number | string)[] }).shape;
      const shape = dims.map((d) => (typeof d === 'number' && d > 0 ? d : 1)); // symbolic batch → 1
      const n = shape.reduce((a, b) => a * b, 1);
      feeds[name] = new ort.Tensor('float32', new Float32Array(n).map((_, k) => Math.sin(k * 0.001)), shape);
    }
    await runner.run(feeds); // warm-up
    const counts: number[] = [];
    for (let k = 0; k < 3; k++) {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      await runner.run(feeds);
      clearInterval(timer);
      counts.push(ticks);
    }
    return counts;
  };
  const inThread = await ticksPerRun(false);
  const inWorker = await ticksPerRun(true);
  const said = `timer ticks per run: ${inWorker.join('/')} with the worker, ${inThread.join('/')} in-thread`;
  assert.ok(inThread.every((t) => t <= 1), `in-thread runs block the loop; ${said}`);
  assert.ok(inWorker.every((t) => t >= 5), `worker runs leave the loop free; ${said}`);
});
