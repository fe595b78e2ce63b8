// Issue 12, "tests that cannot catch what they claim": `npm test` left ≈ 390 MB of temp folders per
// run. The runner (scripts/run-tests.js) points TMPDIR at one folder of its own and removes it
// afterwards; run here on the units tests (which write WAV files to the temp folder) with TMPDIR
// set to an empty folder, which must be empty again after the run. STEMDECK_KEEP_TMP=1 is the
// control: the run's folder stays, so the temp files did go there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';

const root = path.resolve(import.meta.dirname, '..', '..');

function runUnits(parent: string, keep: boolean): void {
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: parent, TMP: parent, TEMP: parent };
  delete env.STEMDECK_KEEP_TMP;
  if (keep) env.STEMDECK_KEEP_TMP = '1';
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'run-tests.js'), 'test/engine/units'], { cwd: root, env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
}

test('npm test leaves no temp files behind (its own TMPDIR, removed after the run; STEMDECK_KEEP_TMP=1 keeps it)', async () => {
  const parent = fs.mkdtempSync(path.join(os.tmpdir(), 'stemdeck-runner-'));
  try {
    runUnits(parent, false);
    assert.deepEqual(fs.readdirSync(parent), [], 'nothing left in TMPDIR');
    runUnits(parent, true);
    const kept = fs.readdirSync(parent);
    assert.equal(kept.length, 1, `one run folder kept: ${kept.join(', ')}`);
    assert.match(kept[0], /^stemdeck-test-run-/);
  } finally {
    fs.rmSync(parent, { recursive: true, force: true });
  }
});
