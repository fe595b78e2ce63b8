/**
 * Adapter registry keyed by manifest `io` family. The engine's own families are registered
 * here; third-party contracts register themselves from their modules (M1: ./htdemucs.ts and
 * ./mdx.ts export nothing the engine imports except via this registry — they call
 * `registerAdapter('htdemucs', factory)` / `registerAdapter('mdx-net', factory)` at import time,
 * and this file imports them if present, see `loadOptionalAdapters`).
 */
import type { AdapterFactory, AdapterFamily } from './types.js';
import { WaveformAdapter } from './waveform.js';
import { ComplexSpectrogramAdapter, MagnitudeMaskAdapter } from './spectrogram.js';

export type { AdapterContext, AdapterFactory, ModelAdapter, Planar } from './types.js';
export { WaveformAdapter } from './waveform.js';
export { ComplexSpectrogramAdapter, MagnitudeMaskAdapter } from './spectrogram.js';

const factories = new Map<AdapterFamily, AdapterFactory>();

export function registerAdapter(io: AdapterFamily, factory: AdapterFactory): void {
  factories.set(io, factory);
}

export function adapterFactory(io: AdapterFamily): AdapterFactory | undefined {
  return factories.get(io);
}

registerAdapter('waveform', (model, ctx) => new WaveformAdapter(model, ctx));
registerAdapter('complex-spectrogram', (model, ctx) => new ComplexSpectrogramAdapter(model, ctx));
registerAdapter('magnitude-mask', (model, ctx) => new MagnitudeMaskAdapter(model, ctx));

let optionalLoaded: Promise<void> | null = null;

/** Imports M1's third-party adapters (htdemucs.ts, mdx.ts) if they exist; they self-register. */
export function loadOptionalAdapters(): Promise<void> {
  optionalLoaded ??= (async () => {
    for (const name of ['./htdemucs.js', './mdx.js']) {
      try {
        await import(name);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException)?.code;
        if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw e;
      }
    }
  })();
  return optionalLoaded;
}
