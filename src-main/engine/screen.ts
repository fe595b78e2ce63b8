/**
 * Screening samples for values that are not numbers (NaN, ±Infinity). One such sample poisons a
 * whole separation (normalisation statistics, every STFT frame and segment it touches), and the
 * writers turn NaN into full-scale noise (FLAC), silence (16-bit WAV) or an encoder failure (MP3).
 * `x - x` is 0 for every finite x and NaN for NaN and ±Infinity, so one comparison tells them apart.
 */

/** Replaces NaN and ±Infinity with 0 in place in every plane ([channels][frames]); returns how many. */
export function zeroNonFinite(planes: readonly Float32Array[]): number {
  let count = 0;
  for (const plane of planes) {
    for (let i = 0; i < plane.length; i++) {
      const v = plane[i];
      if (v - v !== 0) {
        plane[i] = 0;
        count++;
      }
    }
  }
  return count;
}

/** How many samples of the stems ([stems][channels][frames]) are NaN or ±Infinity. */
export function countNonFinite(stems: readonly (readonly Float32Array[])[]): number {
  let count = 0;
  for (const planes of stems)
    for (const plane of planes)
      for (let i = 0; i < plane.length; i++) {
        const v = plane[i];
        if (v - v !== 0) count++;
      }
  return count;
}
