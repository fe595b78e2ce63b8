// Names made from long non-ASCII titles (issue 12 §7, §10): export, NI Stems, drag-out and uploads
// used to cut titles at 120 UTF-16 units — 360 bytes of Japanese, over the 255-byte limit of a
// file name (ENAMETOOLONG, "Internal error") — and could cut an emoji in half. Now every name is
// cut between whole characters within 255 bytes, leaving room for suffixes and temp affixes; two
// exports of one song in the same second get their own folders. Real app, real engine, real files.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { App } from '../../src-main/host/app.js';
import { readStemAtom } from '../../src-main/engine/export.js';
import { readWavInfo } from '../../src-main/engine/output/wav.js';
import { fileNameWithSuffix, nameLength, NAME_MAX, safeFileName, safeFileNameKeepingExtension, TEMP_AFFIX_MAX } from '../../src-main/engine/output/file-names.js';
import { isolatedHome, makeSong, tempDir, waitJobEnd } from '../app/helpers.js';

// 119 Japanese characters then an emoji: a cut at 120 UTF-16 units falls inside the emoji
const LONG_TITLE = `${'長い曲名のテスト'.repeat(15).slice(0, 119)}🎸 — ライブ・バージョン（リマスター）`;
const utf8 = (s: string): number => Buffer.byteLength(s, 'utf8');
/** No lone surrogate (half an emoji): the string survives a round trip through UTF-8. */
const wellFormed = (s: string): boolean => Buffer.from(s, 'utf8').toString('utf8') === s;

/** Every emoji / flag / accented letter of `cut` is one that `full` has at that place (a grapheme was not split). */
function wholeGraphemes(cut: string, full: string): boolean {
  const seg = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  const a = Array.from(seg.segment(cut), (g) => g.segment);
  const b = Array.from(seg.segment(full), (g) => g.segment);
  return a.every((g, i) => g === b[i]);
}

test('safeFileName: within 255 bytes with room for the suffix and temp affixes, cut between whole characters', () => {
  const cases = [
    LONG_TITLE,
    '🇯🇵🇫🇷🇩🇪'.repeat(40), // flags: two code points each
    '👨‍👩‍👧‍👦'.repeat(30), // a family: seven code points joined by ZWJ
    'é'.normalize('NFD').repeat(200), // e + combining accent
    '한국어 노래 제목 '.repeat(30), // Hangul: 3 bytes each, 2–3 units decomposed (HFS+)
    'a'.repeat(400),
  ];
  for (const title of cases) {
    const suffix = ' - Instrumental.stem.mp4';
    const name = fileNameWithSuffix(title, suffix);
    assert.ok(name.endsWith(suffix), name);
    assert.ok(wellFormed(name), 'no lone surrogate');
    assert.ok(nameLength(name) + TEMP_AFFIX_MAX <= NAME_MAX, `${nameLength(name)} + ${TEMP_AFFIX_MAX} > ${NAME_MAX}: ${name}`);
    assert.ok(utf8(`.${name}.4194304-0123abcd.part`) <= 255, 'the longest temp name fits');
    assert.ok(wholeGraphemes(name.slice(0, -suffix.length), title.normalize('NFC')), `cut inside a character: ${name}`);
    assert.ok(nameLength(name) > 150, `not cut shorter than needed: ${nameLength(name)}`);
  }
  assert.equal(safeFileName('a/b\\c:d*e?f"g<h>i|j'), 'a_b_c_d_e_f_g_h_i_j');
  assert.equal(safeFileName(' ..hidden. '), 'hidden');
  assert.equal(safeFileName('...'), 'Untitled');
  assert.equal(safeFileName('CON'), '_CON');
  assert.equal(safeFileName('nul.txt'), '_nul.txt');
  const upload = safeFileNameKeepingExtension(`${'曲'.repeat(84)}.stem.mp4`); // 252 + 9 bytes
  assert.ok(upload.endsWith('.stem.mp4') && utf8(upload) + TEMP_AFFIX_MAX <= 255, upload);
});

