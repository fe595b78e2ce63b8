/**
 * What a player waits for at the start of a live job (play while it separates), and what a live
 * job must still do right when its start is hurried:
 * - the queue sends every live state of the mixture's first second at once (a player starts after
 *   a few hundred ms of it; the event interval held the second chunk back 100 ms), later ones at
 *   most once per interval with the last of a burst sent after it;
 * - the engine decodes the mixture without waiting for the caller's `ready` (its staging folder),
 *   probes once through the caller's `probe`, fails with the probe's own error for inputs that are
 *   not audio or too short, and runs an input longer than `maxSeconds` as a normal job (no live
 *   states, the normal job's stems byte for byte).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { JobQueue } from '../../src-main/host/job-queue.js';
import type { Job, JobLive } from '../../src-main/api/contract.js';
import { separateFileLive, type LiveState } from '../../src-main/engine/separate-live.js';
import { probeAudio, separateFile, type AudioInfo } from '../../src-main/engine/index.js';
import { isolatedHome, makeSong, tempDir } from './helpers.js';
import { songIn120AMinor } from '../analysis/signals.js';

const SR = 44100;
const identity = () => path.join(process.env.STEMDECK_MODELS!, 'identity-waveform', 'manifest.json');

function liveWith(frames: number): JobLive {
  const ref = (p: string) => ({ root: 'live' as const, path: p });
  return {
    sampleRate: SR,
    channels: 2,
    frames: 240 * SR,
    mixture: { ref: ref('j/mixture.f32'), frames, done: false },
    stems: [{ name: 'vocals', ref: ref('j/stem0.f32') }],
    regions: [],
    separating: null,
  };
}

test("the queue sends each live state of the mixture's first second at once, later ones once per interval", async () => {
  const queue = new JobQueue();
  const { id } = queue.add({ path: '/music/a.flac', name: 'a.flac', hash: 'a'.repeat(64), bytes: 1 }, { model: 'm', device: 'cpu', overlap: null });
  queue.startNext();
  const sent: number[] = [];
  queue.on('job', (j: Job) => j.live && sent.push(j.live.mixture.frames));
  // the decode's chunks, as fast as they come (8192 frames each), up to 3 s
  const steps = Array.from({ length: Math.ceil((3 * SR) / 8192) }, (_, i) => (i + 1) * 8192);
  for (const f of steps) queue.live(id, liveWith(f));
  const firstSecond = steps.filter((f) => f < SR);
  assert.deepEqual(sent, firstSecond, 'every state under 1 s, at once');
  await new Promise((r) => setTimeout(r, 250));
  assert.equal(sent.length, firstSecond.length + 1, `then one per interval: ${sent.join(', ')}`);
  assert.equal(sent[sent.length - 1], steps[steps.length - 1], 'the last of the burst is sent after the interval');
});

test("a live job decodes the mixture while the caller's folder is not ready, probes once through the caller", { timeout: 60_000 }, async () => {
  isolatedHome();
  const input = makeSong(path.join(tempDir(), 'song.flac'), 4, 'Ready Later');
  let release!: () => void;
  const ready = new Promise<void>((r) => (release = r));
  let probes = 0;
  let sawMixtureBeforeReady = false;
  let readySettled = false;
  void ready.then(() => (readySettled = true));
  const result = await separateFileLive({
    input,
    outDir: path.join(tempDir(), 'stems'),
    model: identity(),
    format: 'wav',
    signal: AbortSignal.timeout(45_000), // a job waiting for `ready` first would wait forever: it fails instead
    live: {
      dir: tempDir('stemdeck-live-'),
      probe: () => {
        probes++;
        return probeAudio(input);
      },
      ready,
      onState: (s: Readonly<LiveState>) => {
        if (s.mixtureFrames > 0 && !readySettled) {
          sawMixtureBeforeReady = true;
          release(); // a job that waited for `ready` before decoding would never get here
        }
      },
    },
  });
  assert.ok(sawMixtureBeforeReady, 'mixture decoded before the folder was ready');
  assert.equal(probes, 1, 'one probe');
  assert.ok(fs.statSync(result.outputs.vocals).size > 44);
});

test("a live job that cannot start fails with the probe's error, a cut-off one with the decode's; one longer than maxSeconds is a normal job", { timeout: 120_000 }, async () => {
  isolatedHome();
  const dir = tempDir();
  const states: LiveState[] = [];
  const live = (probe?: () => Promise<AudioInfo>) => ({ dir: tempDir('stemdeck-live-'), onState: (s: Readonly<LiveState>) => void states.push({ ...s }), ...(probe ? { probe } : {}) });

  const text = path.join(dir, 'notes.mp3');
  fs.writeFileSync(text, 'not audio at all\n'.repeat(100));
  await assert.rejects(separateFileLive({ input: text, outDir: path.join(dir, 'a'), model: identity(), live: live() }), (e: Error & { code?: string }) => e.code === 'input-not-audio');
  const short = makeSong(path.join(dir, 'short.wav'), 0.1);
  await assert.rejects(separateFileLive({ input: short, outDir: path.join(dir, 'b'), model: identity(), live: live() }), (e: Error & { code?: string }) => e.code === 'input-too-short');
  assert.equal(states.length, 0, 'nothing playable was reported');
  // cut off: the probe is fine, the decode ends short of the length the probe read (checked when it ends)
  const whole = makeSong(path.join(dir, 'whole.flac'), 6, 'Cut Off');
  const cut = path.join(dir, 'cut.flac');
  fs.writeFileSync(cut, fs.readFileSync(whole).subarray(0, Math.floor(fs.statSync(whole).size / 2)));
  await assert.rejects(separateFileLive({ input: cut, outDir: path.join(dir, 'c'), model: identity(), live: live() }), (e: Error & { code?: string }) => e.code === 'input-corrupt' && /cut off/.test(e.message));
  states.length = 0;

  const song = makeSong(path.join(dir, 'long.wav'), 4, 'Too Long');
  const normal = await separateFile({ input: song, outDir: path.join(dir, 'normal'), model: identity(), format: 'wav' });
  const asNormal = await separateFileLive({ input: song, outDir: path.join(dir, 'live'), model: identity(), format: 'wav', live: { ...live(), maxSeconds: 3 } });
  assert.equal(states.length, 0, 'no live states for a job run as a normal one');
  for (const stem of Object.keys(normal.outputs))
    assert.ok(fs.readFileSync(normal.outputs[stem]).equals(fs.readFileSync(asNormal.outputs[stem])), `${stem}: the normal job's bytes`);
  const inLive = await separateFileLive({ input: song, outDir: path.join(dir, 'live2'), model: identity(), format: 'wav', live: { ...live(), maxSeconds: 5 } });
  assert.ok(states.length > 0, 'under maxSeconds: live');
  for (const stem of Object.keys(normal.outputs)) assert.ok(fs.readFileSync(normal.outputs[stem]).equals(fs.readFileSync(inLive.outputs[stem])));
});

test("with the analysis on, a live job's tempo, key and stem bytes are the normal job's (also under the first second)", { timeout: 120_000 }, async () => {
  isolatedHome();
  const dir = tempDir();
  // the live job feeds the analyser the first second late (after the player has it): same result
  for (const input of [songIn120AMinor(dir), makeSong(path.join(dir, 'half a second.wav'), 0.5, 'Short', 330)]) {
    const normal = await separateFile({ input, outDir: path.join(dir, `normal-${path.basename(input)}`), model: identity(), format: 'wav', analyze: true });
    const live = await separateFileLive({ input, outDir: path.join(dir, `live-${path.basename(input)}`), model: identity(), format: 'wav', analyze: true, live: { dir: tempDir('stemdeck-live-') } });
    assert.deepEqual(live.music, normal.music, `${path.basename(input)}: the same analysis`);
    if (input.endsWith('.flac')) assert.ok(normal.music?.tempo && normal.music.key, 'the song has a tempo and a key to compare');
    for (const stem of Object.keys(normal.outputs))
      assert.ok(fs.readFileSync(normal.outputs[stem]).equals(fs.readFileSync(live.outputs[stem])), `${path.basename(input)} ${stem}: the normal job's bytes (its tempo/key chunks too)`);
  }
});
