/**
 * Cascades (manifest io "cascade"): a pipeline of installed models run as one model, with real
 * ffmpeg, real ONNX Runtime and the bundled models on the shared real clip. The test cascade lives
 * in a temp user-models folder: stage 1 = demucs-small-v1 keeps vocals, stage 2 = bsrnn-small-v1
 * splits the rest (mixture − vocals) and keeps drums, bass, other; "other" is the cascade's residual.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import {
  cascadeStream,
  decodeAll,
  loadRegistry,
  ModelManifestSchema,
  modelFile,
  readManifest,
  separateFile,
  StemdeckError,
  writeAudio,
  getRunner,
  isCascade,
  type OnnxModel,
  type SeparationProgress,
} from '../../src-main/engine/index.js';
import { WaveformAdapter } from '../../src-main/engine/adapters/index.js';
import { fixtureModel, isolateHome, listFiles, realClip, skipUnlessShared, tempDir, testSignal } from './helpers.js';
import { runCli } from '../cli/helpers.js';

const SR = 44100;
let home = '';
let models = '';
let work = '';
let mixture: Float32Array[] = [];
const hasClip = fs.existsSync(realClip);
const clipSkip = skipUnlessShared(realClip);

const cascadeManifest = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  id: 'test-cascade',
  name: 'Test cascade (demucs vocals → bsrnn instrumental)',
  architecture: 'cascade',
  io: 'cascade',
  sampleRate: SR,
  channels: 2,
  stems: ['vocals', 'drums', 'bass', 'other'],
  residual: 'other',
  cascade: {
    stages: [
      { model: 'demucs-small-v1', keep: ['vocals'] },
      { model: 'bsrnn-small-v1', keep: ['drums', 'bass', 'other'] },
    ],
  },
  trained: true,
  params: 2337272 + 2476168,
  license: 'test',
  source: 'test/engine/cascade.test.ts',
  ...over,
});

function writeUserModel(id: string, manifest: Record<string, unknown>): string {
  const dir = path.join(models, id);
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'manifest.json');
  fs.writeFileSync(file, JSON.stringify(manifest, null, 2));
  return file;
}

function sub(a: Float32Array[], ...bs: Float32Array[][]): Float32Array[] {
  return a.map((ch, c) => {
    const r = ch.slice();
    for (const b of bs) for (let i = 0; i < r.length; i++) r[i] -= b[c][i];
    return r;
  });
}

function energy(x: Float32Array[]): number {
  let e = 0;
  for (const ch of x) for (const v of ch) e += v * v;
  return e;
}

/** Largest absolute sample difference. */
function maxDiff(a: Float32Array[], b: Float32Array[]): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let c = 0; c < a.length; c++) {
    assert.equal(a[c].length, b[c].length, 'same length');
    for (let i = 0; i < a[c].length; i++) m = Math.max(m, Math.abs(a[c][i] - b[c][i]));
  }
  return m;
}

const read = (f: string): Promise<Float32Array[]> => decodeAll(f, { sampleRate: SR, channels: 2 });

before(async () => {
  home = isolateHome();
  models = path.join(home, 'models');
  process.env.STEMDECK_MODELS = models;
  work = tempDir('stemdeck-cascade-');
  writeUserModel('test-cascade', cascadeManifest());
  if (hasClip) mixture = await decodeAll(realClip, { sampleRate: SR, channels: 2, stream: 0 });
});

after(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
  delete process.env.STEMDECK_MODELS;
});

test('schema: a cascade has stages and no files; its stems are the kept stems in order', () => {
  assert.ok(ModelManifestSchema.safeParse(cascadeManifest()).success);
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['files', { files: [{ path: 'x.onnx', sha256: '0'.repeat(64), bytes: 1 }] }, /files.*does not apply to a cascade/],
    ['segment', { segment: { samples: 1000, overlap: 0.25 } }, /segment.*does not apply/],
    ['stems out of order', { stems: ['drums', 'vocals', 'bass', 'other'] }, /kept stems in order/],
    ['a stem kept twice', { stems: ['vocals', 'drums'], cascade: { stages: [{ model: 'a', keep: ['vocals'] }, { model: 'b', keep: ['drums', 'vocals'] }] } }, /more than one stage/],
    ['one stage', { stems: ['vocals'], residual: undefined, cascade: { stages: [{ model: 'a', keep: ['vocals'] }] } }, /stages/],
    ['residual not a stem', { residual: 'piano' }, /residual "piano"/],
  ];
  for (const [what, over, re] of bad) {
    const r = ModelManifestSchema.safeParse(cascadeManifest(over));
    assert.ok(!r.success, `${what}: refused`);
    const text = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    assert.match(text, re, `${what}: ${text}`);
  }
});

