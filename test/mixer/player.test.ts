/**
 * The renderer's MixerPlayer (src-renderer/lib/player.ts) in a real Chromium, rendered through an
 * OfflineAudioContext: lanes start sample-locked, the mix follows the shared law, and growing the
 * buffers while playing (first seconds → longer → complete) is gapless: the output equals one
 * continuous playback of the complete stems, sample for sample.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultMix, mixdown, type MixState } from '../../src-main/shared/mix-law.js';
import { launchChromium } from '../e2e/chromium.js';
import { rendererAlias } from '../../vite.renderer.config.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SR = 44100;
const SECONDS = 1.2;
const N = Math.round(SR * SECONDS);
/** MixerPlayer's START_LEAD: play() starts the sources 20 ms after "now". */
const LEAD = Math.round(0.02 * SR);

function stem(seed: number): Float32Array[] {
  return [0, 1].map((c) =>
    Float32Array.from({ length: N }, (_, i) => 0.3 * Math.sin((2 * Math.PI * (110 * seed + 37 * c) * i) / SR) + 0.1 * Math.sin((2 * Math.PI * 1234 * seed * i) / SR + c)),
  );
}

/** src-renderer/lib/player.ts as an IIFE (global StemdeckPlayer), built once by Vite. */
let bundled: Promise<string> | null = null;
function playerBundle(): Promise<string> {
  bundled ??= (async () => {
    const tmp = await fsp.mkdtemp(path.join(os.tmpdir(), 'stemdeck-player-'));
    try {
      const { build } = await import('vite');
      await build({
        configFile: false,
        logLevel: 'error',
        resolve: { alias: rendererAlias }, // player.ts imports $shared/mix-law.js
        build: {
          outDir: tmp,
          emptyOutDir: true,
          minify: false,
          lib: { entry: path.join(root, 'src-renderer', 'lib', 'player.ts'), formats: ['iife'], name: 'StemdeckPlayer', fileName: () => 'player.js' },
        },
      });
      return await fsp.readFile(path.join(tmp, 'player.js'), 'utf8');
    } finally {
      await fsp.rm(tmp, { recursive: true, force: true });
    }
  })();
  return bundled;
}

function errDb(got: number[][], want: Float32Array[], from: number, to: number): number {
  let e = 0;
  let r = 0;
  for (let c = 0; c < 2; c++)
    for (let i = from; i < to; i++) {
      e += (got[c][i] - want[c][i]) ** 2;
      r += want[c][i] ** 2;
    }
  return 10 * Math.log10(Math.max(e, 1e-30) / r);
}

