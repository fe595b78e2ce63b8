/**
 * Issue 15.2 in real Chromium against the real browser shell and engine:
 * - a library row's "Download all stems (zip)" downloads one zip whose entries (unzipped by
 *   Python's zipfile) are the song's drag-out files, byte for byte;
 * - the export dialog's File names → the DAW preset is remembered (Settings' exportNamePattern),
 *   and the export's files are named "Song - Vocals - 120 BPM - A min.wav".
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { startBrowserApp } from './browser-app.js';
import { waitJobEnd } from '../app/helpers.js';
import { songIn120AMinor } from '../analysis/signals.js';

test('library: download all stems as one zip; export dialog: DAW file names', { timeout: 150_000 }, async () => {
  const e2e = await startBrowserApp({ name: 'daw', models: ['identity-waveform'], downloads: true });
  const { tmp, app, shell, browser } = e2e;
  const downloads = e2e.downloads!;
  try {
    await app.settings.set({ model: 'identity-waveform' });
    const src = songIn120AMinor(tmp);
    app.guard.choose(src);
    const job = await waitJobEnd(app, (await app.openFiles([src], undefined)).jobs[0].id);
    assert.equal(job.status, 'done');
    const song = app.library.get(job.songId!);

    const page = await browser.newPage();
    await page.goto(shell.url);
    await page.waitForSelector('[data-testid=song-stems-zip]');
    const href = await page.$eval('[data-testid=song-stems-zip]', (a) => (a as HTMLAnchorElement).href);
    assert.match(href, new RegExp(`/zip/${song.id}\\?token=`));
    await page.click('[data-testid=song-stems-zip]');
    const zip = path.join(downloads, 'Song in A minor (stems).zip');
    for (let t = 0; !fs.existsSync(zip) && t < 600; t++) await new Promise((r) => setTimeout(r, 100));
    assert.ok(fs.existsSync(zip), `downloaded: ${fs.readdirSync(downloads).join(', ')}`);
    const out = path.join(tmp, 'unzipped');
    const py = spawnSync('python3', ['-c', 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); z.extractall(sys.argv[2]); print("\\n".join(z.namelist()))', zip, out], { encoding: 'utf8' });
    assert.equal(py.status, 0, py.stderr);
    const { files } = await app.dragOutAll({ songId: song.id });
    assert.deepEqual(py.stdout.trim().split('\n'), files.map((f) => f.fileName));
    for (const f of files) assert.ok(fs.readFileSync(path.join(out, f.fileName)).equals(fs.readFileSync(f.path)), f.fileName);

    // export dialog: DAW names, remembered
    await page.click('[data-testid=song] button.main');
    await page.waitForSelector('[data-testid=play]');
    await page.click('[data-testid=open-export]');
    await page.waitForSelector('[data-testid=export-naming]');
    await page.select('[data-testid=export-naming]', 'daw');
    await page.click('[data-testid=export-run]');
    await page.waitForSelector('[data-testid=export-result]', { timeout: 60_000 });
    const names = await page.$$eval('[data-testid=export-result] a', (as) => as.map((a) => (a as HTMLElement).innerText));
    const bpm = song.tempo!;
    assert.ok(names.includes(`Song in A minor - Vocals - ${bpm} BPM - A min.wav`), names.join(' | '));
    assert.equal(app.settings.get().exportNamePattern, '{song} - {stem}[ - {bpm} BPM][ - {key}]');
    await page.screenshot({ path: path.join(tmp, 'export-daw-names.png') as `${string}.png` });
  } finally {
    await e2e.close();
  }
});
