/**
 * End to end, in a real headless Chromium against the browser shell (started in-process on a
 * random port) and the real engine (engine host process, ffmpeg, ONNX Runtime):
 * drop a file → the separation finishes → open → play → the mixer's output (AnalyserNode) changes
 * as stems are muted and soloed → export writes files whose mixdown equals the offline mix of the
 * same mixer state (engine law and Web Audio render) within −60 dB → drag-out produces real files.
 * Saves screenshots of the library, the mixer and the export dialog to test/.tmp/screenshots/
 * (git-ignored), or to the tracked test/e2e/screenshots/ with STEMDECK_UPDATE_SCREENSHOTS=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import type { Page } from 'puppeteer-core';
import { ffmpegPath, repoRoot, startBrowserApp } from './browser-app.js';

/**
 * Screenshots go to the git-ignored test/.tmp/screenshots/, so `npm test` leaves the tracked ones
 * alone; STEMDECK_UPDATE_SCREENSHOTS=1 writes the tracked test/e2e/screenshots/ (when the UI changed).
 */
const shotsDir = process.env.STEMDECK_UPDATE_SCREENSHOTS === '1' ? path.join(repoRoot, 'test', 'e2e', 'screenshots') : path.join(repoRoot, 'test', '.tmp', 'screenshots');
const MAX_SHOT_BYTES = 300 * 1024;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** 5 s stereo FLAC test song with tags and cover art: different material left and right, pulses for a visible waveform. */
function makeSong(file: string): void {
  const expr =
    '0.35*sin(2*PI*110*t)*exp(-6*(t-0.25*floor(4*t)))+0.12*sin(2*PI*440*t)*(0.6+0.4*sin(2*PI*0.5*t))' +
    '|0.3*sin(2*PI*165*t)*exp(-9*(t+0.125-0.25*floor(4*t+0.5)))+0.12*sin(2*PI*660*t)';
  execFileSync(ffmpegPath(), [
    '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `aevalsrc=${expr}:s=44100:d=5:c=stereo`,
    '-f', 'lavfi', '-i', 'testsrc2=s=160x160:d=1', '-map', '0:a', '-map', '1:v', '-frames:v', '1',
    '-c:a', 'flac', '-c:v', 'png', '-disposition:v', 'attached_pic',
    '-metadata', 'title=E2E Groove', '-metadata', 'artist=Stemdeck Tests', file,
  ]);
}

async function shot(page: Page, name: string): Promise<string> {
  await fsp.mkdir(shotsDir, { recursive: true });
  const file = path.join(shotsDir, `${name}.png`);
  await page.screenshot({ path: file as `${string}.png` });
  let size = (await fsp.stat(file)).size;
  if (size > MAX_SHOT_BYTES) {
    // fall back to a smaller viewport rendering (keeps the PNG under the repository limit)
    await page.screenshot({ path: file as `${string}.png`, clip: { x: 0, y: 0, width: 1100, height: 700 } });
    size = (await fsp.stat(file)).size;
  }
  assert.ok(size <= MAX_SHOT_BYTES, `${name}.png is ${size} bytes`);
  return file;
}

/** Mean RMS (linear) of the master output and of each lane, measured through AnalyserNodes. */
async function levels(page: Page, ms = 700): Promise<{ master: number; lanes: Record<string, number> }> {
  return page.evaluate(async (ms) => {
    type P = { master: GainNode; ctx: AudioContext; stems: string[]; level(s: string | null): { rms: number } };
    const m = (window as unknown as { __stemdeckMixer: { player: P } }).__stemdeckMixer;
    const p = m.player;
    const an = p.ctx.createAnalyser();
    an.fftSize = 32768;
    p.master.connect(an);
    await new Promise((r) => setTimeout(r, 900)); // ramps settle, analyser window fills
    const buf = new Float32Array(an.fftSize);
    let acc = 0;
    let n = 0;
    const lanes: Record<string, number> = {};
    const t0 = performance.now();
    while (performance.now() - t0 < ms) {
      an.getFloatTimeDomainData(buf);
      let s = 0;
      for (const v of buf) s += v * v;
      acc += s / buf.length;
      n++;
      for (const st of p.stems) lanes[st] = (lanes[st] ?? 0) + p.level(st).rms ** 2;
      await new Promise((r) => setTimeout(r, 20)); // many short lane windows over ~3 periods of the test song
    }
    p.master.disconnect(an);
    for (const st of p.stems) lanes[st] = Math.sqrt(lanes[st] / n);
    return { master: Math.sqrt(acc / n), lanes };
  }, ms);
}