test('MixerPlayer: sample-locked lanes, shared law, gapless buffer growth (OfflineAudioContext in Chromium)', { timeout: 120_000 }, async () => {
  const bundle = await playerBundle();
  const a = stem(1);
  const b = stem(2);
  const mix1: MixState = defaultMix(['a', 'b']);
  mix1.lanes.a = { volumeDb: -4, pan: -0.5, mute: false, solo: false };
  mix1.lanes.b = { volumeDb: 2, pan: 0.3, mute: false, solo: false };
  mix1.masterDb = -1;
  const mix2: MixState = structuredClone(mix1);
  mix2.lanes.a.mute = true;

  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.addScriptTag({ content: `globalThis.__name = (f) => f;\n${bundle}` }); // __name: tsx's keepNames helper
    const out = await page.evaluate(
      async (a: number[][], b: number[][], mix1: MixState, mix2: MixState, sr: number, n: number) => {
        type Player = {
          setBuffer(s: string, b: AudioBuffer): void;
          applyMix(m: MixState, immediate?: boolean): void;
          play(from?: number): Promise<void>;
          swapBuffers(m: Map<string, AudioBuffer>, complete?: boolean): void;
          partial: boolean;
          duration: number;
        };
        const P = (window as unknown as { StemdeckPlayer: { MixerPlayer: new (ctx: BaseAudioContext) => Player } }).StemdeckPlayer.MixerPlayer;
        const ctx = new OfflineAudioContext(2, n, sr);
        const buf = (data: number[][], seconds: number) => {
          const frames = Math.min(n, Math.round(seconds * sr));
          const ab = ctx.createBuffer(2, frames, sr);
          data.forEach((c, i) => ab.copyToChannel(Float32Array.from(c.slice(0, frames)), i));
          return ab;
        };
        const player = new P(ctx);
        // start with the first 0.3 s only (as when a song is opened while its stems still stream in)
        player.setBuffer('a', buf(a, 0.3));
        player.setBuffer('b', buf(b, 0.3));
        player.duration = n / sr;
        player.partial = true;
        player.applyMix(mix1, true);
        await player.play(0);
        void ctx.suspend(0.2).then(() => {
          player.swapBuffers(new Map([['a', buf(a, 0.7)], ['b', buf(b, 0.7)]]), false);
          return ctx.resume();
        });
        void ctx.suspend(0.5).then(() => {
          player.swapBuffers(new Map([['a', buf(a, 99)], ['b', buf(b, 99)]]), true);
          return ctx.resume();
        });
        void ctx.suspend(0.8).then(() => {
          player.applyMix(mix2);
          return ctx.resume();
        });
        const r = await ctx.startRendering();
        return [Array.from(r.getChannelData(0)), Array.from(r.getChannelData(1))];
      },
      a.map((c) => Array.from(c)),
      b.map((c) => Array.from(c)),
      mix1,
      mix2,
      SR,
      N,
    );
    // the expected output: the complete stems, started together LEAD frames in, mixed by the shared law
    const delayed = (s: Float32Array[]) =>
      s.map((c) => {
        const d = new Float32Array(N);
        d.set(c.subarray(0, N - LEAD), LEAD);
        return d;
      });
    const inputs = [
      { stem: 'a', audio: delayed(a) },
      { stem: 'b', audio: delayed(b) },
    ];
    const want1 = mixdown(inputs, mix1);
    const want2 = mixdown(inputs, mix2);
    // before the first sample: silence
    assert.ok(out[0].slice(0, LEAD - 1).every((v) => Math.abs(v) < 1e-7), 'nothing before the common start');
    // 0.1 s … 0.8 s spans both buffer swaps (0.2 s, 0.5 s): identical to continuous playback
    const e1 = errDb(out, want1, Math.round(0.1 * SR), Math.round(0.8 * SR));
    assert.ok(e1 < -90, `playback across buffer swaps vs continuous mix: ${e1.toFixed(1)} dB`);
    // after the mute ramp has settled: the new mix
    const e2 = errDb(out, want2, Math.round(1.0 * SR), N);
    assert.ok(e2 < -80, `after muting a lane: ${e2.toFixed(1)} dB`);
    // and the mute changed the output (the test can fail)
    assert.ok(errDb(out, want1, Math.round(1.0 * SR), N) > -20);
  } finally {
    await browser.close();
  }
});

test('MixerPlayer: turning the loop off while playing carries on from where the loop was, no jump (issue 14.1)', { timeout: 120_000 }, async () => {
  const bundle = await playerBundle();
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    await page.addScriptTag({ content: `globalThis.__name = (f) => f;\n${bundle}` });
    const out = await page.evaluate(
      async (a: number[][], sr: number, n: number) => {
        type Player = {
          setBuffer(s: string, b: AudioBuffer): void;
          play(from?: number): Promise<void>;
          setLoop(l: { start: number; end: number } | null): Promise<void>;
          readonly position: number;
        };
        const P = (window as unknown as { StemdeckPlayer: { MixerPlayer: new (ctx: BaseAudioContext) => Player } }).StemdeckPlayer.MixerPlayer;
        const ctx = new OfflineAudioContext(2, n, sr);
        const ab = ctx.createBuffer(2, n, sr);
        a.forEach((c, i) => ab.copyToChannel(Float32Array.from(c), i));
        const player = new P(ctx);
        player.setBuffer('a', ab);
        // loop 0.1–0.3 s (play from 0 starts at the loop's start): by 0.75 s it has wrapped three times
        await player.setLoop({ start: 0.1, end: 0.3 });
        await player.play(0);
        const seen: { before: number; after: number } = { before: -1, after: -1 };
        void ctx.suspend(0.75).then(async () => {
          seen.before = player.position;
          await player.setLoop(null);
          seen.after = player.position;
          return ctx.resume();
        });
        await ctx.startRendering();
        return seen;
      },
      stem(1).map((c) => Array.from(c)),
      SR,
      N,
    );
    // 0.75 s of context time = 0.73 s of playback (20 ms start lead) from 0.1 s: 0.1 + (0.53 mod 0.2) = 0.23 s
    // (suspend times are rounded to a 128-frame render quantum, 2.9 ms)
    assert.ok(Math.abs(out.before - 0.23) < 0.006, `position in the loop before: ${out.before.toFixed(3)} s`);
    assert.ok(Math.abs(out.after - out.before) < 0.005, `loop off must not move the playhead: ${out.before.toFixed(3)} s → ${out.after.toFixed(3)} s`);
  } finally {
    await browser.close();
  }
});
