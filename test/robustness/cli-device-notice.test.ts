/**
 * Issue 12, item 9: an explicit `--device cuda|dml|coreml` this machine cannot use runs on the CPU
 * with a one-line notice (once per command, whatever the number of inputs), and `--json` says which
 * provider ran and why the requested one did not. `auto` and `cpu` stay quiet. Real ONNX Runtime.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { availableProviders } from '../../src-main/engine/onnx.js';
import { identityWaveform, makeTone, tempDir } from './helpers.js';
import { stemdeck } from './cli-run.js';

const unavailable = availableProviders()
  .filter((p) => p.name !== 'cpu' && !p.available)
  .map((p) => p.name);

const notice = (device: string): RegExp => new RegExp(`^stemdeck: warning: --device ${device} cannot be used here, so ONNX Runtime runs on the CPU \\(.+\\)\\. Run \`stemdeck doctor\``, 'gm');

test('an unavailable --device: one notice line, and --json names the provider that ran', { skip: unavailable.length === 0 && 'every provider is available here' }, async () => {
  const dir = tempDir('stemdeck-device-');
  const a = makeTone(path.join(dir, 'a.wav'), 1);
  const b = makeTone(path.join(dir, 'b.wav'), 1, { variant: 1 });
  for (const device of unavailable) {
    const r = await stemdeck(['separate', a, b, '--model', identityWaveform, '--device', device, '--out', path.join(dir, device), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.match(notice(device))?.length, 1, `${device}: one notice line for two inputs\n${r.stderr}`);
    assert.equal(r.json.length, 2);
    for (const line of r.json) {
      assert.equal(line.provider, 'cpu');
      assert.match(String(line.providerFallback), new RegExp(`^using CPU \\(${device}: `));
    }
  }
});

test('--device auto and cpu: no notice, the provider in --json, no fallback field', async () => {
  const dir = tempDir('stemdeck-device-');
  const a = makeTone(path.join(dir, 'a.wav'), 1);
  for (const device of ['auto', 'cpu']) {
    const r = await stemdeck(['separate', a, '--model', identityWaveform, '--device', device, '--out', path.join(dir, device), '--json']);
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stderr, /--device .* cannot be used here/);
    assert.equal(typeof r.json[0].provider, 'string');
    if (device === 'cpu') assert.equal(r.json[0].provider, 'cpu');
    assert.equal(r.json[0].providerFallback, undefined);
  }
});
