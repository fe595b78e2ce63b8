/**
 * Tempo and key of a song, once per song, from its decoded mixture (planar [channels][frames]
 * float32 at any rate; the file analysis decodes mono at 44.1 kHz). No library on npm covers both
 * in Node without native builds or a copyleft licence (checked Dec 2026: music-tempo 1.0.3 is tempo
 * only and unmaintained since 2017; realtime-bpm-analyzer needs the Web Audio API; essentia.js is
 * AGPL-3.0), so these are small estimators on the engine's FFT: tempo.ts, key.ts.
 *
 * MusicAnalyzer takes the mixture in chunks as it streams (a separation feeds it the chunks it
 * decodes for the model, so the song is decoded once): memory stays O(frames of onset strength),
 * ~86 numbers per second, never the song.
 */
import { decodeAudio } from '../decode.js';
import { downmix } from './spectrum.js';
import { ChromaTracker, keyFromChroma, type KeyEstimate } from './key.js';
import { OnsetTracker, tempoFromOnsets, type TempoEstimate } from './tempo.js';

export { estimateTempo, onsetStrength, type TempoEstimate } from './tempo.js';
export { estimateKey, keyFromChroma, chroma, PITCH_NAMES, type KeyEstimate } from './key.js';

export const ANALYSIS_SAMPLE_RATE = 44100;

export interface MusicAnalysis {
  tempo: TempoEstimate | null;
  key: KeyEstimate | null;
}

/** Tempo and key of a mixture that arrives in planar chunks [channels][frames] at `sampleRate` Hz. */
export class MusicAnalyzer {
  private constructor(
    private readonly onsets: OnsetTracker,
    private readonly chroma: ChromaTracker,
  ) {}

  static async create(sampleRate: number): Promise<MusicAnalyzer> {
    return new MusicAnalyzer(await OnsetTracker.create(sampleRate), await ChromaTracker.create(sampleRate));
  }

  push(planar: Float32Array[]): void {
    if (!planar.length || planar[0].length === 0) return;
    const mono = downmix(planar);
    this.onsets.push(mono);
    this.chroma.push(mono);
  }

  finish(): MusicAnalysis {
    return { tempo: tempoFromOnsets(this.onsets.finish()), key: keyFromChroma(this.chroma.finish()) };
  }
}

/** Tempo and key of a whole mixture, planar [channels][frames] at `sampleRate` Hz. */
export async function analyzeMixture(planar: Float32Array[], sampleRate: number): Promise<MusicAnalysis> {
  const analyzer = await MusicAnalyzer.create(sampleRate);
  analyzer.push(planar);
  return analyzer.finish();
}

/** Decodes a file's first audio stream (mono, 44.1 kHz) as a stream and analyses it. */
export async function analyzeFile(file: string, opts: { signal?: AbortSignal } = {}): Promise<MusicAnalysis> {
  const analyzer = await MusicAnalyzer.create(ANALYSIS_SAMPLE_RATE);
  for await (const chunk of decodeAudio(file, { sampleRate: ANALYSIS_SAMPLE_RATE, channels: 1, signal: opts.signal })) analyzer.push(chunk);
  return analyzer.finish();
}
