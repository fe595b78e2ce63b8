/**
 * Play while it separates, end to end in a real headless Chromium against the browser shell and
 * the real engine: a 4-minute song of real music (the MUSDB clip looped) is dropped → the mixer
 * opens and plays the mixture while the job runs (time to first audio reported) → paused and sent
 * to 70 %, the engine's next segment is at the new playhead and that region is separated before
 * the frames between → when the job is done the mixer plays the library's song, whose stems are a
 * normal job's, sample for sample; a cancelled live job ends in the mixer with nothing in the library.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Page } from 'puppeteer-core';
import type { Job } from '../../src-main/api/contract.js';
import { ffmpegPath, startBrowserApp } from './browser-app.js';
import { realClip, skipUnlessShared } from '../engine/helpers.js';

/** `seconds` of the real clip's mixture, looped, as FLAC. */
function loopedSong(file: string, seconds: number): void {
  execFileSync(ffmpegPath(), ['-loglevel', 'error', '-y', '-stream_loop', '-1', '-i', realClip, '-map', '0:a:0', '-t', String(seconds), '-ac', '2', '-ar', '44100', '-c:a', 'flac', file]);
}

async function drop(page: Page, file: string, name: string): Promise<void> {
  const b64 = (await fsp.readFile(file)).toString('base64');
  await page.evaluate(
    async (b64, name) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], name, { type: 'audio/flac' }));
      for (const type of ['dragenter', 'dragover', 'drop']) document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    },
    b64,
    name,
  );
}

type MixerHandle = { timings: Record<string, number | null>; songId: string | null; jobId: string | null; player: { position: number; isPlaying: boolean } };
const mixer = (page: Page) => page.evaluate(() => {
  const m = (window as unknown as { __stemdeckMixer?: MixerHandle }).__stemdeckMixer;
  return m ? { timings: m.timings, songId: m.songId, jobId: m.jobId, position: m.player.position, playing: m.player.isPlaying } : null;
});