test('the registry lists the cascade once; models list (and --json) shows it once', async () => {
  const reg = await loadRegistry();
  const found = reg.list().filter((m) => m.manifest.id === 'test-cascade');
  assert.equal(found.length, 1);
  assert.equal(found[0].manifest.io, 'cascade');
  assert.equal(found[0].origin, 'user');
  const stageIds = ['demucs-small-v1', 'bsrnn-small-v1'];
  const json = await runCli(['models', 'list', '--json'], { env: { STEMDECK_MODELS: models } });
  assert.equal(json.code, 0, json.stderr);
  const entries = JSON.parse(json.stdout) as { id: string; origin: string; io: string; stems: string[]; problem?: string }[];
  const installed = entries.filter((e) => e.origin !== 'catalogue');
  assert.equal(installed.filter((e) => e.id === 'test-cascade').length, 1, 'one entry for the cascade');
  const c = installed.find((e) => e.id === 'test-cascade')!;
  assert.deepEqual(c.stems, ['vocals', 'drums', 'bass', 'other']);
  assert.equal(c.problem, undefined);
  for (const id of stageIds) assert.equal(installed.filter((e) => e.id === id).length, 1, `stage model ${id} listed once, as itself`);
  const table = await runCli(['models', 'list'], { env: { STEMDECK_MODELS: models } });
  assert.equal(table.code, 0, table.stderr);
  assert.equal(table.stdout.split('\n').filter((l) => /\btest-cascade\b/.test(l)).length, 1, table.stdout);
});

test('a missing stage model or a stage lacking a kept stem: a clear error that says what to install', async () => {
  writeUserModel('broken-cascade', cascadeManifest({ id: 'broken-cascade', cascade: { stages: [{ model: 'not-installed-vocals', keep: ['vocals'] }, { model: 'bsrnn-small-v1', keep: ['drums', 'bass', 'other'] }] } }));
  writeUserModel('lacking-cascade', cascadeManifest({ id: 'lacking-cascade', stems: ['piano', 'drums', 'bass', 'other'], cascade: { stages: [{ model: 'demucs-small-v1', keep: ['piano'] }, { model: 'bsrnn-small-v1', keep: ['drums', 'bass', 'other'] }] } }));
  try {
    const input = path.join(work, 'short.wav');
    await writeAudio(input, testSignal(44100), SR, 'wav');
    const out = path.join(work, 'broken');
    await assert.rejects(
      separateFile({ input, outDir: out, model: 'broken-cascade' }),
      (e: unknown) =>
        e instanceof StemdeckError && e.code === 'model-unknown' && /not-installed-vocals/.test(e.message) && /not installed/.test(e.message) && /[Ii]nstall/.test(e.message),
    );
    await assert.rejects(
      separateFile({ input, outDir: path.join(work, 'lacking'), model: 'lacking-cascade' }),
      (e: unknown) => e instanceof StemdeckError && e.code === 'model-contract' && /"piano"/.test(e.message) && /demucs-small-v1/.test(e.message),
    );
    assert.deepEqual(listFiles(out), [], 'nothing written');
    // the CLI says it once and stops before any work (exit 2); models list still shows it, with why
    const cli = await runCli(['separate', input, '--model', 'broken-cascade', '--out', path.join(work, 'cli-broken')], { env: { STEMDECK_MODELS: models } });
    assert.equal(cli.code, 2, cli.stderr);
    assert.match(cli.stderr, /not-installed-vocals.*not installed/);
    const list = await runCli(['models', 'list', '--json'], { env: { STEMDECK_MODELS: models } });
    const entry = (JSON.parse(list.stdout) as { id: string; problem?: string }[]).find((e) => e.id === 'broken-cascade');
    assert.match(entry?.problem ?? '', /not-installed-vocals/);
  } finally {
    fs.rmSync(path.join(models, 'broken-cascade'), { recursive: true, force: true });
    fs.rmSync(path.join(models, 'lacking-cascade'), { recursive: true, force: true });
  }
});

let cascadeOut: Record<string, string> = {};
const progress: SeparationProgress[] = [];

