/**
 * Parity with the reference implementations of the catalogue's third-party families (issue 13):
 * each fixture in ../shared/fixtures/<family>-mini (README there) is a small model with the real
 * architecture's I/O and seeded random weights, two inputs (shorter than one segment; several
 * segments of an awkward length) and the stems the upstream procedure made from them:
 *   htdemucs-mini  Demucs apply_model (shifts 0, overlap 0.25) on the Mixxx ONNX export's I/O
 *   mdx-mini       UVR 5.6's MDX-Net demix (Default overlap) on the UVR-MDX-NET Voc FT I/O
 * Each input is separated through the normal paths — the CLI (`stemdeck separate`, a child
 * process) and an app job (the App's engine host) — with the fixture installed as a user model,
 * and every stem must reach SDR = 10·log10(Σ ref² / Σ (ref − out)²) ≥ 60 dB (both channels, all
 * samples). Under CI a missing fixture folder fails (skipUnlessShared).
 * The HTDemucs file declares its output dims symbolic, as Mixxx's export does: `models import`
 * without flags takes its stems from the catalogue entry with its contract, and the catalogue
 * install's post-download check accepts it.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { decodeAll } from '../../src-main/engine/index.js';
import { runCli, tempDir } from '../cli/helpers.js';
import { repoRoot, skipUnlessShared } from '../engine/helpers.js';
import { App } from '../../src-main/host/app.js';
import { waitJobEnd } from '../app/helpers.js';
import { catalogueProbe } from '../../src-main/engine/models/manager.js';
import { findCatalogueEntry } from '../../src-main/engine/models/catalogue.js';

export const fixturesDir = path.resolve(repoRoot, '..', 'shared', 'fixtures');
const MIN_SDR_DB = 60;

interface Fixture {
  id: string;
  stems: string[];
}

const FIXTURES: Fixture[] = [
  { id: 'htdemucs-mini', stems: ['drums', 'bass', 'other', 'vocals'] },
  { id: 'mdx-mini', stems: ['vocals', 'instrumental'] },
];
const INPUTS = ['short', 'long'] as const;

/** SDR of `out` against `ref` in dB over both channels and all samples (lengths must match). */
export function sdrDb(ref: Float32Array[], out: Float32Array[]): number {
  let p = 0;
  let e = 0;
  for (let c = 0; c < ref.length; c++) {
    assert.equal(out[c].length, ref[c].length, 'stem length = input length');
    for (let i = 0; i < ref[c].length; i++) {
      const d = ref[c][i] - out[c][i];
      p += ref[c][i] * ref[c][i];
      e += d * d;
    }
  }
  return e === 0 ? Infinity : 10 * Math.log10(p / e);
}

const decode = (file: string) => decodeAll(file, { sampleRate: 44100, channels: 2 });

/** Installs a fixture (model.onnx + manifest.json) as a user model in `modelsDir`. */
function install(modelsDir: string, id: string): void {
  const dst = path.join(modelsDir, id);
  fs.mkdirSync(dst, { recursive: true });
  for (const f of ['model.onnx', 'manifest.json']) fs.copyFileSync(path.join(fixturesDir, id, f), path.join(dst, f));
}

/** Checks every stem file against the fixture's reference; returns the SDRs (for the message). */
async function checkStems(fx: Fixture, input: (typeof INPUTS)[number], files: Record<string, string>): Promise<string> {
  const sdrs: string[] = [];
  const low: string[] = [];
  for (const stem of fx.stems) {
    assert.ok(files[stem], `stem ${stem} written`);
    const ref = await decode(path.join(fixturesDir, fx.id, `ref-${input}`, `${stem}.wav`));
    const sdr = sdrDb(ref, await decode(files[stem]));
    sdrs.push(`${stem} ${sdr.toFixed(1)}`);
    if (!(sdr >= MIN_SDR_DB)) low.push(stem);
  }
  const text = `${fx.id} ${input}: ${sdrs.join(', ')} dB`;
  assert.equal(low.length, 0, `${text} — below ${MIN_SDR_DB} dB: ${low.join(', ')}`);
  return text;
}

const missing = skipUnlessShared(path.join(fixturesDir, 'README.md')) || FIXTURES.map((f) => skipUnlessShared(path.join(fixturesDir, f.id, 'model.onnx'))).find(Boolean) || false;