test('live: drop → plays while it separates, a seek moves the work, the finished stems are a normal job\'s', { skip: skipUnlessShared(realClip), timeout: 600_000 }, async (t) => {
  const e2e = await startBrowserApp({ name: 'live' });
  const { tmp, app, shell, browser } = e2e;
  // every job event the app sends (what the renderer hears), with when it came
  const events: { at: number; job: Job }[] = [];
  app.on('event', (name, payload) => name === 'job' && events.push({ at: Date.now(), job: payload as Job }));
  const pageErrors: string[] = [];
  try {
    const { separateFile, readWavChunks, loadRegistry } = await import('../../src-main/engine/index.js');
    const modelId = (await loadRegistry()).defaultId!;
    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && pageErrors.push(m.text()));
    await page.setViewport({ width: 1280, height: 800 });
    await page.goto(shell.url);
    await page.waitForSelector('select[aria-label="Separation model"] option');

    const song = path.join(tmp, 'Live Rock.flac');
    loopedSong(song, 240);
    const SR = 44100;

    await t.test('drop → the mixer plays the song at once while the job runs', async () => {
      await drop(page, song, 'Live Rock.flac');
      await page.waitForFunction(() => (window as unknown as { __stemdeckMixer?: MixerHandle }).__stemdeckMixer?.timings.firstAudioMs != null, { timeout: 60_000, polling: 20 });
      const m = (await mixer(page))!;
      const job = app.host.list().find((j) => j.id === m.jobId)!;
      t.diagnostic(`time to first audio after the drop of a 4-minute song (upload, job start, mixture decode, fetch, play): ${m.timings.firstAudioMs!.toFixed(0)} ms (player ready ${m.timings.readyMs!.toFixed(0)} ms)`);
      assert.equal(job.status, 'running', 'audio plays while the job runs');
      assert.ok(job.live, 'the job is in live mode');
      assert.ok(m.playing, 'playing');
      await page.waitForSelector('[data-testid=live-status]');
    });

    let target = 0;
    await t.test('a seek ahead moves the engine there: its next segment is at the new playhead', async () => {
      await page.keyboard.press('Space'); // pause: the engine's order then starts exactly under the playhead
      const box = (await (await page.$('.ruler'))!.boundingBox())!;
      const seekAt = Date.now();
      await page.mouse.click(box.x + box.width * 0.7, box.y + box.height / 2);
      const m = (await mixer(page))!;
      target = Math.round(m.position * SR);
      assert.ok(Math.abs(m.position - 168) < 3, `sought to ${m.position} s`);
      const jobId = m.jobId!;
      // the engine starts the segment under the playhead, and that region is separated before the frames just before it
      const t0 = Date.now();
      let atTarget: Job | null = null;
      while (Date.now() - t0 < 240_000 && !atTarget) {
        atTarget = events.find((e) => e.at >= seekAt && e.job.id === jobId && e.job.live?.regions.some(([a, b]) => a <= target && target < b))?.job ?? null;
        if (!atTarget && app.host.list().find((j) => j.id === jobId)?.status !== 'running') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(atTarget, 'the region at the new playhead was separated while the job ran');
      const started = events.filter((e) => e.at >= seekAt && e.job.id === jobId).map((e) => e.job.live?.separating).filter((s): s is [number, number] => !!s);
      assert.ok(started.some(([a, b]) => a <= target && target < b), `a segment at the playhead (${target}) was started: ${JSON.stringify(started.slice(0, 5))}`);
      const before = target - 20 * SR;
      assert.ok(!atTarget.live!.regions.some(([a, b]) => a <= before && before < b), 'the frames 20 s before the playhead were not separated yet: the work jumped there');
      t.diagnostic(`separated regions when the playhead's was done: ${JSON.stringify(atTarget.live!.regions.map(([a, b]) => [+(a / SR).toFixed(1), +(b / SR).toFixed(1)]))} s`);
      await page.keyboard.press('Space');
    });

    await t.test('done → the mixer plays the library song; its stems are a normal job\'s, sample for sample', async () => {
      const jobId = (await mixer(page))!.jobId!;
      await page.waitForFunction(() => !!(window as unknown as { __stemdeckMixer?: MixerHandle }).__stemdeckMixer?.songId, { timeout: 400_000, polling: 200 });
      const job = app.host.list().find((j) => j.id === jobId)!;
      assert.equal(job.status, 'done');
      assert.equal(job.live, undefined, 'no live state once done');
      assert.ok(!fs.existsSync(path.join(app.liveDir, jobId)), 'the live files are gone');
      const libSong = await app.library.get(job.songId!);
      const normal = await separateFile({ input: song, outDir: path.join(tmp, 'normal'), model: modelId, format: 'wav', analyze: true });
      for (const s of libSong.stems) {
        const a = path.join(app.library.root, s.ref.path);
        const b = normal.outputs[s.name];
        const chunksA: Float32Array[][] = [];
        for await (const c of readWavChunks(a)) chunksA.push(c);
        const chunksB: Float32Array[][] = [];
        for await (const c of readWavChunks(b)) chunksB.push(c);
        const flat = (cs: Float32Array[][], ch: number) => {
          const n = cs.reduce((k, c) => k + c[ch].length, 0);
          const out = new Float32Array(n);
          let at = 0;
          for (const c of cs) {
            out.set(c[ch], at);
            at += c[ch].length;
          }
          return out;
        };
        for (let ch = 0; ch < 2; ch++) {
          const x = flat(chunksA, ch);
          const y = flat(chunksB, ch);
          assert.equal(x.length, y.length, `${s.name}: length`);
          assert.ok(Buffer.compare(Buffer.from(x.buffer), Buffer.from(y.buffer)) === 0, `${s.name} channel ${ch}: the live job's stem differs from the normal job's`);
        }
      }
      t.diagnostic(`${libSong.stems.length} stems equal a normal job's (${modelId}); the live job took ${((Date.parse(job.finishedAt!) - Date.parse(job.startedAt!)) / 1000).toFixed(1)} s, the normal one ${normal.seconds.toFixed(1)} s`);
    });

    await t.test('a cancelled live job ends in the mixer with nothing in the library', async () => {
      const short = path.join(tmp, 'Cancel Me.flac');
      loopedSong(short, 60);
      const songsBefore = (await app.library.list()).length;
      await drop(page, short, 'Cancel Me.flac');
      await page.waitForSelector('[data-testid=live-status]', { timeout: 60_000 });
      const jobId = (await mixer(page))!.jobId!;
      app.host.cancel(jobId);
      await page.waitForSelector('[data-testid=live-ended]', { timeout: 60_000 });
      assert.match(await page.$eval('[data-testid=live-ended]', (e) => (e as HTMLElement).innerText), /cancelled/);
      assert.equal(await page.evaluate(() => (window as unknown as { __stemdeckMixer?: unknown }).__stemdeckMixer ?? null), null, 'nothing plays');
      assert.equal((await app.library.list()).length, songsBefore, 'no song added');
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(!fs.existsSync(path.join(app.liveDir, jobId)), 'the live files are gone');
    });
    assert.deepEqual(pageErrors, [], 'no errors in the page');
  } finally {
    await e2e.close();
  }
});