test('real clip: one job, one progress bar; the stems sum to the input within 0.1 dB', { skip: clipSkip }, async () => {
  const r = await separateFile({ input: realClip, outDir: path.join(work, 'cascade'), model: 'test-cascade', format: 'wav', onProgress: (p) => progress.push(p) });
  cascadeOut = r.outputs;
  assert.equal(r.model, 'test-cascade');
  assert.deepEqual(Object.keys(r.outputs), ['vocals', 'drums', 'bass', 'other']);
  assert.deepEqual(listFiles(path.join(work, 'cascade')), ['bass.wav', 'drums.wav', 'other.wav', 'vocals.wav'], 'only finished stems');
  assert.equal(r.frames, mixture[0].length);
  assert.ok(r.inferenceSeconds > 0);
  // the stages share one worker thread here: their runs never overlap, so their times add up to less than the job's
  assert.ok(r.inferenceSeconds <= r.seconds, `inference ${r.inferenceSeconds.toFixed(2)} s in a ${r.seconds.toFixed(2)} s job`);
  const sep = progress.filter((p) => p.stage === 'separate').map((p) => p.fraction);
  assert.ok(sep.length > 4, 'progress per segment');
  for (let i = 1; i < sep.length; i++) assert.ok(sep[i] >= sep[i - 1], `progress never goes back (${sep[i - 1]} → ${sep[i]})`);
  assert.ok(sep[sep.length - 1] > 0.9, `the bar reaches the end of separating (${sep[sep.length - 1]})`);
  assert.equal(progress[progress.length - 1].stage, 'write');
  assert.equal(progress[progress.length - 1].fraction, 1);

  const stems = await Promise.all(Object.values(r.outputs).map(read));
  const total = mixture.map((ch, c) => {
    const s = new Float32Array(ch.length);
    for (const st of stems) for (let i = 0; i < s.length; i++) s[i] += st[c][i];
    return s;
  });
  const level = Math.abs(10 * Math.log10(energy(total) / energy(mixture)));
  const recon = 10 * Math.log10(energy(mixture) / energy(sub(mixture, total)));
  assert.ok(level <= 0.1, `sum of stems is ${level.toFixed(4)} dB off the input level`);
  assert.ok(recon >= 60, `stems reconstruct the input at ${recon.toFixed(1)} dB`);
  // the test can fail: without the residual stem the sum is clearly off
  const partial = sub(total, stems[3]);
  assert.ok(Math.abs(10 * Math.log10(energy(partial) / energy(mixture))) > 0.1 || 10 * Math.log10(energy(mixture) / energy(sub(mixture, partial))) < 60);
});

test('real clip: the cascade equals stage 1, then stage 2 on the residual file, run by hand', { skip: clipSkip }, async () => {
  assert.ok(cascadeOut.vocals, 'the previous test separated the clip');
  const s1 = await separateFile({ input: realClip, outDir: path.join(work, 'hand-1'), model: 'demucs-small-v1', format: 'wav' });
  const vocals = await read(s1.outputs.vocals);
  const residualFile = path.join(work, 'residual.wav'); // 32-bit float: exact
  await writeAudio(residualFile, sub(mixture, vocals), SR, 'wav');
  const s2 = await separateFile({ input: residualFile, outDir: path.join(work, 'hand-2'), model: 'bsrnn-small-v1', format: 'wav' });
  const drums = await read(s2.outputs.drums);
  const bass = await read(s2.outputs.bass);
  const other = sub(mixture, vocals, drums, bass);

  const c = { vocals: await read(cascadeOut.vocals), drums: await read(cascadeOut.drums), bass: await read(cascadeOut.bass), other: await read(cascadeOut.other) };
  const tol = 1e-5;
  for (const [stem, hand] of [['vocals', vocals], ['drums', drums], ['bass', bass], ['other', other]] as const) {
    const d = maxDiff(c[stem], hand);
    console.log(`# ${stem}: max |cascade − by hand| = ${d.toExponential(2)}`);
    assert.ok(d <= tol, `${stem}: cascade differs from the by-hand run by ${d}`);
  }
  // the comparison can fail: stage 2 on the mixture (not the residual) gives other drums
  const wrong = await separateFile({ input: realClip, outDir: path.join(work, 'hand-wrong'), model: 'bsrnn-small-v1', format: 'wav', stems: ['drums'] });
  assert.ok(maxDiff(c.drums, await read(wrong.outputs.drums)) > 100 * tol, 'a different stage-2 input is detected');
});

