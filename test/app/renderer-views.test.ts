/**
 * The renderer's view logic (issue 14), pure functions the Svelte views show: the Models page's
 * measured quality and verdict from the manifests' real-clip SDR, one licence line per card, the
 * first-run offer; the library grouped by song with file names; meters' dB scale and the export's
 * clip warning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadRegistry } from '../../src-main/engine/registry.js';
import type { ModelInfo, SongSummary } from '../../src-main/api/contract.js';
import { bestDownload, licenceLine, quality, verdict } from '../../src-renderer/lib/models.js';
import { displayTitle, groupSongs } from '../../src-renderer/lib/library-groups.js';
import { clipWarning, dbFraction, isClip, meterFraction } from '../../src-renderer/lib/levels.js';

function info(over: Partial<ModelInfo>): ModelInfo {
  return {
    id: 'm', name: 'M', architecture: 'demucs', io: 'waveform', stems: ['vocals'], sampleRate: 44100, trained: true, params: 1,
    sizeBytes: 1, license: 'MIT', source: '', origin: 'bundled', isDefault: false, defaultOverlap: 0.25, ...over,
  };
}

test('Models page: measured SDR per stem on the real clip with a plain-words verdict, for every bundled model that has it (issue 14.4)', async () => {
  const registry = await loadRegistry();
  let measured = 0;
  for (const m of registry.list()) {
    const man = m.manifest;
    const q = quality(info({ id: man.id, trained: man.trained, metrics: man.metrics as ModelInfo['metrics'] }));
    const sdr = (man.metrics as ModelInfo['metrics'])?.['musdb18-7s']?.sdr;
    if (!sdr) {
      assert.equal(q, null, man.id);
      continue;
    }
    measured++;
    assert.ok(q, `${man.id}: quality shown`);
    assert.deepEqual(Object.fromEntries(q.perStem), sdr, `${man.id}: the manifest's real-clip SDR per stem`);
    assert.ok(q.verdict.label.length > 0 && !/sdr|db/i.test(q.verdict.label), `${man.id}: verdict in words: ${q.verdict.label}`);
  }
  assert.ok(measured >= 5, `bundled models with real-clip SDR: ${measured}`);
  // the default cascade (vocals 11.4, drums 8.6, bass 5.7, other 5.4 dB) is good, not studio, quality
  assert.equal(verdict(7.75).label, 'Good quality');
  assert.equal(verdict(10).label, 'Studio quality');
  assert.equal(verdict(4).label, 'Preview quality');
  assert.equal(verdict(12, false).label, 'Not a real separation');
  // another evaluation set alone is not the real clip
  assert.equal(quality(info({ metrics: { synthetic: { sdr: { vocals: 20 } } } })), null);
});

test('Models page: one licence line per card; first-run offer of the best download (issue 14.4)', () => {
  const research =
    'Code MIT; weights trained by the Stemdeck project on generated mixtures that contain MIR-1K singing (research use only, MIR Lab NTHU), POP909 MIDI (MIT) rendered with FluidR3_GM (MIT) and hydrogen-drumkits / sonic-pi-samples (GPL-2+/CC-BY/CC-BY-SA/CC0): research use';
  assert.deepEqual(licenceLine(research), { line: 'Research use only: not for releases', restricted: true });
  const free = 'Stage 1: MIT © Deezer SA (Spleeter 2stems weights). Stage 2: MIT, trained by the Stemdeck project; no research-only data. You may use the stems in your releases.';
  assert.deepEqual(licenceLine(free), { line: 'MIT licence', restricted: false });
  assert.equal(licenceLine('Demucs code: MIT (facebookresearch/demucs). Weights: research-use caveats (see terms).').restricted, true);
  for (const t of [research, free]) assert.ok(!licenceLine(t).line.includes('\n') && licenceLine(t).line.length <= 60);
  const ht = { id: 'htdemucs-v4-mixxx', name: 'HTDemucs v4', architecture: 'htdemucs', stems: ['drums'], url: '', sha256: '', bytes: 304413278, license: 'MIT' };
  const uvr = { ...ht, id: 'uvr', architecture: 'mdx-net' };
  assert.equal(bestDownload([uvr, ht], [info({})])?.id, 'htdemucs-v4-mixxx');
  assert.equal(bestDownload([uvr, ht], [info({ id: 'htdemucs-v4-mixxx', io: 'htdemucs', architecture: 'htdemucs' })]), null, 'no offer once installed');
});

function song(id: string, title: string, sourceName: string, model: string, createdAt: string, artist?: string): SongSummary {
  return {
    id, title, sourceName, createdAt, tags: artist ? { title, artist } : {}, artwork: null, durationSeconds: 60,
    model: { id: model, name: model }, settings: { model, device: 'auto', overlap: null }, stems: ['vocals'],
  };
}

test('library: versions of one song (other models, other files) grouped under it, file names kept; ".stem" not in titles (issue 14.5)', () => {
  const songs = [
    song('a1', 'Slow Motion Dream (ft. CSoul)', 'slow-motion.mp3', 'spleeter-demucs-v1', '2025-01-01T10:00:00Z', 'Sapajou'),
    song('a2', 'Slow Motion Dream (ft. CSoul)', 'slow-motion.flac', 'spleeter-demucs-v1', '2025-01-02T10:00:00Z', 'Sapajou'),
    song('a3', 'slow motion dream (ft. csoul) ', 'slow-motion.mp3', 'htdemucs-v4-mixxx', '2025-01-03T10:00:00Z', 'Sapajou'),
    song('b', 'Music Delta - 80s Rock.stem', 'Music Delta - 80s Rock.stem.mp4', 'spleeter-demucs-v1', '2025-01-02T12:00:00Z'),
  ];
  const groups = groupSongs(songs);
  assert.equal(groups.length, 2);
  assert.deepEqual(groups[0].versions.map((s) => s.id), ['a3', 'a2', 'a1'], 'one group, newest version first');
  assert.equal(new Set(groups[0].versions.map((s) => `${s.sourceName} ${s.model.id}`)).size, 3, 'versions told apart by file and model');
  assert.equal(groups[1].title, 'Music Delta - 80s Rock');
  assert.equal(displayTitle(songs[3]), 'Music Delta - 80s Rock');
});

test('meters: a dB scale (0 dBFS at 60/66 of the bar) and a clip light at full scale; exports say what they clipped (issue 14.3)', () => {
  assert.ok(Math.abs(dbFraction(0) - 60 / 66) < 1e-12);
  assert.equal(meterFraction(1), dbFraction(0));
  assert.equal(meterFraction(0), 0);
  assert.ok(isClip(1) && isClip(1.5) && !isClip(0.999));
  assert.equal(clipWarning({ name: 'x.wav', clipped: 0, peak: 0.9 }), null);
  const w = clipWarning({ name: 'Song (Mix).wav', clipped: 1234, peak: 2 });
  assert.match(w ?? '', /Song \(Mix\)\.wav: 1,234 samples .*\+6\.0 dBFS.*Normalise.*32-bit float/);
});
