/**
 * Magnitude spectra of a mono signal, one frame at a time, through the engine's real FFT (fft.ts).
 * Frames are centred on t·hop (zero padding outside the signal) with a periodic Hann window, so
 * frame t describes the time t·hop / sampleRate. Streams frames to a callback instead of holding
 * a spectrogram: a 10-minute song at hop 512 would be ~50k frames × 1025 bins.
 */
import { hannPeriodic } from '../stft.js';
import { createRealFft } from '../fft.js';

/** Calls onFrame(t, mag) for t = 0 … ⌊N / hop⌋; mag: nFft/2 + 1 linear magnitudes, reused between calls. */
export async function forEachMagnitudeFrame(
  mono: Float32Array,
  nFft: number,
  hop: number,
  onFrame: (t: number, mag: Float32Array) => void,
): Promise<number> {
  const fft = await createRealFft(nFft);
  const window = hannPeriodic(nFft);
  const bins = nFft / 2 + 1;
  const frame = new Float32Array(nFft);
  const re = new Float32Array(bins);
  const im = new Float32Array(bins);
  const mag = new Float32Array(bins);
  const frames = 1 + Math.floor(mono.length / hop);
  const half = nFft / 2;
  for (let t = 0; t < frames; t++) {
    const start = t * hop - half;
    for (let i = 0; i < nFft; i++) {
      const j = start + i;
      frame[i] = j >= 0 && j < mono.length ? mono[j] * window[i] : 0;
    }
    fft.forward(frame, re, im);
    for (let k = 0; k < bins; k++) mag[k] = Math.hypot(re[k], im[k]);
    onFrame(t, mag);
  }
  return frames;
}

/** Mean of the channels: planar [channels][frames] → [frames]. */
export function downmix(planar: Float32Array[]): Float32Array {
  if (planar.length === 1) return planar[0];
  const n = planar[0].length;
  const out = new Float32Array(n);
  for (const ch of planar) for (let i = 0; i < n; i++) out[i] += ch[i];
  const g = 1 / planar.length;
  for (let i = 0; i < n; i++) out[i] *= g;
  return out;
}