test('real clip: stages in parallel worker threads give the same stems', { skip: clipSkip }, async () => {
  assert.ok(cascadeOut.vocals, 'the first clip test separated the clip');
  const r = await separateFile({ input: realClip, outDir: path.join(work, 'parallel'), model: 'test-cascade', format: 'wav', parallelStages: true });
  for (const stem of ['vocals', 'drums', 'bass', 'other']) {
    const d = maxDiff(await read(cascadeOut[stem]), await read(r.outputs[stem]));
    assert.ok(d <= 1e-5, `${stem}: ${d}`);
  }
});

test('eval --model <cascade> scores the cascade as one model', { skip: clipSkip }, async () => {
  const r = await runCli(['eval', '--dataset', path.dirname(realClip), '--model', 'test-cascade', '--json', '--threads', '1'], { env: { STEMDECK_MODELS: models } });
  assert.equal(r.code, 0, r.stderr);
  const report = r.json[r.json.length - 1] as { model: string; tracks: number; stems: Record<string, { sdr: number | null }> };
  assert.equal(report.model, 'test-cascade');
  assert.equal(report.tracks, 1);
  for (const stem of ['vocals', 'drums', 'bass', 'other']) assert.equal(typeof report.stems[stem]?.sdr, 'number', `${stem} scored`);
  console.log(`# eval test-cascade: ${Object.entries(report.stems).map(([k, v]) => `${k} ${v.sdr?.toFixed(2)}`).join(', ')} dB SDR`);
});

test('cancel mid-way through a cascade leaves no stem files and no temp files', { skip: clipSkip }, async () => {
  const out = path.join(work, 'cancelled');
  const ac = new AbortController();
  let at = -1;
  await assert.rejects(
    separateFile({
      input: realClip,
      outDir: out,
      model: 'test-cascade',
      signal: ac.signal,
      onProgress: (p) => {
        if (p.stage === 'separate' && p.fraction >= 0.4 && !ac.signal.aborted) {
          at = p.fraction;
          ac.abort();
        }
      },
    }),
    (e: unknown) => e instanceof StemdeckError && e.code === 'cancelled',
  );
  assert.ok(at >= 0.4 && at < 1, `cancelled mid-way (at ${at})`);
  assert.deepEqual(listFiles(out), [], 'nothing left in the output folder');
  // and the next job works
  const r = await separateFile({ input: realClip, outDir: out, model: 'test-cascade', stems: ['vocals'] });
  assert.deepEqual(listFiles(out), ['vocals.wav']);
  assert.deepEqual(Object.keys(r.outputs), ['vocals']);
});

test('cascadeStream on in-memory arrays: identity stages keep alignment (stage 2 sees the mixture minus stage 1)', async () => {
  // identity-waveform returns the input as each of its stems (vocals, other): stage 1 keeps vocals
  // = x; stage 2's input is x − x = 0, so everything it keeps is silent; lengths are exact.
  const m = readManifest(fixtureModel('identity-waveform'));
  if (isCascade(m)) throw new Error('fixture is a single model');
  const onnx: OnnxModel = { manifest: m, dir: path.dirname(fixtureModel('identity-waveform')), manifestPath: fixtureModel('identity-waveform'), origin: 'user' };
  const session = await getRunner(modelFile(onnx), { worker: false });
  const adapter = new WaveformAdapter(onnx, { session, preferredBatch: 1, run: (f) => session.run(f) });
  const n = 100_003;
  const x = testSignal(n);
  const chunks = async function* (): AsyncGenerator<Float32Array[]> {
    for (let o = 0; o < n; o += 7919) yield x.map((ch) => ch.slice(o, Math.min(n, o + 7919)));
  };
  const stage = (keep: number[]) => ({ adapter, channels: 2, overlap: 0.25, keep });
  const got: Float32Array[][] = [[], [], []].map(() => [new Float32Array(n), new Float32Array(n)]);
  let o = 0;
  for await (const c of cascadeStream(chunks(), [stage([0]), stage([1])])) {
    const len = c.mixture[0].length;
    for (let ch = 0; ch < 2; ch++) {
      got[0][ch].set(c.mixture[ch], o);
      got[1][ch].set(c.stems[0][ch], o);
      got[2][ch].set(c.stems[1][ch], o);
    }
    o += len;
  }
  assert.equal(o, n);
  assert.equal(maxDiff(got[0], x), 0, 'the mixture passes through exactly');
  assert.ok(maxDiff(got[1], x) < 1e-5, 'stage 1 vocals = the input');
  assert.ok(maxDiff(got[2], [new Float32Array(n), new Float32Array(n)]) < 1e-5, 'stage 2 saw the mixture minus stage 1');
});
