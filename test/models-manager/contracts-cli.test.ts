/**
 * The third-party contract stand-ins (test/models-manager/fixtures) separated through the real
 * CLI: `stemdeck separate --model <imported id>` and `--model <bare .onnx path>`.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { decodeAll, writeAudio, loadRegistry } from '../../src-main/engine/index.js';
import { importModel } from '../../src-main/engine/models/import.js';
import { runStemdeck, tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIX = path.join(here, 'fixtures');
const SR = 44100;
let home: string;

function bandSignal(n: number): Float32Array[] {
  return [0, 1].map((ch) => {
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) x[i] = 0.2 * Math.sin((2 * Math.PI * 440 * (1 + 0.01 * ch) * i) / SR) + 0.1 * Math.sin((2 * Math.PI * 3001 * i) / SR + ch);
    return x;
  });
}

before(async () => {
  home = await tempDir('contracts-cli');
  process.env.STEMDECK_HOME = home;
  const models = path.join(home, 'models');
  await importModel(path.join(FIX, 'contract-htdemucs.onnx'), { modelsDir: models, params: { id: 'test-htdemucs' } });
  await importModel(path.join(FIX, 'contract-mdx.onnx'), { modelsDir: models, params: { id: 'test-mdx', nFft: 6144, compensate: 1.035, primary: 'vocals' } });
});
after(async () => {
  await fs.rm(home, { recursive: true, force: true });
});

describe('third-party contracts through the CLI', () => {
  it('the registry sees imported models; the CLI separates with --model <id>', async () => {
    const reg = await loadRegistry();
    assert.equal(reg.get('test-mdx').origin, 'user');
    const input = path.join(home, 'cli-in.wav');
    const x = bandSignal(400000);
    await writeAudio(input, x, SR, 'wav');
    const outDir = path.join(home, 'cli-out');
    // ids of imported models, and a bare .onnx path (contract detected in memory, nothing installed)
    for (const model of ['test-mdx', 'test-htdemucs', path.join(FIX, 'contract-htdemucs.onnx')]) {
      const res = await runStemdeck(['separate', input, '--model', model, '--out', path.join(outDir, path.basename(model)), '--json'], home);
      assert.equal(res.code, 0, res.stderr);
      const line = JSON.parse(res.stdout.trim().split('\n').filter((l) => l.startsWith('{')).at(-1) ?? '{}') as { outputs: Record<string, string> };
      const expected = model === 'test-mdx' ? ['instrumental', 'vocals'] : ['bass', 'drums', 'other', 'vocals'];
      assert.equal(model.includes('/') ? (line as { model?: string }).model : model, model.includes('/') ? 'contract-htdemucs' : model);
      assert.deepEqual(Object.keys(line.outputs).sort(), expected);
      const first = await decodeAll(Object.values(line.outputs)[0], { sampleRate: SR, channels: 2 });
      assert.equal(first[0].length, 400000);
    }
  });
});
