import type { CatalogueEntry, ModelInfo } from '$api/contract.js';

/** The real-song evaluation clip the Models page reports (`npm run metrics`, stemdeck eval). */
export const QUALITY_SET = 'musdb18-7s';

export type Verdict = { label: string; detail: string; level: 'best' | 'good' | 'preview' | 'rough' };

/**
 * Measured SDR per stem on the real clip (manifest metrics["musdb18-7s"].sdr, dB), its mean and a
 * plain-words verdict; null when the model was not measured there.
 */
export function quality(m: ModelInfo): { set: string; perStem: [string, number][]; mean: number; verdict: Verdict } | null {
  const sdr = m.metrics?.[QUALITY_SET]?.sdr;
  if (!sdr) return null;
  const perStem = Object.entries(sdr).filter(([, v]) => Number.isFinite(v));
  if (perStem.length === 0) return null;
  const mean = perStem.reduce((s, [, v]) => s + v, 0) / perStem.length;
  return { set: QUALITY_SET, perStem, mean, verdict: verdict(mean, m.trained) };
}

/** Mean whole-track SDR (dB) in words: what the stems are good for. */
export function verdict(meanSdr: number, trained = true): Verdict {
  if (!trained) return { label: 'Not a real separation', detail: 'untrained: for testing only', level: 'rough' };
  if (meanSdr >= 9) return { label: 'Studio quality', detail: 'clean stems for remixes and releases', level: 'best' };
  if (meanSdr >= 6) return { label: 'Good quality', detail: 'usable stems, some bleed between them', level: 'good' };
  if (meanSdr >= 3) return { label: 'Preview quality', detail: 'fine for practice and sketches; clear bleed', level: 'preview' };
  return { label: 'Rough', detail: 'for experiments only', level: 'rough' };
}

/** One licence line for a card ("MIT licence", "Research use only"); the full text goes behind a link. */
export function licenceLine(text: string): { line: string; restricted: boolean } {
  const restricted = /research[- ]use/i.test(text) && !/no research-only/i.test(text);
  if (restricted) return { line: /caveat/i.test(text) ? 'Research-use terms: read before release' : 'Research use only: not for releases', restricted };
  const name = /\b(MIT|Apache[- ]2\.0|BSD|GPL-?\d|CC[- ]BY(?:-SA)?|CC0)\b/.exec(text)?.[1];
  return { line: name ? `${name} licence` : text.split(/[.;(]/)[0].trim().slice(0, 60), restricted };
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

/** Download size in MB as the CLI prints it (decimal megabytes, one decimal). */
export function megabytes(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/**
 * The first-run offer: the catalogue's four-stem model that gives the best stems (HTDemucs) when
 * no such model is installed yet; null otherwise.
 */
export function bestDownload(catalogue: CatalogueEntry[], installed: ModelInfo[]): CatalogueEntry | null {
  const have = new Set(installed.map((m) => m.id));
  if (installed.some((m) => m.architecture === 'htdemucs' || m.io === 'htdemucs')) return null;
  return catalogue.find((c) => c.architecture === 'htdemucs' && !have.has(c.id)) ?? null;
}
