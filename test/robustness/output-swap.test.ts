// A song folder is replaced as a whole (issue 12 §4, §10): a real child process finishing a song
// (the CLI's separateFile, the app's Library.commit) is SIGKILLed after each of its renames in turn
// (every rename is real, followed by a pause so the kill lands between two of them). Afterwards the
// song folder holds one run's complete set — the old run's or the new run's, never a mix — once the
// start of the next job (prepareSongFolder) or of the app (Library.init) has swept the leftovers,
// and nothing hidden is left beside it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { fork } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { separateFile } from '../../src-main/engine/index.js';
import { StemdeckError } from '../../src-main/engine/errors.js';
import { prepareSongFolder } from '../../src-main/engine/sink.js';
import { Library, songIdFor } from '../../src-main/library/library.js';
import { finalizeSong } from '../../src-main/library/finalize.js';
import { encodeSamples, wavHeader } from '../../src-main/engine/output/wav.js';
import { identityWaveform, listFiles, makeTone, tempDir, tryMountTmpfs, useTempHome } from './helpers.js';

let work = '';
let home = '';
const child = path.join(import.meta.dirname, 'children', 'slow-renames.ts');

before(() => {
  home = useTempHome();
  work = tempDir();
});
after(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

/** name → sha256 of every file under `dir`. */
function digest(dir: string): Record<string, string> {
  return Object.fromEntries(listFiles(dir).map((f) => [f, createHash('sha256').update(fs.readFileSync(path.join(dir, f))).digest('hex')]));
}

/** Which complete set `dir` holds: 'old', 'new', or a description of what is wrong. */
function whichSet(dir: string, sets: { old: Record<string, string>; new: Record<string, string> }): string {
  const got = digest(dir);
  for (const [name, want] of Object.entries(sets)) if (JSON.stringify(got) === JSON.stringify(want)) return name;
  const from = Object.entries(got).map(([f, h]) => `${f}:${h === sets.old[f] ? 'old' : h === sets.new[f] ? 'new' : '?'}`);
  return `a mix: ${from.join(', ') || 'nothing'}`;
}

/** Runs the child; SIGKILLs it right after its `killAfter`-th rename (0: never). Resolves with its rename count. */
function runChild(args: string[], killAfter: number): Promise<{ renames: number; killed: boolean }> {
  return new Promise((resolve, reject) => {
    const cp = fork(child, args, { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: process.env });
    let renames = 0;
    let killed = false;
    cp.on('message', (m: { renamed?: number; done?: number }) => {
      if (m.renamed) renames = m.renamed;
      if (m.renamed === killAfter) {
        killed = true;
        cp.kill('SIGKILL');
      }
    });
    cp.once('error', reject);
    cp.once('exit', (code, signal) => {
      if (!killed && code !== 0) reject(new Error(`child exited with ${code ?? signal}`));
      else resolve({ renames, killed });
    });
  });
}

test('CLI song folder: a kill between any two renames leaves the old or the new stems, never a mix', async () => {
  const inputOld = makeTone(path.join(work, 'old.wav'), 3, { variant: 0 });
  const inputNew = makeTone(path.join(work, 'new.wav'), 3, { variant: 5 });
  const parent = path.join(work, 'cli');
  const out = path.join(parent, 'song');
  // reference sets: what a complete old run and a complete new run write
  await separateFile({ input: inputNew, outDir: path.join(work, 'ref-new'), model: identityWaveform, format: 'wav' });
  const sets = { old: {}, new: digest(path.join(work, 'ref-new')) };
  await separateFile({ input: inputOld, outDir: out, model: identityWaveform, format: 'wav' });
  sets.old = digest(out);
  assert.deepEqual(Object.keys(sets.old), ['other.wav', 'vocals.wav']);
  assert.notDeepEqual(sets.old, sets.new);

  // a run that is not killed: how many renames finishing the song takes (the child re-runs the old input)
  const { renames } = await runChild(['separate', inputOld, out, identityWaveform], 0);
  assert.ok(renames >= 2, `renames seen: ${renames}`);
  assert.equal(whichSet(out, sets), 'old');

  const seen: string[] = [];
  for (let k = 1; k <= renames; k++) {
    const { killed } = await runChild(['separate', inputNew, out, identityWaveform], k);
    assert.ok(killed, `kill after rename ${k}`);
    const before = fs.existsSync(out) ? whichSet(out, sets) : 'missing';
    assert.ok(['old', 'new', 'missing'].includes(before), `right after the kill after rename ${k}/${renames}: ${before}`);
    await prepareSongFolder(out); // what the next job into this folder does first
    const state = whichSet(out, sets);
    seen.push(`${k}: ${before} → ${state}`);
    assert.ok(state === 'old' || state === 'new', `kill after rename ${k}/${renames}, after the sweep: ${state}`);
    assert.deepEqual(
      fs.readdirSync(parent).filter((n) => n !== 'song'),
      [],
      `nothing left beside the song folder after the sweep (kill after rename ${k})`,
    );
    // back to the old set for the next round
    await runChild(['separate', inputOld, out, identityWaveform], 0);
  }
  assert.ok(seen.some((s) => s.endsWith('old')) && seen.some((s) => s.endsWith('new')), `both outcomes occur:\n${seen.join('\n')}`);
});

test('app library: a kill between any two renames of Library.commit leaves the old or the new song, never a mix or none', async () => {
  const root = path.join(work, 'library');
  const lib = new Library(root);
  await lib.init();
  const settings = { model: 'identity-waveform', device: 'auto' as const, overlap: null };
  const hash = 'ab'.repeat(32);
  const id = songIdFor(hash, settings);
  const n = 4410;
  async function stage(job: string, level: number): Promise<string> {
    const staging = lib.stagingDir(job);
    fs.rmSync(staging, { recursive: true, force: true });
    fs.mkdirSync(path.join(staging, 'stems'), { recursive: true });
    const outputs: Record<string, string> = {};
    for (const [i, stem] of ['vocals', 'other'].entries()) {
      const x = [new Float32Array(n).fill(level * (i + 1)), new Float32Array(n).fill(-level)];
      outputs[stem] = path.join(staging, 'stems', `${stem}.wav`);
      fs.writeFileSync(outputs[stem], Buffer.concat([wavHeader('wav32f', 44100, 2, n), encodeSamples('wav32f', x)]));
    }
    await finalizeSong({
      staging,
      id,
      source: { path: path.join(work, 'song.wav'), name: 'song.wav', hash, bytes: 1 },
      settings,
      model: { id: 'identity-waveform', name: 'Identity' },
      outputs,
      stemOrder: ['vocals', 'other'],
      tags: { title: `level ${level}` },
      hasArtwork: false,
      durationSeconds: n / 44100,
      createdAt: '2026-01-01T00:00:00.000Z',
    });
    return staging;
  }
  const songDir = path.join(root, id);
  await lib.commit(await stage('job-new', 0.5));
  const sets = { old: {}, new: digest(songDir) };
  await lib.commit(await stage('job-old', 0.25));
  sets.old = digest(songDir);
  assert.notDeepEqual(sets.old, sets.new);

  const { renames } = await runChild(['library-commit', root, await stage('job-count', 0.25)], 0);
  assert.ok(renames >= 1, `renames seen: ${renames}`);
  assert.equal(whichSet(songDir, sets), 'old');
  const seen: string[] = [];
  for (let k = 1; k <= renames; k++) {
    const { killed } = await runChild(['library-commit', root, await stage('job-new', 0.5)], k);
    assert.ok(killed, `kill after rename ${k}`);
    const restarted = new Library(root);
    await restarted.init(); // the app's start-up
    const state = fs.existsSync(songDir) ? whichSet(songDir, sets) : 'missing';
    seen.push(`${k}: ${state}`);
    assert.ok(state === 'old' || state === 'new', `kill after rename ${k}/${renames}, after start-up: ${state}`);
    assert.ok(restarted.has(id), 'the song is in the library');
    assert.equal(restarted.get(id).title, state === 'old' ? 'level 0.25' : 'level 0.5');
    assert.deepEqual(
      fs.readdirSync(root).filter((name) => name !== id),
      [],
      `nothing hidden left in the library after start-up (kill after rename ${k})`,
    );
    await lib.commit(await stage('job-old', 0.25));
  }
  assert.ok(seen.some((s) => s.endsWith('new')), `the new song wins once its folder is in place:\n${seen.join('\n')}`);
});

test('a job that fails before its first stem leaves no song folder, and nothing beside it', async () => {
  const parent = path.join(work, 'early');
  const input = makeTone(path.join(work, 'early.wav'), 1);
  // a model whose graph does not match its manifest fails when its session opens, after the checks
  const mdir = path.join(work, 'wrong-contract');
  fs.cpSync(path.dirname(identityWaveform), mdir, { recursive: true });
  const m = JSON.parse(fs.readFileSync(path.join(mdir, 'manifest.json'), 'utf8'));
  Object.assign(m, { id: 'wrong-contract', io: 'complex-spectrogram', stft: { nFft: 2048, hop: 512, window: 'hann', center: true, bins: 1025 } });
  fs.writeFileSync(path.join(mdir, 'manifest.json'), JSON.stringify(m));
  await assert.rejects(separateFile({ input, outDir: path.join(parent, 'early'), model: path.join(mdir, 'manifest.json') }), StemdeckError);
  assert.deepEqual(fs.readdirSync(parent), [], 'no empty song folder, no staging folder');
});

test('a song folder holding files Stemdeck did not write is refused before any work, and kept', async () => {
  const input = makeTone(path.join(work, 'keep.wav'), 1);
  const out = path.join(work, 'foreign', 'keep');
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'my notes.txt'), 'mine');
  await assert.rejects(
    separateFile({ input, outDir: out, model: identityWaveform }),
    (e) => e instanceof StemdeckError && e.code === 'output-unwritable' && /my notes\.txt/.test(e.message) && /Move them away/.test(e.message),
  );
  assert.deepEqual(listFiles(out), ['my notes.txt']);
  // the input itself inside the folder its stems replace
  const inside = path.join(work, 'inside', 'song');
  fs.mkdirSync(inside, { recursive: true });
  const own = makeTone(path.join(inside, 'vocals.wav'), 1);
  await assert.rejects(
    separateFile({ input: own, outDir: inside, model: identityWaveform }),
    (e) => e instanceof StemdeckError && e.code === 'output-unwritable' && /inside the folder/.test(e.message),
  );
  assert.deepEqual(listFiles(inside), ['vocals.wav']);
});

