/**
 * Issue 14.11 and polish in real Chromium against the real browser shell and engine: the library
 * shows each song's disk use and the total; a song whose stems were deleted opens to a message
 * with Separate again (not a failure); a long title ends before the transport; the timeline's
 * scroll control is a scroll bar; a focused fader's ring does not cover its value ("−∞").
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { startBrowserApp } from './browser-app.js';
import { makeSong, waitJobEnd } from '../app/helpers.js';

const LONG_TITLE = 'A Very Long Song Title That Goes On And On Past Where Any Transport Could Ever Sit (Extended Club Remix)';

test('library disk use, stems deleted in the mixer, long title, scroll bar, fader focus ring', { timeout: 150_000 }, async () => {
  const e2e = await startBrowserApp({ name: 'storage', models: ['identity-waveform'] });
  const { tmp, app, shell, browser } = e2e;
  try {
    await app.settings.set({ model: 'identity-waveform' });
    const ids: string[] = [];
    for (const [name, title] of [['long.wav', LONG_TITLE], ['short.wav', 'Short']]) {
      const src = makeSong(path.join(tmp, name), 20, title);
      app.guard.choose(src);
      const r = await app.openFiles([src], undefined);
      const job = await waitJobEnd(app, r.jobs[0].id);
      assert.equal(job.status, 'done');
      ids.push(job.songId!);
    }
    const page = await browser.newPage();
    await page.setViewport({ width: 1100, height: 760 });
    await page.goto(shell.url);
    await page.waitForSelector('[data-testid=song-size]');

    // disk use per song and in total
    const sizes = await page.$$eval('[data-testid=song-size]', (els) => els.map((e) => (e as HTMLElement).innerText));
    assert.equal(sizes.length, 2);
    for (const s of sizes) assert.match(s, /^\d+(\.\d)? MB$/);
    assert.match(await page.$eval('[data-testid=library-usage]', (e) => (e as HTMLElement).innerText), /\d+(\.\d)? MB on disk/);

    // the long title's song in the mixer
    const rowOf = async (title: string) => {
      const rows = await page.$$('.songs li');
      for (const r of rows) if ((await r.evaluate((e) => (e as HTMLElement).innerText)).includes(title)) return r;
      throw new Error(`no row for ${title}`);
    };
    await (await (await rowOf('Extended Club Remix')).$('button.main'))!.click();
    await page.waitForSelector('[data-testid=play]');
    await page.waitForSelector('[data-testid=vol-vocals]');
    const overlap = await page.evaluate(() => {
      const h1 = document.querySelector('.song-info h1')!.getBoundingClientRect();
      const tr = document.querySelector('.transport')!.getBoundingClientRect();
      return { titleRight: h1.right, transportLeft: tr.left };
    });
    assert.ok(overlap.titleRight <= overlap.transportLeft, `the title ends before the transport: ${JSON.stringify(overlap)}`);

    // the scroll control is drawn as a scroll bar: no native slider look, a thumb as wide as the visible part
    const bar = await page.$eval('[data-testid=timeline-scroll]', (e) => {
      const cs = getComputedStyle(e);
      return { appearance: cs.appearance, thumb: parseFloat(cs.getPropertyValue('--thumb-w')), width: e.getBoundingClientRect().width };
    });
    assert.equal(bar.appearance, 'none');
    assert.ok(Math.abs(bar.thumb - bar.width) <= 1, `whole song shown → the thumb fills the track: ${JSON.stringify(bar)}`);

    // fader at −∞, focused: its ring stays off the value beside it
    await page.focus('[data-testid=vol-vocals]');
    await page.keyboard.press('Home');
    const ring = await page.$eval('[data-testid=vol-vocals]', (el) => {
      const cs = getComputedStyle(el);
      const grow = parseFloat(cs.outlineOffset) + parseFloat(cs.outlineWidth);
      const r = el.getBoundingClientRect();
      const val = el.parentElement!.querySelector('.val')!;
      const v = val.getBoundingClientRect();
      return { ringRight: r.right + grow, valLeft: v.left, text: (val as HTMLElement).innerText, focused: document.activeElement === el, style: cs.outlineStyle };
    });
    assert.equal(ring.focused, true);
    assert.equal(ring.text, '−∞');
    assert.ok(ring.ringRight <= ring.valLeft, `the focus ring ends before "−∞": ${JSON.stringify(ring)}`);

    // delete the long song's stems (library's Stems only) → the entry stays, its mixer says so
    await page.reload();
    await page.waitForSelector('[data-testid=song-size]');
    await (await (await rowOf('Extended Club Remix')).$('button.del'))!.click();
    await page.click('[data-testid=delete-stems]');
    await page.waitForSelector('[data-testid=song-stems-deleted]');
    assert.ok(app.library.get(ids[0]).stemsDeletedAt);
    await (await (await rowOf('Extended Club Remix')).$('button.main'))!.click();
    await page.waitForSelector('[data-testid=stems-deleted]');
    const msg = await page.$eval('[data-testid=stems-deleted]', (e) => (e as HTMLElement).innerText);
    assert.match(msg, /were deleted to free disk space/);
    assert.match(msg, /Separate again/);
    assert.doesNotMatch(msg, /could not be opened/);
    // Separate again: back to the library, the job runs, the entry has its stems again
    const [btn] = await page.$$('xpath/.//button[contains(., "Separate again")]');
    await btn.click();
    await page.waitForFunction(() => !document.querySelector('[data-testid=stems-deleted]'));
    await page.waitForFunction(() => document.querySelectorAll('[data-testid=song-stems-deleted]').length === 0, { timeout: 60_000 });
    assert.equal(app.library.get(ids[0]).stemsDeletedAt, undefined);

    // Settings → Library format: each choice says what a minute of stems takes; the choice is remembered
    const options = await page.$$eval('[data-testid=library-format] option', (os) => os.map((o) => (o as HTMLOptionElement).innerText));
    assert.deepEqual(options, ['32-bit float WAV (as separated) · 42.3 MB/min', '24-bit WAV · 31.8 MB/min', '16-bit WAV (CD quality) · 21.2 MB/min']); // 2 stems
    await page.select('[data-testid=library-format]', 'wav16');
    for (let i = 0; i < 50 && app.settings.get().libraryFormat !== 'wav16'; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(app.settings.get().libraryFormat, 'wav16');
    await page.close();
  } finally {
    await e2e.close();
  }
});
