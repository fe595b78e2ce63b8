// Cancel at 20 random points (issue 7 §4): during decode, separation and writing, for the WAV
// writer and for ffmpeg-encoded FLAC. Each cancel rejects with StemdeckError('cancelled') (or, if
// the job finished first, gives complete stems), leaves no partial stems and no temp files, leaves
// no ffmpeg child running, and the next job works. Uses the tiny identity model so it is quick.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { separateFile } from '../../src-main/engine/index.js';
import { StemdeckError } from '../../src-main/engine/errors.js';
import { identityWaveform, listFiles, makeTone, readWav, tempDir, useTempHome } from './helpers.js';

let work = '';
let home = '';
let input = '';
const SECONDS = 12;

// A seeded PRNG with a fixed seed, so every run tries the same points and a failure reproduces;
// STEMDECK_CANCEL_SEED=<n> tries other points (the seed is printed in the test name).
const seed = Number(process.env.STEMDECK_CANCEL_SEED ?? 12345);
let state = seed;
function rand(): number {
  state = (state * 1664525 + 1013904223) % 4294967296;
  return state / 4294967296;
}

before(() => {
  home = useTempHome();
  work = tempDir();
  input = makeTone(path.join(work, 'song.flac'), SECONDS, { codec: ['-c:a', 'flac'] });
});
after(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

/** Live child processes of this process (Linux): ffmpeg decoders/encoders must not outlive a cancel. */
function childProcesses(): string[] {
  const out: string[] = [];
  try {
    for (const tid of fs.readdirSync(`/proc/${process.pid}/task`)) {
      const kids = fs.readFileSync(`/proc/${process.pid}/task/${tid}/children`, 'utf8').trim();
      for (const k of kids.split(/\s+/).filter(Boolean)) {
        try {
          const stat = fs.readFileSync(`/proc/${k}/stat`, 'utf8');
          const comm = fs.readFileSync(`/proc/${k}/comm`, 'utf8').trim();
          // tsx keeps an esbuild service child; only ffmpeg (decoder/encoder) children matter here
          if (!/\) Z /.test(stat) && /ffmpeg/i.test(comm)) out.push(`${k}:${comm}`);
        } catch {
          // already gone
        }
      }
    }
  } catch {
    // not Linux
  }
  return out;
}

async function settle(): Promise<string[]> {
  for (let i = 0; i < 40; i++) {
    const kids = childProcesses();
    if (kids.length === 0) return kids;
    await new Promise((r) => setTimeout(r, 50));
  }
  return childProcesses();
}

test(`cancel at 20 random points leaves no partial stems (seed ${seed})`, async () => {
  // Uncancelled runs (the second one warm): its duration scales the time-based cancel points.
  await separateFile({ input, outDir: path.join(work, 'warm'), model: identityWaveform, format: 'wav' });
  const t0 = performance.now();
  const full = await separateFile({ input, outDir: path.join(work, 'full'), model: identityWaveform, format: 'wav' });
  const jobMs = performance.now() - t0;
  assert.equal(full.frames, SECONDS * 44100);

  let cancelled = 0;
  const log: string[] = [];
  const stagesSeen = new Set<string>();
  for (let i = 0; i < 20; i++) {
    const dir = path.join(work, `cancel-${i}`);
    const format = i % 3 === 2 ? 'flac' : 'wav';
    const ac = new AbortController();
    // Half the points by progress (a random stage and fraction), half by wall-clock time.
    const byProgress = i % 2 === 0;
    const stages = ['decode', 'separate', 'write'] as const;
    const stage = stages[Math.floor(rand() * stages.length)];
    // 'write' reports 0, 1/3, 2/3, 1 (after the renames): aim below 2/3 so the cancel can land.
    const at = rand() * (stage === 'write' ? 0.6 : 0.95);
    let timer: NodeJS.Timeout | undefined;
    if (!byProgress) timer = setTimeout(() => ac.abort(), Math.floor(at * jobMs));
    let abortedIn = '';
    let outcome: 'cancelled' | 'finished';
    try {
      await separateFile({
        input,
        outDir: dir,
        model: identityWaveform,
        format,
        signal: ac.signal,
        onProgress: (p) => {
          if (byProgress && !ac.signal.aborted && (p.stage === stage ? p.fraction >= at : stages.indexOf(p.stage) > stages.indexOf(stage))) {
            abortedIn = `${p.stage} ${p.fraction.toFixed(2)}`;
            ac.abort();
          }
        },
      });
      outcome = 'finished';
    } catch (e) {
      assert.ok(e instanceof StemdeckError, `point ${i}: a StemdeckError, got ${String(e)}`);
      assert.equal(e.code, 'cancelled', `point ${i}: ${e.message}`);
      outcome = 'cancelled';
    } finally {
      clearTimeout(timer);
    }
    if (abortedIn) stagesSeen.add(abortedIn.split(' ')[0]);
    log.push(`${i}: ${byProgress ? `${stage}≥${at.toFixed(2)} (${abortedIn || 'never'})` : `${(at * jobMs).toFixed(0)}/${jobMs.toFixed(0)} ms`} ${format} → ${outcome}`);
    const files = listFiles(dir);
    if (outcome === 'cancelled') {
      cancelled++;
      assert.deepEqual(files, [], `point ${i} (${byProgress ? `progress ${stage} ≥ ${at.toFixed(2)}` : `${(at * jobMs).toFixed(0)} ms`}, ${format}): nothing left, found ${files.join(', ')}`);
    } else {
      // Finished before the cancel landed: both stems complete.
      assert.deepEqual(files, [`other.${format}`, `vocals.${format}`], `point ${i}: complete stems`);
      if (format === 'wav') assert.equal(readWav(path.join(dir, 'vocals.wav')).data[0].length, SECONDS * 44100);
    }
    const kids = await settle();
    assert.deepEqual(kids, [], `point ${i}: no child process (ffmpeg) outlives the job`);
  }
  assert.ok(cancelled >= 14, `most of the 20 points cancel a running job (${cancelled} did):\n${log.join('\n')}`);
  // The next job works.
  const r = await separateFile({ input, outDir: path.join(work, 'after'), model: identityWaveform, format: 'wav' });
  assert.equal(readWav(r.outputs.vocals).data[0].length, SECONDS * 44100);
  void stagesSeen;
});

test('a signal aborted before the job starts → cancelled, nothing written', async () => {
  const dir = path.join(work, 'pre-aborted');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(
    separateFile({ input, outDir: dir, model: identityWaveform, format: 'wav', signal: ac.signal }),
    (e) => e instanceof StemdeckError && e.code === 'cancelled',
  );
  assert.deepEqual(listFiles(dir), []);
});
