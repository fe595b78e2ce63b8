// Stem names, model ids and devices: one definition (src-main/shared/vocabulary.ts) for the engine's
// manifests and the app's API. Before, the API capped names at 41/101 characters and the engine did
// not, so a model whose manifest loaded could not be chosen in the app.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as api from '../../src-main/api/contract.js';
import * as engine from '../../src-main/engine/manifest.js';

test('the engine and the API accept and refuse the same stem names, model ids and devices', () => {
  const words = [
    'vocals',
    'a'.repeat(41),
    'a'.repeat(42),
    'Vocals',
    'demucs-small-v1',
    'm'.repeat(101),
    'm'.repeat(102),
    'cuda',
    'tpu',
  ];
  for (const word of words) {
    for (const [name, a, e] of [
      ['stem name', api.StemNameSchema, engine.StemNameSchema],
      ['model id', api.ModelIdSchema, engine.ModelIdSchema],
      ['device', api.DeviceSchema, engine.DeviceSchema],
    ] as const)
      assert.equal(a.safeParse(word).success, e.safeParse(word).success, `${name} "${word.slice(0, 12)}…" (${word.length} chars)`);
  }
  assert.equal(engine.StemNameSchema.safeParse('a'.repeat(42)).success, false, 'the cap holds in the engine');
});
