// Memory is O(segment), not O(song) (issue 7 §2): the peak RSS (VmHWM) of a process separating a
// 10× longer file grows by far less than that file's decoded size. Each run is a fresh child
// process; the identity model keeps it quick. (npm run bench -- --seconds 3600 checks the real
// default model on a 60-minute file, --batch 100 checks a batch in one process.)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { identityWaveform, makeTone, nodeTs, tempDir, useTempHome } from './helpers.js';

let work = '';
let home = '';
before(() => {
  home = useTempHome();
  work = tempDir();
});
after(() => {
  fs.rmSync(work, { recursive: true, force: true });
  fs.rmSync(home, { recursive: true, force: true });
});

function peak(seconds: number): { hwmMB: number; frames: number } {
  const input = makeTone(path.join(work, `song-${seconds}.flac`), seconds, { codec: ['-c:a', 'flac'] });
  const r = nodeTs([path.join(import.meta.dirname, 'children', 'separate-hwm.ts'), input, path.join(work, `out-${seconds}`), identityWaveform, 'wav16']);
  assert.equal(r.status, 0, String(r.stderr));
  const j = JSON.parse(String(r.stdout).trim().split('\n').pop()!) as { hwmKB: number; frames: number };
  fs.rmSync(path.join(work, `out-${seconds}`), { recursive: true, force: true });
  return { hwmMB: j.hwmKB / 1024, frames: j.frames };
}

test('peak RSS does not grow with the file length (30 s vs 300 s)', { skip: process.platform !== 'linux' && 'needs /proc' }, (t) => {
  const short = peak(30);
  const long = peak(300);
  assert.equal(long.frames, 300 * 44100);
  // 300 s of stereo float32 is 101 MiB decoded (and each stem as much again): O(song) memory would
  // show; the allowance covers V8 heap slack (garbage not yet collected counts in VmHWM).
  const growth = long.hwmMB - short.hwmMB;
  t.diagnostic(`peak RSS ${short.hwmMB.toFixed(0)} MiB (30 s) → ${long.hwmMB.toFixed(0)} MiB (300 s)`);
  assert.ok(growth < 60, `peak RSS ${short.hwmMB.toFixed(0)} MiB (30 s) → ${long.hwmMB.toFixed(0)} MiB (300 s): +${growth.toFixed(0)} MiB`);
});
