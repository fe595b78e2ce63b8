import type { ModelInfo } from '../../src-main/api/contract.js';

/** The first evaluation set's SDR per stem, and its mean, or null when not measured. */
export function quality(m: ModelInfo): { set: string; perStem: [string, number][]; mean: number } | null {
  const sets = Object.entries(m.metrics ?? {});
  if (sets.length === 0) return null;
  const [set, metrics] = sets[0];
  const sdr = metrics.sdr ?? metrics.usdr ?? Object.values(metrics)[0];
  if (!sdr) return null;
  const perStem = Object.entries(sdr).filter(([, v]) => Number.isFinite(v));
  if (perStem.length === 0) return null;
  return { set, perStem, mean: perStem.reduce((s, [, v]) => s + v, 0) / perStem.length };
}

export function speedText(m: ModelInfo): string {
  if (!m.realtimeFactor) return 'not measured';
  // realtimeFactor: seconds of audio per second of processing (> 1 is faster than real time).
  return `${m.realtimeFactor >= 10 ? Math.round(m.realtimeFactor) : m.realtimeFactor.toFixed(1)}× real time`;
}

/** A cascade's pipeline, "Stage 1 (vocals) → Stage 2 (drums, bass, other)"; null for a single model. */
export function pipelineText(m: ModelInfo): string | null {
  if (!m.stages?.length) return null;
  return m.stages.map((s) => `${s.name ?? s.model} (${s.keep.join(', ')})`).join(' → ');
}
