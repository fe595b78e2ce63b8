// Time a bundled model in onnxruntime-node (CPU, 2 threads by default).
// Usage: node training/bench_ort.mjs resources/models/<id> [threads] [runs]
// Prints inference × real time, counting the segment overlap (each segment advances
// segment·(1 − overlap) samples), i.e. the model's share of an end-to-end separation.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as ort from 'onnxruntime-node';

const dir = process.argv[2];
const threads = Number(process.argv[3] ?? 2);
const runs = Number(process.argv[4] ?? 3);
const m = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
const frames = m.stft ? Math.floor(m.segment.samples / m.stft.hop) + 1 : 0;
const shape =
  m.io === 'waveform'
    ? [1, m.channels, m.segment.samples]
    : [1, m.io === 'complex-spectrogram' ? 2 * m.channels : m.channels, m.stft.bins, frames];
const n = shape.reduce((a, b) => a * b, 1);
const x = new Float32Array(n).map((_, i) => Math.sin(i * 0.01) * 0.3);
const session = await ort.InferenceSession.create(path.join(dir, m.files[0].path), {
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
});
const feeds = { [m.tensors.input]: new ort.Tensor('float32', x, shape) };
await session.run(feeds); // warm-up
const times = [];
const cpus = [];
for (let r = 0; r < runs; r++) {
  const t = performance.now();
  const c = process.cpuUsage();
  await session.run(feeds);
  times.push((performance.now() - t) / 1000);
  const d = process.cpuUsage(c);
  cpus.push((d.user + d.system) / 1e6);
}
const best = Math.min(...times);
const advance = (m.segment.samples * (1 - m.segment.overlap)) / m.sampleRate;
console.log(
  JSON.stringify({ id: m.id, threads, segmentSeconds: m.segment.samples / m.sampleRate, bestSeconds: +best.toFixed(4),
    medianSeconds: +times.sort((a, b) => a - b)[Math.floor(runs / 2)].toFixed(4),
    realtimeFactor: +(advance / best).toFixed(1),
    // CPU seconds per run (robust to other load on the machine) and the × real time it implies
    // if those CPU seconds were spread perfectly over 2 cores
    cpuSeconds: +Math.min(...cpus).toFixed(4), cpuRealtimeFactor2: +((2 * advance) / Math.min(...cpus)).toFixed(1) }),
);
