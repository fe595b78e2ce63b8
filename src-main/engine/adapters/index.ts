/**
 * Adapter registry keyed by manifest `io` family. The engine's own families are registered
 * here; third-party contracts register themselves from their modules (./htdemucs.ts and
 * ./mdx.ts call `registerAdapter('htdemucs', factory)` / `registerAdapter('mdx-net', factory)` at
 * import time; `loadOptionalAdapters` imports them before a separation).
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

/**
 * Imports the third-party adapters (htdemucs.ts, mdx.ts), which register themselves.
 * Dynamic (not static) imports because those modules import this one: a static cycle would run
 * their registerAdapter() before `factories` exists. Literal specifiers so bundlers include them.
 */
export function loadOptionalAdapters(): Promise<void> {
  optionalLoaded ??= (async () => {
    // a broken third-party adapter must not stop the engine's own families from working
    await import('./htdemucs.js').catch((e: unknown) => loadErrors.set('htdemucs', e));
    await import('./mdx.js').catch((e: unknown) => loadErrors.set('mdx-net', e));
  })();
  return optionalLoaded;
}

const loadErrors = new Map<AdapterFamily, unknown>();

/** Why an optional adapter failed to load (for the error message when a model needs it). */
export function adapterLoadError(io: AdapterFamily): unknown {
  return loadErrors.get(io);
}