let app: App | null = null;
let songId = '';
let title = '';
/** The app with a separated song whose title is over 200 bytes of Japanese (started once). */
async function ready(): Promise<App> {
  if (app) return app;
  isolatedHome();
  const a = new App({ shell: 'browser' });
  app = a;
  await a.start();
  await a.settings.set({ model: 'identity-waveform' });
  const src = makeSong(path.join(tempDir(), 'long title.flac'), 2, LONG_TITLE);
  a.guard.choose(src);
  const r = await a.openFiles([src], undefined);
  const job = await waitJobEnd(a, r.jobs[0].id);
  assert.equal(job.status, 'done', JSON.stringify(job.error));
  songId = job.songId!;
  // the title as the library has it from the tags (a tag is kept to 255 bytes)
  title = a.library.get(songId).title;
  assert.ok(utf8(title) >= 240 && title.startsWith(LONG_TITLE.slice(0, 60)), `a long title: ${utf8(title)} bytes`);
  return a;
}
after(async () => {
  await app?.stop();
});

function assertFits(file: string): void {
  for (const part of file.split(path.sep).filter(Boolean)) assert.ok(utf8(part) <= 255, `${utf8(part)} bytes: ${part}`);
  assert.ok(wellFormed(path.basename(file)), `well-formed: ${file}`);
}

test('export of a song with a long Japanese title: WAV, FLAC, NI Stems', async () => {
  const app = await ready();
  for (const format of ['wav24', 'flac'] as const) {
    const res = await app.exportRun({ songId, stems: ['vocals', 'other'], mixdown: true, preset: null, format });
    assert.equal(res.files.length, 3);
    for (const f of res.files) {
      assertFits(f.path);
      assert.ok(fs.statSync(f.path).size > 1000, f.name);
      assert.ok(f.name.startsWith(title.slice(0, 40)), f.name);
    }
    assertFits(res.outDir);
  }
  const ni = await app.exportRun({ songId, stems: [], mixdown: false, preset: null, format: 'ni-stems' });
  assert.equal(ni.files.length, 1);
  assertFits(ni.files[0].path);
  assert.ok(ni.files[0].name.endsWith('.stem.mp4'));
  assert.ok(await readStemAtom(ni.files[0].path), 'the NI stem box is there');
});

test('drag-out of a lane and of the mix with a long Japanese title', async () => {
  const app = await ready();
  for (const target of ['vocals', 'mixdown'] as const) {
    const drag = await app.dragOut({ songId, target });
    assertFits(drag.path);
    assert.equal(path.basename(drag.path), drag.fileName);
    assert.ok(drag.fileName.endsWith(target === 'vocals' ? ' - Vocals.wav' : ' - Mix.wav'), drag.fileName);
    assert.ok((await readWavInfo(drag.path)).frames > 44100);
  }
});

test('two exports of one song in the same second get a folder each', async () => {
  const app = await ready();
  const [a, b] = await Promise.all([
    app.exportRun({ songId, stems: ['vocals'], mixdown: false, preset: null, format: 'wav16' }),
    app.exportRun({ songId, stems: ['vocals'], mixdown: false, preset: 'acappella', format: 'wav16' }),
  ]);
  assert.notEqual(a.outDir, b.outDir);
  assert.deepEqual(
    fs.readdirSync(a.outDir),
    a.files.map((f) => f.name),
  );
  assert.deepEqual(
    fs.readdirSync(b.outDir).sort(),
    b.files.map((f) => f.name).sort(),
  );
});

test('an upload with a long name keeps its extension and fits', async () => {
  const app = await ready();
  const target = await app.importPath(`${'曲'.repeat(84)}.flac`);
  assertFits(target);
  assert.ok(target.endsWith('.flac'), target);
});