const db = (x: number) => 20 * Math.log10(Math.max(1e-12, x));

/** Energy of (a − b) relative to b, dB, over min length, both planar. */
function relErrorDb(a: Float32Array[], b: Float32Array[]): number {
  let err = 0;
  let ref = 0;
  for (let c = 0; c < Math.min(a.length, b.length); c++) {
    const n = Math.min(a[c].length, b[c].length);
    for (let i = 0; i < n; i++) {
      err += (a[c][i] - b[c][i]) ** 2;
      ref += b[c][i] ** 2;
    }
  }
  assert.ok(ref > 0, 'reference is silent');
  return 10 * Math.log10(Math.max(err, 1e-30) / ref);
}

async function waitForFile(dir: string, timeoutMs: number): Promise<string> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const names = (await fsp.readdir(dir).catch(() => [] as string[])).filter((n) => !n.endsWith('.crdownload'));
    if (names.length > 0) return path.join(dir, names[0]);
    await sleep(100);
  }
  throw new Error(`no file downloaded into ${dir}`);
}

/** Starts a drag on a drag handle; returns the DownloadURL the renderer put on the drag data. */
async function dragOutUrl(page: Page, testid: string): Promise<{ mime: string; name: string; url: string }> {
  await page.hover(`[data-testid="${testid}"]`); // prepares the file (dragout.prepare)
  const t0 = Date.now();
  while (Date.now() - t0 < 30_000) {
    const data = await page.evaluate((testid) => {
      const el = document.querySelector(`[data-testid="${testid}"]`)!;
      const dt = new DataTransfer();
      el.dispatchEvent(new DragEvent('dragstart', { dataTransfer: dt, bubbles: true, cancelable: true }));
      return dt.getData('DownloadURL');
    }, testid);
    const m = /^([^:]+):([^:]+):(.+)$/.exec(data);
    if (m) return { mime: m[1], name: m[2], url: m[3] };
    await sleep(250);
  }
  throw new Error(`drag-out of ${testid} never became ready`);
}