describe('reference parity through the CLI (stemdeck separate)', { skip: missing }, () => {
  const home = tempDir('stemdeck-parity-');
  const models = path.join(home, 'models');
  before(() => FIXTURES.forEach((f) => install(models, f.id)));

  for (const fx of FIXTURES)
    for (const input of INPUTS)
      test(`${fx.id}, ${input}.wav: every stem ≥ ${MIN_SDR_DB} dB SDR against the reference`, async (t) => {
        const out = path.join(home, 'out', fx.id);
        const r = await runCli(['separate', path.join(fixturesDir, fx.id, `${input}.wav`), '--model', fx.id, '--format', 'wav', '--out', out, '--json'], {
          env: { STEMDECK_MODELS: models },
        });
        assert.equal(r.code, 0, r.stderr);
        const line = r.json.find((j) => j.outputs) as { outputs: Record<string, string> } | undefined;
        assert.ok(line, r.stdout);
        t.diagnostic(await checkStems(fx, input, line.outputs));
      });
});

describe('reference parity through an app job', { skip: missing }, () => {
  let app: App;
  let home = '';
  before(async () => {
    home = tempDir('stemdeck-parity-app-');
    process.env.STEMDECK_HOME = home;
    process.env.STEMDECK_LIBRARY = path.join(home, 'library');
    process.env.STEMDECK_MODELS = path.join(home, 'models');
    FIXTURES.forEach((f) => install(path.join(home, 'models'), f.id));
    app = new App({ shell: 'browser', cancelGraceMs: 3000 });
    await app.start();
  });
  after(async () => {
    await app?.stop();
  });

  for (const fx of FIXTURES)
    for (const input of INPUTS)
      test(`${fx.id}, ${input}.wav: every stem ≥ ${MIN_SDR_DB} dB SDR against the reference`, async (t) => {
        await app.settings.set({ model: fx.id });
        // the app reads the user's file where it is; a copy keeps the song's title distinct
        const song = path.join(home, `${fx.id}-${input}.wav`);
        fs.copyFileSync(path.join(fixturesDir, fx.id, `${input}.wav`), song);
        app.guard.choose(song);
        const r = await app.openFiles([song], undefined);
        assert.equal(r.jobs.length, 1);
        const job = await waitJobEnd(app, r.jobs[0].id, 600_000);
        assert.equal(job.status, 'done', JSON.stringify(job.error));
        const s = app.library.get(job.songId!);
        assert.equal(s.model.id, fx.id);
        const dir = app.library.songDir(s.id);
        const files = Object.fromEntries(s.stems.map((x) => [x.name, path.join(dir, x.file)]));
        t.diagnostic(await checkStems(fx, input, files));
      });
});

describe('the HTDemucs fixture (symbolic output dims, as Mixxx exports it) imports and installs', { skip: missing }, () => {
  const file = path.join(fixturesDir, 'htdemucs-mini', 'model.onnx');

  test('`models import` without flags: the stems of the catalogue entry with its contract, and the reference stems', async (t) => {
    const home = tempDir('stemdeck-parity-import-');
    const env = { STEMDECK_MODELS: path.join(home, 'models') };
    const r = await runCli(['models', 'import', file, '--json'], { env });
    assert.equal(r.code, 0, r.stderr);
    const info = r.json[0] as { id: string; io: string; stems: string[]; detectedBy: string };
    assert.equal(info.io, 'htdemucs');
    assert.deepEqual(info.stems, ['drums', 'bass', 'other', 'vocals']);
    assert.equal(info.detectedBy, 'shapes+catalogue');
    // the imported model separates like the reference
    const s = await runCli(['separate', path.join(fixturesDir, 'htdemucs-mini', 'short.wav'), '--model', info.id, '--format', 'wav', '--out', path.join(home, 'out'), '--json'], { env });
    assert.equal(s.code, 0, s.stderr);
    const line = s.json.find((j) => j.outputs) as { outputs: Record<string, string> };
    t.diagnostic(await checkStems(FIXTURES[0], 'short', line.outputs));
  });

  test("the catalogue install's post-download check (htdemucs-v4-mixxx) accepts it", async () => {
    const probe = catalogueProbe(findCatalogueEntry('htdemucs-v4-mixxx'));
    assert.deepEqual(await probe(file), { tensors: { input: 'input', output: 'output' } });
  });
});