test("a re-run replaces the song folder's stems as a set (no stale stem of an earlier run stays)", async () => {
  const input = makeTone(path.join(work, 'rerun.wav'), 1);
  const out = path.join(work, 'rerun', 'song');
  await separateFile({ input, outDir: out, model: identityWaveform, format: 'flac' });
  assert.deepEqual(listFiles(out), ['other.flac', 'vocals.flac']);
  await separateFile({ input, outDir: out, model: identityWaveform, format: 'wav', stems: ['vocals'] });
  assert.deepEqual(listFiles(out), ['vocals.wav']);
});

test('the temp files of a killed run are swept by the next run into the same --out folder, whatever its song', async () => {
  const parent = path.join(work, 'sweep');
  const killedInput = makeTone(path.join(work, 'killed.wav'), 3);
  // killed after its first rename: its stems are complete in its staging folder, not yet swapped in
  const { killed } = await runChild(['separate', killedInput, path.join(parent, 'killed'), identityWaveform], 1);
  assert.ok(killed);
  const left = fs.readdirSync(parent);
  assert.ok(left.length > 0 && left.every((n) => n.startsWith('.')), `the killed run left hidden files only: ${left.join(', ')}`);
  const bytesLeft = listFiles(parent).reduce((sum, f) => sum + fs.statSync(path.join(parent, f)).size, 0);
  assert.ok(bytesLeft > 500_000, `the killed run left its stems (${bytesLeft} bytes)`);
  const other = makeTone(path.join(work, 'other.wav'), 1);
  await separateFile({ input: other, outDir: path.join(parent, 'other'), model: identityWaveform });
  assert.deepEqual(fs.readdirSync(parent), ['other'], 'only the new song folder is left');
});

