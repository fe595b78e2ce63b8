/**
 * Time left for a job from measured speed (issue 14.9). The engine's own ETA extrapolates the
 * first segment, which also pays for loading the model: an 11-s song read "13 min left". Here the
 * job starts from an expectation — this model's measured speed on this computer (its earlier songs
 * in the library), else the manifest's `realtimeFactor` — and the running measurement takes over
 * as the job advances. Units: seconds of wall time; speeds in × real time.
 */

/** A song separated earlier: its length and how long the whole job took. */
export interface MeasuredRun {
  model: string;
  durationSeconds: number;
  seconds: number;
}

/** This model's speed on this computer (× real time): the median of its last 5 runs, or null. */
export function measuredSpeed(runs: MeasuredRun[], model: string): number | null {
  const speeds = runs
    .filter((r) => r.model === model && r.seconds > 0 && r.durationSeconds > 0)
    .slice(-5)
    .map((r) => r.durationSeconds / r.seconds)
    .sort((a, b) => a - b);
  if (!speeds.length) return null;
  const mid = speeds.length >> 1;
  return speeds.length % 2 ? speeds[mid] : (speeds[mid - 1] + speeds[mid]) / 2;
}

export class EtaEstimator {
  /**
   * @param expectedSeconds the whole job's expected wall time, or null when nothing was measured
   * @param measured whether `expectedSeconds` comes from this computer (trusted longer) or a manifest
   */
  constructor(
    private readonly expectedSeconds: number | null,
    private readonly measured = true,
  ) {}

  /** Seconds left at `fraction` (0–1) done after `elapsed` seconds; null while there is no basis yet. */
  eta(fraction: number, elapsed: number): number | null {
    const f = Math.min(1, Math.max(0, fraction));
    if (f >= 1) return 0;
    // the running rate, trusted as a fair part of the job is done (the first segments pay for
    // set-up: squared, so their (elapsed / f) extrapolation weighs ~nothing)
    const trust = Math.min(1, f / (this.measured ? 0.5 : 0.25)) ** 2;
    const running = f > 0 ? (elapsed / f) * (1 - f) : null;
    if (this.expectedSeconds === null) return f >= 0.05 && running !== null ? running : null;
    const prior = this.expectedSeconds * (1 - f); // what is left at the expected speed
    if (running === null) return prior;
    return (1 - trust) * prior + trust * running;
  }
}