test('e2e: drop → separate → play → mute/solo → export = offline mix → drag-out', { timeout: 175_000 }, async (t) => {
  const started = Date.now();
  // the identity test model is the fallback when no small bundled model is present
  const e2e = await startBrowserApp({ name: 'app', models: ['identity-waveform'], downloads: true });
  const { tmp, app, shell, browser, buildSeconds } = e2e;
  const downloads = e2e.downloads!;
  const pageErrors: string[] = [];
  try {
    const { decodeAll } = await import('../../src-main/engine/decode.js');
    const { mixdown, applyPreset, defaultMix } = await import('../../src-main/shared/mix-law.js');
    const page = await browser.newPage();
    page.on('pageerror', (e) => pageErrors.push(String(e)));
    page.on('console', (m) => {
      if (m.type() === 'error' && !/Failed to load resource/.test(m.text())) pageErrors.push(m.text());
    });
    page.on('response', (r) => {
      if (r.status() < 500) return;
      // model-manager methods not wired into this build yet answer "… is not available in this build"
      void r.text().then(
        (body) => !/not available in this build/.test(body) && pageErrors.push(`${r.status()} ${new URL(r.url()).pathname}: ${body.slice(0, 200)}`),
        () => pageErrors.push(`${r.status()} ${new URL(r.url()).pathname}`),
      );
    });
    await page.setViewport({ width: 1280, height: 800 });
    await page.goto(shell.url);
    await page.waitForSelector('select[aria-label="Separation model"] option');

    // a small, fast model: the bundled small Demucs (4 distinct stems) if present, else the identity fixture
    const models = await page.$$eval('select[aria-label="Separation model"] option', (os) => os.map((o) => (o as HTMLOptionElement).value));
    const modelId = models.includes('demucs-small-v1') ? 'demucs-small-v1' : 'identity-waveform';
    await page.select('select[aria-label="Separation model"]', modelId);
    await page.waitForFunction((id) => document.querySelector('[data-testid=model-card]')?.textContent?.length && (document.querySelector('select[aria-label="Separation model"]') as HTMLSelectElement).value === id, {}, modelId);
    await sleep(300); // settings.set round trip

    await t.test('drop a file → the separation finishes and the song is listed', async () => {
      const input = path.join(tmp, 'E2E Groove.flac');
      makeSong(input);
      const b64 = (await fsp.readFile(input)).toString('base64');
      await page.evaluate(async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'E2E Groove.flac', { type: 'audio/flac' }));
        for (const type of ['dragenter', 'dragover', 'drop'])
          document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, b64);
      // one dropped file opens in the mixer while it separates (test/e2e/live.test.ts): back to the library's queue
      await page.waitForSelector('[data-testid=live-status], [data-testid=play]', { timeout: 20_000 });
      await page.click('nav button:first-child');
      await page.waitForSelector('[data-testid=job]', { timeout: 20_000 });
      // best effort: the queue while the separation runs (progress, ETA, Cancel)
      const running = await page
        .waitForFunction(() => Number(document.querySelector('[data-testid=job][data-status=running] [role=progressbar]')?.getAttribute('aria-valuenow') ?? 0) >= 20, { timeout: 15_000, polling: 50 })
        .catch(() => null);
      if (running) await shot(page, 'queue').catch(() => undefined);
      await page.waitForSelector('[data-testid=job][data-status=done]', { timeout: 100_000 });
      await page.waitForSelector('[data-testid=song]', { timeout: 10_000 });
      const title = await page.$eval('[data-testid=song] .title', (e) => e.textContent);
      assert.equal(title, 'E2E Groove');
      const artist = await page.$eval('[data-testid=song] .sub', (e) => e.textContent);
      assert.match(artist ?? '', /Stemdeck Tests/);
      // the file name is shown too (versions of one song differ by file and model), and the queue row names the model
      assert.equal(await page.$eval('[data-testid=song] [data-testid=song-file]', (e) => e.textContent), 'E2E Groove.flac');
      assert.match((await page.$eval('[data-testid=job] [data-testid=job-model]', (e) => e.textContent)) ?? '', /\S/);
      // cover art from the tags is shown
      await page.waitForFunction(() => ((document.querySelector('[data-testid=song] .art img') as HTMLImageElement | null)?.naturalWidth ?? 0) > 0, { timeout: 10_000 });
      await shot(page, 'library');
    });

    const songId = await page.$eval('[data-testid=song]', (e) => (e as HTMLElement).dataset.songId!);
    let firstAudioMs = NaN;
    let stems: string[] = [];

    await t.test('open → play: audio within the time budget, one lane per stem with waveforms', async () => {
      await page.hover('[data-testid=song-play]'); // hovering a song starts fetching + decoding it
      await sleep(600);
      await page.click('[data-testid=song-play]'); // open and play
      await page.waitForSelector('[data-testid=play]');
      await page.waitForFunction(() => (window as unknown as { __stemdeckMixer?: { timings: { firstAudioMs: number | null } } }).__stemdeckMixer?.timings.firstAudioMs != null, { timeout: 10_000 });
      const timings = await page.evaluate(() => (window as unknown as { __stemdeckMixer: { timings: Record<string, number> } }).__stemdeckMixer.timings);
      firstAudioMs = timings.firstAudioMs;
      t.diagnostic(`time to first audio (click on a song's play → sound at the analyser): ${firstAudioMs.toFixed(0)} ms (stems ready ${timings.readyMs.toFixed(0)} ms)`);
      // the budget is 300 ms; allow for a busy machine here, the figure is reported above
      assert.ok(firstAudioMs < 1000, `first audio after ${firstAudioMs} ms`);

      // cold: nothing loaded yet (fresh page), stems streamed in stages from 0.5 s on, so that
      // playback starts from their first seconds and the buffers grow while playing
      await page.evaluate(() => localStorage.setItem('stemdeckHeadSeconds', '0.5'));
      await page.reload();
      await page.waitForSelector('[data-testid=song-play]');
      // the model choice was remembered (settings.set), also across a reload
      await page.waitForSelector('select[aria-label="Separation model"] option');
      assert.equal(await page.$eval('select[aria-label="Separation model"]', (e) => (e as HTMLSelectElement).value), modelId);
      await page.click('[data-testid=song-play]');
      await page.waitForFunction(() => (window as unknown as { __stemdeckMixer?: { timings: { completeMs: number | null } } }).__stemdeckMixer?.timings.completeMs != null, { timeout: 20_000 });
      const cold = await page.evaluate(() => (window as unknown as { __stemdeckMixer: { timings: Record<string, number> } }).__stemdeckMixer.timings);
      t.diagnostic(`cold open (no prefetch) → sound: ${cold.firstAudioMs.toFixed(0)} ms; stems complete after ${cold.completeMs.toFixed(0)} ms, ${cold.swaps} buffer swaps while playing`);
      assert.ok(cold.swaps >= 1, 'the stems grew while playing');
      await page.evaluate(() => localStorage.removeItem('stemdeckHeadSeconds'));
      stems = await page.$$eval('[data-testid=lane]', (ls) => ls.map((l) => (l as HTMLElement).dataset.stem!));
      assert.ok(stems.length >= 2, 'one lane per stem');
      assert.equal(await page.$$eval('[data-testid=waveform] canvas', (cs) => cs.length), stems.length);
      // waveforms are drawn (non-empty canvases)
      const inked = await page.$$eval('[data-testid=waveform] canvas', (cs) =>
        cs.map((c) => {
          const cv = c as HTMLCanvasElement;
          const d = cv.getContext('2d')!.getImageData(0, 0, cv.width, cv.height).data;
          let n = 0;
          for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
          return n;
        }),
      );
      assert.ok(inked.every((n) => n > 100), `waveforms drawn: ${inked}`);
      // a loop region drawn by dragging on the first waveform keeps the song playing during the checks
      const box = (await (await page.$('[data-testid=waveform]'))!.boundingBox())!;
      await page.mouse.move(box.x + box.width * 0.1, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.5, box.y + box.height / 2, { steps: 5 });
      await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      const loop = await page.evaluate(() => (window as unknown as { __stemdeckMixer: { player: { loop: { start: number; end: number } | null } } }).__stemdeckMixer.player.loop);
      assert.ok(loop && loop.start > 0.3 && loop.end < 4.7 && loop.end - loop.start > 3, `loop ${JSON.stringify(loop)}`);
      assert.equal(await page.$eval('[data-testid=play]', (b) => b.getAttribute('aria-pressed')), 'true');
    });

    await t.test('the mixer output changes as stems are muted and soloed', async () => {
      const [a, b] = stems;
      const all = await levels(page);
      assert.ok(all.master > 1e-4, `playing, master ${db(all.master).toFixed(1)} dB`);
      for (const s of stems) assert.ok(all.lanes[s] > 1e-5, `${s} sounds`);

      // Space pauses and plays again
      await page.keyboard.press('Space');
      assert.equal(await page.$eval('[data-testid=play]', (b) => b.getAttribute('aria-pressed')), 'false');
      await page.keyboard.press('Space');
      assert.equal(await page.$eval('[data-testid=play]', (b) => b.getAttribute('aria-pressed')), 'true');

      await page.click(`[data-testid="mute-${a}"]`);
      const muted = await levels(page);
      assert.ok(muted.lanes[a] < 1e-6, `${a} muted: ${db(muted.lanes[a]).toFixed(1)} dB`);
      assert.ok(Math.abs(db(muted.master) - db(all.master)) > 0.5, `master changed on mute: ${db(all.master).toFixed(2)} → ${db(muted.master).toFixed(2)} dB`);
      await page.click(`[data-testid="mute-${a}"]`);

      await page.click(`[data-testid="solo-${b}"]`);
      const solo = await levels(page);
      for (const s of stems) if (s !== b) assert.ok(solo.lanes[s] < 1e-6, `${s} silent while ${b} is soloed`);
      assert.ok(Math.abs(db(solo.master) - db(solo.lanes[b])) < 2, `master = soloed lane: ${db(solo.master).toFixed(2)} vs ${db(solo.lanes[b]).toFixed(2)} dB`);
      assert.ok(Math.abs(db(solo.master) - db(all.master)) > 0.5, 'master changed on solo');
      t.diagnostic(`master: all ${db(all.master).toFixed(1)} dB, ${a} muted ${db(muted.master).toFixed(1)} dB, ${b} solo ${db(solo.master).toFixed(1)} dB (lane ${db(solo.lanes[b]).toFixed(1)} dB)`);
      // keyboard: S toggles solo of the selected lane (the soloed lane is selected after the click)
      await page.keyboard.press('s');
      const unsolo = await levels(page, 400);
      assert.ok(unsolo.lanes[a] > 1e-5, 'solo released by the S key');
    });

    let mixState: import('../../src-main/shared/mix-law.js').MixState;
    await t.test('faders and pans by keyboard set the mixer state', async () => {
      const [a, b, c] = stems;
      await page.focus(`[data-testid="vol-${a}"]`);
      for (let i = 0; i < 12; i++) await page.keyboard.press('ArrowLeft'); // −6 dB
      await page.focus(`[data-testid="pan-${b}"]`);
      for (let i = 0; i < 8; i++) await page.keyboard.press('ArrowRight'); // R 40
      if (c) await page.click(`[data-testid="mute-${c}"]`);
      await page.focus('[data-testid="vol-master"]');
      for (let i = 0; i < 4; i++) await page.keyboard.press('ArrowLeft'); // −2 dB
      mixState = await page.evaluate(() => (window as unknown as { __stemdeckMixer: { getMix(): import('../../src-main/shared/mix-law.js').MixState } }).__stemdeckMixer.getMix());
      assert.equal(mixState.lanes[a].volumeDb, -6);
      assert.ok(Math.abs(mixState.lanes[b].pan - 0.4) < 1e-9);
      if (c) assert.equal(mixState.lanes[c].mute, true);
      assert.equal(mixState.masterDb, -2);
      assert.equal(await page.$eval(`[data-testid="vol-${a}"]`, (e) => e.getAttribute('role')), 'slider');
      assert.equal(await page.$eval(`[data-testid="vol-${a}"]`, (e) => e.getAttribute('aria-valuetext')), '−6.0 dB');
      await sleep(300);
      await shot(page, 'mixer');
      // saved with the song
      await sleep(700);
      const saved = (await app.library.get(songId)).mixer;
      assert.equal(saved.lanes[a].volumeDb, -6);
      assert.equal(saved.masterDb, -2);
    });

    await t.test('export: files whose mixdown equals the offline mix of the mixer state (< −60 dB)', async () => {
      await page.click('[data-testid=play]'); // pause
      await page.click('[data-testid=open-export]');
      await page.waitForSelector('[data-testid=export-dialog][open]');
      await page.select('[data-testid=export-format]', 'wav32f');
      await sleep(200);
      await shot(page, 'export-dialog');
      const respP = page.waitForResponse((r) => r.url().includes('/api/export.run'), { timeout: 60_000 });
      await page.click('[data-testid=export-run]');
      const body = (await (await respP).json()) as { ok: boolean; result: import('../../src-main/api/contract.js').ExportResult; error?: unknown };
      assert.ok(body.ok, `export failed: ${JSON.stringify(body.error)}`);
      await page.waitForSelector('[data-testid=export-result]');
      const files = body.result.files;
      for (const s of stems) assert.ok(files.some((f) => f.kind === 'stem' && f.stem === s && fs.existsSync(f.path)), `stem ${s} exported`);
      const mixFile = files.find((f) => f.kind === 'mixdown');
      assert.ok(mixFile && fs.existsSync(mixFile.path), 'mixdown exported');

      // the engine's offline mix of the same state, from the song's stems, by the shared law
      const song = await app.library.get(songId);
      const stemAudio = await Promise.all(
        song.stems.map(async (s) => ({ stem: s.name, audio: await decodeAll(path.join(app.library.root, s.ref.path), { sampleRate: song.sampleRate, channels: 2 }) })),
      );
      const reference = mixdown(stemAudio, mixState);
      const exported = await decodeAll(mixFile.path, { sampleRate: song.sampleRate, channels: 2 });
      assert.ok(Math.abs(exported[0].length - reference[0].length) <= 1, `length ${exported[0].length} vs ${reference[0].length}`);
      const errEngine = relErrorDb(exported, reference);
      t.diagnostic(`export mixdown vs engine offline mix: ${errEngine.toFixed(1)} dB`);
      assert.ok(errEngine < -60, `export vs offline mix: ${errEngine.toFixed(1)} dB`);
      // exported stems equal the library's stems
      const vocalsOut = files.find((f) => f.kind === 'stem' && f.stem === stems[0])!;
      const stemErr = relErrorDb(await decodeAll(vocalsOut.path, { sampleRate: song.sampleRate, channels: 2 }), stemAudio[0].audio);
      assert.ok(stemErr < -60, `exported stem: ${stemErr.toFixed(1)} dB`);

      // and equals what Web Audio plays: the player's graph rendered offline in the page
      const mixUrl = mixFile.ref ? shell.origin + new URL(`/media/${mixFile.ref.root}/${mixFile.ref.path.split('/').map(encodeURIComponent).join('/')}`, shell.origin).pathname + `?token=${shell.token}` : null;
      assert.ok(mixUrl, 'the mixdown is downloadable');
      const errPlayback = await page.evaluate(async (url, mix) => {
        type P = { ctx: AudioContext; renderOffline(m: unknown): Promise<AudioBuffer> };
        const p = (window as unknown as { __stemdeckMixer: { player: P } }).__stemdeckMixer.player;
        const rendered = await p.renderOffline(mix);
        const exported = await p.ctx.decodeAudioData(await (await fetch(url)).arrayBuffer());
        let err = 0;
        let ref = 0;
        for (let c = 0; c < 2; c++) {
          const a = exported.getChannelData(c);
          const b = rendered.getChannelData(c);
          for (let i = 0; i < Math.min(a.length, b.length); i++) {
            err += (a[i] - b[i]) ** 2;
            ref += b[i] ** 2;
          }
        }
        return 10 * Math.log10(Math.max(err, 1e-30) / ref);
      }, mixUrl, mixState);
      t.diagnostic(`export mixdown vs Web Audio render of the mixer: ${errPlayback.toFixed(1)} dB`);
      assert.ok(errPlayback < -60, `export vs playback: ${errPlayback.toFixed(1)} dB`);
      // one-click preset: instrumental = the stems as separated (unity, centre) without the vocals, not the mixer
      const presetP = page.waitForResponse((r) => r.url().includes('/api/export.run'), { timeout: 60_000 });
      await page.click('[data-testid=preset-instrumental]');
      const presetBody = (await (await presetP).json()) as { ok: boolean; result: import('../../src-main/api/contract.js').ExportResult; error?: unknown };
      assert.ok(presetBody.ok, `preset export failed: ${JSON.stringify(presetBody.error)}`);
      const inst = presetBody.result.files.find((f) => f.kind === 'mixdown');
      assert.ok(inst && fs.existsSync(inst.path), 'instrumental written');
      const instRef = mixdown(stemAudio, applyPreset(defaultMix(stems), 'instrumental', stems));
      const instErr = relErrorDb(await decodeAll(inst.path, { sampleRate: song.sampleRate, channels: 2 }), instRef);
      t.diagnostic(`instrumental preset vs offline mix: ${instErr.toFixed(1)} dB`);
      assert.ok(instErr < -60, `instrumental preset: ${instErr.toFixed(1)} dB`);
      await page.click('[data-testid=export-dialog] footer button:not(.primary)');
    });

    await t.test('drag-out of a lane and of the mixdown produces real files', async () => {
      for (const target of [stems[0], 'mixdown']) {
        const d = await dragOutUrl(page, `drag-${target}`);
        assert.equal(d.mime, 'audio/wav');
        assert.match(d.name, /\.wav$/);
        // let Chromium download the dragged URL (what a DownloadURL drop does) into a real file
        const dir = path.join(downloads, target);
        await fsp.mkdir(dir, { recursive: true });
        const cdp = await browser.target().createCDPSession();
        await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: dir });
        await page.evaluate((url, name) => {
          const a = document.createElement('a');
          a.href = url;
          a.download = name;
          document.body.append(a);
          a.click();
          a.remove();
        }, d.url, d.name);
        const file = await waitForFile(dir, 20_000);
        const head = (await fsp.readFile(file)).subarray(0, 40);
        assert.equal(head.toString('ascii', 0, 4), 'RIFF');
        assert.equal(head.toString('ascii', 8, 12), 'WAVE');
        const song = await app.library.get(songId);
        const got = await decodeAll(file, { sampleRate: song.sampleRate, channels: 2 });
        const ref =
          target === 'mixdown'
            ? mixdown(
                await Promise.all(song.stems.map(async (s) => ({ stem: s.name, audio: await decodeAll(path.join(app.library.root, s.ref.path), { sampleRate: song.sampleRate, channels: 2 }) }))),
                mixState,
              )
            : await decodeAll(path.join(app.library.root, song.stems.find((s) => s.name === target)!.ref.path), { sampleRate: song.sampleRate, channels: 2 });
        const e = relErrorDb(got, ref);
        assert.ok(e < -60, `dragged ${target} file differs: ${e.toFixed(1)} dB`);
      }
    });

    await t.test('Reset mixer: every lane at unity, centre, sounding; master 0 dB', async () => {
      // Reset mixer: every lane at unity, centre, sounding; master 0 dB
      await page.click('[data-testid=reset-mixer]');
      const reset = await page.evaluate(() => (window as unknown as { __stemdeckMixer: { getMix(): import('../../src-main/shared/mix-law.js').MixState } }).__stemdeckMixer.getMix());
      assert.equal(reset.masterDb, 0);
      for (const s of stems) assert.deepEqual(reset.lanes[s], { volumeDb: 0, pan: 0, mute: false, solo: false }, `lane ${s} reset`);
    });

    await t.test('the same file again opens the separated song at once; the models page lists models', async () => {
      await page.click('nav button:first-child');
      await page.waitForSelector('[data-testid=song]');
      const jobsBefore = await page.$$eval('[data-testid=job]', (j) => j.length);
      const b64 = (await fsp.readFile(path.join(tmp, 'E2E Groove.flac'))).toString('base64');
      await page.evaluate(async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'E2E Groove.flac', { type: 'audio/flac' }));
        for (const type of ['dragenter', 'dragover', 'drop'])
          document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, b64);
      await page.waitForSelector('[data-testid=play]', { timeout: 10_000 });
      assert.equal(await page.evaluate(() => (window as unknown as { __stemdeckMixer?: { songId: string } }).__stemdeckMixer?.songId), songId);
      assert.equal((await app.host.list()).length, jobsBefore, 'no second separation');
      // a long separation can be cancelled from the queue; nothing is added to the library
      const long = path.join(tmp, 'Long Take.wav');
      // 5 minutes (8 kHz mono keeps the drop small): a quiet machine separates 40 s before the click lands
      execFileSync(ffmpegPath(), ['-loglevel', 'error', '-y', '-f', 'lavfi', '-i', 'sine=frequency=330:duration=300', '-ac', '1', '-ar', '8000', long]);
      const songsBefore = (await app.library.list()).length;
      const longB64 = (await fsp.readFile(long)).toString('base64');
      await page.click('nav button:first-child');
      await page.evaluate(async (b64) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], 'Long Take.wav', { type: 'audio/wav' }));
        for (const type of ['dragenter', 'dragover', 'drop'])
          document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      }, longB64);
      await page.waitForSelector('[data-testid=live-status], [data-testid=play]', { timeout: 20_000 });
      await page.click('nav button:first-child');
      await page.waitForSelector('[data-testid=job][data-status=running] button[aria-label="Cancel Long Take.wav"]', { timeout: 30_000 });
      await page.click('[data-testid=job][data-status=running] button[aria-label="Cancel Long Take.wav"]');
      await page.waitForSelector('[data-testid=job][data-status=cancelled]', { timeout: 30_000 });
      assert.equal((await app.library.list()).length, songsBefore, 'a cancelled job adds no song');

      // errors appear where they happened, saying what to do: a damaged file fails in the queue
      await page.click('nav button:first-child');
      await page.waitForSelector('[data-testid=song]');
      await page.evaluate(async () => {
        const junk = new Uint8Array(20000).map((_, i) => (i * 7919) % 251);
        const dt = new DataTransfer();
        dt.items.add(new File([junk], 'damaged.wav', { type: 'audio/wav' }));
        dt.items.add(new File(['just text'], 'notes.txt', { type: 'text/plain' }));
        for (const type of ['dragenter', 'dragover', 'drop'])
          document.body.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
      });
      // the one audio file among them opens in the mixer, which says the job failed: the queue says it too
      await page.waitForSelector('[data-testid=live-ended], .mixer .loading', { timeout: 20_000 });
      await page.click('nav button:first-child');
      await page.waitForSelector('[data-testid=job][data-status=failed]', { timeout: 30_000 });
      const failure = await page.$eval('[data-testid=job][data-status=failed]', (j) => ({
        text: j.querySelector('[role=alert]')?.textContent ?? '',
        retry: [...j.querySelectorAll('button')].some((b) => /Retry/.test(b.textContent ?? '')),
      }));
      assert.match(failure.text, /damaged\.wav|audio/i, `failure message: ${failure.text}`);
      assert.ok(!failure.retry, 'a file that is not audio is offered no Retry (it would fail the same way)');

      // search filters the library; delete removes a song
      await page.type('input[aria-label="Search the library"]', 'no such song');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=song]').length === 0, { timeout: 5000 });
      await page.$eval('input[aria-label="Search the library"]', (e) => ((e as HTMLInputElement).value = ''));
      await page.type('input[aria-label="Search the library"]', 'groove');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=song]').length === 1, { timeout: 5000 });
      await page.click('[data-testid=song] button[aria-label^="Delete"]');
      await page.click('[data-testid=song] button.danger');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=song]').length === 0, { timeout: 5000 });
      assert.equal((await app.library.list()).length, 0, 'deleted from the library');

      await page.click('nav button:last-child');
      await page.waitForSelector('[data-testid=installed-model]');
      assert.ok((await page.$$('[data-testid=installed-model]')).length >= 1);
      // measured quality in words on the bundled models' cards
      assert.ok((await page.$$('[data-testid=model-verdict]')).length >= 1, 'a plain-words verdict');
      // one licence line per card, the full text behind a link
      for (const line of await page.$$eval('[data-testid=model-licence]', (l) => l.map((e) => e.textContent ?? '')))
        assert.ok(line.length < 90 && /full text/.test(line), `licence line: ${line}`);
      // an import error shows beside the import control, not at the top of the page
      await page.type('input[aria-label="Path of an ONNX model or cascade manifest to import"]', path.join(tmp, 'no-such-model.onnx'));
      await page.click('section.import button[type=submit]');
      await page.waitForSelector('[data-testid=import-notices] [role=alert]', { timeout: 10_000 });
      const gap = await page.evaluate(() => {
        const alert = document.querySelector('[data-testid=import-notices] [role=alert]')!.getBoundingClientRect();
        const input = document.querySelector('input[aria-label="Path of an ONNX model or cascade manifest to import"]')!.getBoundingClientRect();
        return Math.abs(alert.top - input.bottom);
      });
      assert.ok(gap < 200, `import error ${gap.toFixed(0)} px from the import control`);
      assert.equal(await page.$$eval('.models > .notices [role=alert]', (a) => a.length), 0, 'no import error at the top of the page');
      // the app shell never scrolls (one scroll bar, in the panel): the page is exactly the window
      const overflow = await page.evaluate(() => document.documentElement.scrollHeight - window.innerHeight);
      assert.ok(overflow <= 1, `the page itself scrolls ${overflow} px past the window`);
      await shot(page, 'models');
    });

    assert.deepEqual(pageErrors.filter((e) => !/favicon/.test(e)), [], 'no errors in the page');
    t.diagnostic(`renderer build ${buildSeconds.toFixed(1)} s, whole test ${((Date.now() - started) / 1000).toFixed(1)} s, model ${modelId}, first audio ${firstAudioMs.toFixed(0)} ms`);
  } finally {
    await e2e.close();
  }
});
