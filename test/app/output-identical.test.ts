/**
 * One audio output module (issue 16.3): the same audio through the separation's stem writer, the
 * app's export and its drag-out gives byte-identical WAV files in every WAV format. Before, the
 * stem writer scaled 16/24-bit samples by 2^(bits−1) − 1 and export by 2^(bits−1), and only the
 * stem writer's header had the JUNK chunk that reserves room for RF64's ds64. (Export and drag-out
 * add the song's DAW metadata, bext + acid: the stem writer is given the same.)
 */
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '../../src-main/host/app.js';
import { writeAudio, type OutputFormat } from '../../src-main/engine/index.js';
import { readWavChunks } from '../../src-main/engine/output/wav.js';
import { isolatedHome, tempDir, makeSong, waitJobEnd } from './helpers.js';

let dir = '';
before(() => {
  isolatedHome();
  dir = tempDir('stemdeck-identical-');
});

async function readAll(file: string): Promise<Float32Array[]> {
  const parts: Float32Array[][] = [];
  for await (const c of readWavChunks(file)) parts.push(c);
  return parts[0].map((_, ch) => {
    const out = new Float32Array(parts.reduce((n, p) => n + p[ch].length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p[ch], o);
      o += p[ch].length;
    }
    return out;
  });
}

test('the same audio through stems, export and drag-out gives byte-identical files', async () => {
  const app = new App({ shell: 'browser' });
  await app.start();
  try {
    await app.settings.set({ model: 'identity-waveform' });
    const src = makeSong(path.join(dir, 'src.wav'), 2, 'Same Bytes');
    app.guard.choose(src);
    const job = await waitJobEnd(app, (await app.openFiles([src], undefined)).jobs[0].id);
    assert.equal(job.status, 'done', JSON.stringify(job.error));
    const song = app.library.get(job.songId!);
    const vocals = song.stems.find((s) => s.name === 'vocals')!;
    const audio = await readAll(path.join(app.library.songDir(song.id), vocals.file)); // as separated (32-bit float)
    const formats: [api: 'wav16' | 'wav24' | 'wav32f', engine: OutputFormat][] = [
      ['wav16', 'wav16'],
      ['wav24', 'wav24'],
      ['wav32f', 'wav'],
    ];
    for (const [api, engine] of formats) {
      const stem = path.join(dir, `stem-${api}.wav`);
      // what a separation writes in this format, with the metadata export and drag-out give the stem (wav-metadata.ts)
      await writeAudio(stem, audio, 44100, engine, { label: 'Vocals', tempo: song.tempo ?? null, key: song.key ?? null, model: song.model.id });
      const exported = await app.exportRun({ songId: song.id, stems: ['vocals'], mixdown: false, preset: null, format: api });
      const dragged = await app.dragOut({ songId: song.id, target: 'vocals', format: api });
      const want = fs.readFileSync(stem);
      assert.ok(want.equals(fs.readFileSync(exported.files[0].path)), `${api}: export = the stem writer's file`);
      assert.ok(want.equals(fs.readFileSync(dragged.path)), `${api}: drag-out = the stem writer's file`);
    }
  } finally {
    await app.stop();
  }
});
