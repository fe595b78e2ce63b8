/**
 * The committed contract fixtures are what training/export_contract_fixtures.py writes (re-run
 * with /usr/bin/python3 + onnx when present; skipped otherwise), and they have exactly the
 * third-party I/O they stand in for.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { inspectOnnx } from '../../src-main/engine/models/import.js';
import { tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..');
const FIX = path.join(here, 'fixtures');
const NAMES = ['contract-htdemucs.onnx', 'contract-mdx.onnx', 'contract-mdx-gains.onnx', 'contract-bad.onnx'];

it('fixtures have the HTDemucs (Mixxx) and UVR MDX-Net I/O and stay tiny', async () => {
  const ht = await inspectOnnx(path.join(FIX, 'contract-htdemucs.onnx'));
  assert.deepEqual(ht.inputs, [{ name: 'input', type: 'float32', shape: [1, 2, 343980] }]);
  assert.deepEqual(ht.outputs, [{ name: 'output', type: 'float32', shape: [1, 4, 2, 343980] }]);
  const mdx = await inspectOnnx(path.join(FIX, 'contract-mdx.onnx'));
  assert.deepEqual(mdx.inputs[0].shape.slice(1), [4, 2048, 256]);
  for (const n of NAMES) assert.ok((await fs.stat(path.join(FIX, n))).size < 4096, n);
});

it('fixtures match training/export_contract_fixtures.py', async (t) => {
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import onnx'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    t.skip('/usr/bin/python3 with onnx is not available');
    return;
  }
  const out = await tempDir('fixtures');
  const r = spawnSync(py, [path.join(repoRoot, 'training', 'export_contract_fixtures.py'), '--out', out], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  for (const n of NAMES) assert.deepEqual(await fs.readFile(path.join(out, n)), await fs.readFile(path.join(FIX, n)), n);
  await fs.rm(out, { recursive: true, force: true });
});
