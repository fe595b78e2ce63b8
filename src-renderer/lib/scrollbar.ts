/** The timeline's scroll bar: its thumb shows the visible part of the song, like a window's scroll bar. */

/** Thumb width in px on a track `trackPx` wide showing `viewSeconds` of `durationSeconds` (never narrower than `minPx`). */
export function scrollThumbWidth(trackPx: number, viewSeconds: number, durationSeconds: number, minPx = 24): number {
  if (!(trackPx > 0) || !(durationSeconds > 0)) return minPx;
  const frac = Math.min(1, Math.max(0, viewSeconds / durationSeconds));
  return Math.round(Math.min(trackPx, Math.max(minPx, trackPx * frac)));
}