test('a song folder that is a mount point is refused with what to do (it cannot be swapped)', async (t) => {
  const mount = path.join(work, 'mounted', 'song');
  const unmount = tryMountTmpfs(mount, 'size=4m');
  if (!unmount) return t.skip('cannot mount a tmpfs here (not root, or mounts not permitted)');
  try {
    const input = makeTone(path.join(work, 'mounted.wav'), 1);
    await assert.rejects(
      separateFile({ input, outDir: mount, model: identityWaveform }),
      (e) => e instanceof StemdeckError && e.code === 'output-unwritable' && /mount point/.test(e.message),
    );
    assert.deepEqual(fs.readdirSync(path.dirname(mount)), ['song'], 'nothing beside it');
    // a song folder inside the mounted disk works
    const r = await separateFile({ input, outDir: path.join(mount, 'inside'), model: identityWaveform, format: 'flac' });
    assert.deepEqual(Object.keys(r.outputs).sort(), ['other', 'vocals']);
    assert.deepEqual(fs.readdirSync(mount), ['inside']);
  } finally {
    unmount();
  }
});

test('a song folder with a name of 250 bytes is written and replaced (hidden names beside it fit)', async () => {
  const input = makeTone(path.join(work, 'long-name.wav'), 1);
  const out = path.join(work, 'long-name', 'ü'.repeat(125));
  for (const format of ['wav', 'flac'] as const) {
    const r = await separateFile({ input, outDir: out, model: identityWaveform, format });
    assert.equal(path.dirname(r.outputs.vocals), out);
    assert.deepEqual(listFiles(out), [`other.${format}`, `vocals.${format}`]);
  }
  assert.deepEqual(fs.readdirSync(path.dirname(out)), [path.basename(out)]);
});
