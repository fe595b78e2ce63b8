/** Meter and export level maths: linear sample values ↔ dBFS. */

/** The meter's range, dBFS. */
export const METER_MIN_DB = -60;
export const METER_MAX_DB = 6;
/** Scale marks on the meters, dBFS. */
export const METER_TICKS = [-48, -24, -12, -6, 0];

/** Position (0…1) of a dBFS value on the meter. */
export function dbFraction(db: number): number {
  return Math.max(0, Math.min(1, (db - METER_MIN_DB) / (METER_MAX_DB - METER_MIN_DB)));
}

/** Position (0…1) of a linear peak on the meter (0 → bottom). */
export function meterFraction(lin: number): number {
  return lin > 0 ? dbFraction(20 * Math.log10(lin)) : 0;
}

/** Whether a linear peak is at or over full scale (what a 16/24-bit file or a DAC would clip). */
export function isClip(lin: number): boolean {
  return lin >= 1;
}

export function peakDbText(lin: number): string {
  if (!(lin > 0)) return '−∞ dBFS';
  const db = 20 * Math.log10(lin);
  return `${db > 0.05 ? '+' : db < -0.05 ? '−' : ''}${Math.abs(db).toFixed(1)} dBFS`;
}

/** The warning for an exported file whose format clipped samples, saying what to do; null when nothing clipped. */
export function clipWarning(file: { name: string; clipped?: number; peak?: number }): string | null {
  if (!file.clipped) return null;
  const n = file.clipped.toLocaleString('en');
  return `${file.name}: ${n} samples were over full scale (peak ${peakDbText(file.peak ?? 0)}) and were clipped. Export again with “Normalise” ticked, as 32-bit float, or with the master lowered by ${Math.ceil(20 * Math.log10(file.peak ?? 1) * 10) / 10} dB.`;
}
