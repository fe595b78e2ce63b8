/**
 * Tempo and key of a song, once per song, from its decoded mixture (planar [channels][frames]
 * float32; 44.1 kHz is what the file analysis decodes to). No library on npm covers both in Node
 * without native builds or a copyleft licence (checked Dec 2026: music-tempo 1.0.3 is tempo only
 * and unmaintained since 2017; realtime-bpm-analyzer needs the Web Audio API; essentia.js is
 * AGPL-3.0), so these are small estimators on the engine's FFT: tempo.ts, key.ts.
 */
import { decodeAll } from '../decode.js';
import { downmix } from './spectrum.js';
import { estimateKey, type KeyEstimate } from './key.js';
import { estimateTempo, type TempoEstimate } from './tempo.js';

export { estimateTempo, onsetStrength, type TempoEstimate } from './tempo.js';
export { estimateKey, keyFromChroma, chroma, PITCH_NAMES, type KeyEstimate } from './key.js';

export const ANALYSIS_SAMPLE_RATE = 44100;

export interface MusicAnalysis {
  tempo: TempoEstimate | null;
  key: KeyEstimate | null;
}

/** Tempo and key of a mixture, planar [channels][frames] at `sampleRate` Hz. */
export async function analyzeMixture(planar: Float32Array[], sampleRate: number): Promise<MusicAnalysis> {
  const mono = downmix(planar);
  return { tempo: await estimateTempo(mono, sampleRate), key: await estimateKey(mono, sampleRate) };
}

/** Decodes a file's first audio stream (mono, 44.1 kHz) and analyses it. */
export async function analyzeFile(file: string, opts: { signal?: AbortSignal } = {}): Promise<MusicAnalysis> {
  const planar = await decodeAll(file, { sampleRate: ANALYSIS_SAMPLE_RATE, channels: 1, signal: opts.signal });
  return analyzeMixture(planar, ANALYSIS_SAMPLE_RATE);
}
