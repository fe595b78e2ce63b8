/**
 * ONNX Runtime sessions (onnxruntime-node), cached per (model file, device, threads).
 * Device setting: auto | cpu | cuda | dml | coreml. `auto` tries the best provider this
 * platform can have (CUDA on Linux/Windows when its provider library is present, DirectML on
 * Windows, CoreML on macOS) and falls back to CPU, logging why. An explicit device that
 * cannot be used also falls back to CPU with a logged reason (the job still runs).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import type { Device } from './manifest.js';
import { StemdeckError } from './errors.js';

export { ort };

export interface SessionInfo {
  session: ort.InferenceSession;
  /** The provider actually used. */
  provider: 'cpu' | 'cuda' | 'dml' | 'coreml';
  /** Why a requested provider was not used (null when it was). */
  fallbackReason: string | null;
  threads: number;
}

export interface SessionOptions {
  device?: Device;
  threads?: number;
  /** Receives one-line notes (provider fallback). Default: console.warn once per reason. */
  log?: (msg: string) => void;
}

const cache = new Map<string, Promise<SessionInfo>>();
const logged = new Set<string>();

function defaultLog(msg: string): void {
  if (logged.has(msg)) return;
  logged.add(msg);
  if (process.env.STEMDECK_TEST !== '1') console.warn(`[stemdeck] ${msg}`);
}

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
  name: 'cpu' | 'cuda' | 'dml' | 'coreml';
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

function candidates(device: Device): ('cuda' | 'dml' | 'coreml')[] {
  if (device === 'cpu') return [];
  if (device !== 'auto') return [device];
  if (process.platform === 'darwin') return ['coreml'];
  if (process.platform === 'win32') return ['cuda', 'dml'];
  return ['cuda'];
}

/**
 * ONNX Runtime session options shared by in-thread sessions and the worker's (ort-worker.ts).
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

async function create(file: string, device: Device, threads: number, log: (m: string) => void): Promise<SessionInfo> {
  const base = sessionOptions(threads);
  const reasons: string[] = [];
  const providers = availableProviders();
  for (const ep of candidates(device)) {
    const rep = providers.find((p) => p.name === ep);
    if (!rep?.available) {
      reasons.push(`${ep}: ${rep?.note ?? 'unavailable'}`);
      continue;
    }
    try {
      const session = await ort.InferenceSession.create(file, { ...base, executionProviders: [ep, 'cpu'] });
      return { session, provider: ep, fallbackReason: null, threads };
    } catch (e) {
      reasons.push(`${ep}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, { ...base, executionProviders: ['cpu'] });
  } catch (e) {
    throw new StemdeckError(
      'model-corrupt',
      `The model file "${path.basename(file)}" could not be loaded by ONNX Runtime (${(e as Error).message.split('\n')[0]}). Re-download or re-import the model.`,
      { cause: e },
    );
  }
  const fallbackReason = reasons.length ? `using CPU (${reasons.join('; ')})` : null;
  if (fallbackReason && device !== 'cpu') log(`ONNX Runtime: ${device} requested, ${fallbackReason}`);
  return { session, provider: 'cpu', fallbackReason, threads };
}

/**
 * The cache key of a session: file, device, threads, and the file's size and mtime, so a model
 * replaced in place (re-downloaded, re-imported) gets a fresh session.
 */
export function sessionKey(file: string, device: Device, threads: number): string {
  let stamp = '';
  try {
    const st = fs.statSync(file);
    stamp = `${st.size}|${st.mtimeMs}`;
  } catch {
    // missing file: creating the session reports it
  }
  return `${path.resolve(file)}|${device}|${threads}|${stamp}`;
}

/** A cached session for a model file. */
export function getSession(file: string, opts: SessionOptions = {}): Promise<SessionInfo> {
  const device = opts.device ?? 'auto';
  const threads = opts.threads && opts.threads > 0 ? Math.floor(opts.threads) : defaultThreads();
  const key = sessionKey(file, device, threads);
  let p = cache.get(key);
  if (!p) {
    p = create(file, device, threads, opts.log ?? defaultLog);
    cache.set(key, p);
    p.catch(() => cache.delete(key));
  }
  return p;
}

/** Releases cached sessions (all, or those of one file). */
export async function releaseSessions(file?: string): Promise<void> {
  const prefix = file ? `${path.resolve(file)}|` : '';
  for (const [key, p] of [...cache]) {
    if (prefix && !key.startsWith(prefix)) continue;
    cache.delete(key);
    try {
      await (await p).session.release();
    } catch {
      // already failed or released
    }
  }
}
