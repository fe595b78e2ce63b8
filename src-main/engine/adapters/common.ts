/** Helpers shared by adapters: tensor shape checks and batch dims. */
import { StemdeckError } from '../errors.js';
import type { OnnxModelManifest } from '../manifest.js';
import type { ort } from '../onnx.js';
import type { ModelGraph } from '../runner.js';

/** Batch size a graph accepts: its first input dim if fixed, else `preferred`. */
export function graphBatch(session: ModelGraph, inputName: string, preferred: number): number {
  const m = (session.inputMetadata ?? []).find((x) => x.name === inputName);
  const d = m?.isTensor ? m.shape[0] : undefined;
  if (typeof d === 'number' && d > 0) return d;
  return Math.max(1, preferred);
}

export function requireNames(session: ModelGraph, manifest: OnnxModelManifest): void {
  if (!session.inputNames.includes(manifest.tensors.input))
    throw new StemdeckError(
      'model-contract',
      `Model "${manifest.id}" has no input named "${manifest.tensors.input}" (it has ${session.inputNames.join(', ')}). Its manifest does not match the ONNX file.`,
    );
  if (!session.outputNames.includes(manifest.tensors.output))
    throw new StemdeckError(
      'model-contract',
      `Model "${manifest.id}" has no output named "${manifest.tensors.output}" (it has ${session.outputNames.join(', ')}). Its manifest does not match the ONNX file.`,
    );
}

export function expectDims(manifest: OnnxModelManifest, t: ort.Tensor, expected: number[]): Float32Array {
  const ok = t.dims.length === expected.length && t.dims.every((d, i) => d === expected[i]);
  if (!ok || t.type !== 'float32')
    throw new StemdeckError(
      'model-contract',
      `Model "${manifest.id}" returned ${t.type} [${t.dims.join(', ')}], expected float32 [${expected.join(', ')}] for io "${manifest.io}". The model does not follow its declared contract.`,
    );
  return t.data as Float32Array;
}

export function contractError(manifest: OnnxModelManifest, e: unknown): StemdeckError {
  if (e instanceof StemdeckError) return e;
  return new StemdeckError(
    'model-contract',
    `Model "${manifest.id}" failed to run on io "${manifest.io}" inputs (${(e as Error)?.message?.split('\n')[0] ?? String(e)}). The model does not follow its declared contract.`,
    { cause: e },
  );
}
