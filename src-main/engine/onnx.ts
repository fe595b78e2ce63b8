/**
 * ONNX Runtime (onnxruntime-node) basics shared by both runners (runner.ts): which execution
 * providers this machine has, the order a device setting tries them in, the session options and
 * the default thread count. Device setting: auto | cpu | cuda | dml | coreml. `auto` tries the best
 * provider this platform can have (CUDA on Linux/Windows when its provider library is present,
 * DirectML on Windows, CoreML on macOS) and falls back to CPU with a reason; an explicit device
 * that cannot be used also falls back to CPU with a reason (the job still runs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import type { Device } from './manifest.js';
import { StemdeckError } from './errors.js';

export { ort };

export type Provider = 'cpu' | 'cuda' | 'dml' | 'coreml';

/** Default intra-op thread count: the machine's cores (ORT's own default), at most 8. */
export function defaultThreads(): number {
  const n = typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length;
  return Math.max(1, Math.min(8, n));
}

function ortBinDir(): string | null {
  try {
    const require = createRequire(import.meta.url);
    const root = path.dirname(require.resolve('onnxruntime-node/package.json'));
    const napi = fs.readdirSync(path.join(root, 'bin')).find((d) => d.startsWith('napi'));
    if (!napi) return null;
    const arch = process.arch;
    return path.join(root, 'bin', napi, process.platform, arch);
  } catch {
    return null;
  }
}

export interface ProviderReport {
  name: Provider;
  available: boolean;
  note: string;
}

/** What this machine's ONNX Runtime can use (for `stemdeck doctor` and `auto`). */
export function availableProviders(): ProviderReport[] {
  const listed = new Map<string, boolean>();
  try {
    for (const b of ort.listSupportedBackends()) listed.set(b.name, b.bundled);
  } catch {
    // older onnxruntime-node: assume CPU only
  }
  const bin = ortBinDir();
  const out: ProviderReport[] = [{ name: 'cpu', available: true, note: 'always available' }];
  if (listed.has('cuda')) {
    const lib = bin
      ? fs.existsSync(path.join(bin, process.platform === 'win32' ? 'onnxruntime_providers_cuda.dll' : 'libonnxruntime_providers_cuda.so'))
      : false;
    out.push({
      name: 'cuda',
      available: lib,
      note: lib
        ? 'CUDA provider library present (needs an NVIDIA GPU with CUDA 12 and cuDNN 9)'
        : 'CUDA provider library not installed (onnxruntime-node fetches it at install time with network access)',
    });
  } else out.push({ name: 'cuda', available: false, note: 'not built into this onnxruntime-node for this platform' });
  out.push({
    name: 'dml',
    available: process.platform === 'win32' && listed.has('dml'),
    note: process.platform === 'win32' ? 'DirectML (Windows)' : 'DirectML is Windows-only',
  });
  out.push({
    name: 'coreml',
    available: process.platform === 'darwin' && listed.has('coreml'),
    note: process.platform === 'darwin' ? 'CoreML (macOS)' : 'CoreML is macOS-only',
  });
  return out;
}

/**
 * The provider lists to try, best first, for a device setting (each list is what one
 * InferenceSession.create gets; CPU last, always), and why the ones skipped here cannot be used.
 */
export function providerOrder(device: Device): { lists: Provider[][]; skipped: string[] } {
  const want: Exclude<Provider, 'cpu'>[] =
    device === 'cpu' ? [] : device !== 'auto' ? [device] : process.platform === 'darwin' ? ['coreml'] : process.platform === 'win32' ? ['cuda', 'dml'] : ['cuda'];
  const avail = availableProviders();
  const lists: Provider[][] = [];
  const skipped: string[] = [];
  for (const ep of want) {
    const rep = avail.find((p) => p.name === ep);
    if (rep?.available) lists.push([ep, 'cpu']);
    else skipped.push(`${ep}: ${rep?.note ?? 'unavailable'}`);
  }
  lists.push(['cpu']);
  return { lists, skipped };
}

/** The message of a model file ONNX Runtime cannot load (either runner). */
export function modelLoadError(file: string, why: string, cause: unknown): StemdeckError {
  return new StemdeckError(
    'model-corrupt',
    `The model file "${path.basename(file)}" could not be loaded by ONNX Runtime (${why.split('\n')[0]}). Re-download or re-import the model.`,
    { cause },
  );
}

/**
 * ONNX Runtime session options of both runners (runner.ts).
 * No busy-waiting intra/inter-op threads: spinning burned ~1.8× the CPU per segment for the same
 * or worse wall time on the 2-core machine (demucs-small-v1), CPU the main thread needs for
 * decode/overlap-add/writes. STEMDECK_ORT_SPIN=1 re-enables it.
 */
export function sessionOptions(threads: number): ort.InferenceSession.SessionOptions {
  return {
    graphOptimizationLevel: 'all',
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    enableCpuMemArena: true,
    enableMemPattern: true,
    ...(process.env.STEMDECK_ORT_SPIN === '1' ? {} : { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } }),
  };
}
