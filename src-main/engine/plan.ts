/**
 * planSeparation: what a separation will do, decided before any audio or ONNX Runtime is touched
 * (pure: manifests and options in, a plan out; throws StemdeckError('invalid-request') for bad
 * options). A single model is a one-stage plan; a cascade has one stage per stage model.
 *
 * Residuals:
 * - a single model: `residual` option (default: on if the manifest names one) derives the
 *   manifest's residual stem (else "other", else the last stem) as mixture − Σ(other stems);
 * - a cascade: the same option and rule for the cascade's own `residual`, derived at the end from
 *   the mixture and the other kept stems; each stage runs with its own manifest's residual
 *   default (as it does alone), applied only where the stage's residual stem is used.
 */
import { StemdeckError } from './errors.js';
import type { ModelManifest } from './manifest.js';
import { isCascadeModel, type InstalledModel, type OnnxModel } from './registry.js';
import { extensionOf, OutputFormatSchema, type OutputFormat } from './writers.js';

export interface StagePlan {
  model: OnnxModel;
  /** The stage model's stems (its adapter's output order). */
  stems: string[];
  /** Stems of this stage the job keeps (a single model: all of them), and their indices in `stems`. */
  keep: string[];
  keepIdx: number[];
  /** need[s]: stem s is used (written, kept for a later stage, or needed by a residual). */
  need: boolean[];
  /** The stage's residual stem index in `stems` (−1: none). */
  residualIdx: number;
  overlap: number;
  normalize: 'none' | 'mixture-std';
  /** This stage's share of the job's work (Σ = 1), for progress. */
  weight: number;
}

export interface SeparationPlan {
  modelId: string;
  cascade: boolean;
  sampleRate: number;
  channels: number;
  /** The job's stems in order (a cascade: the kept stems in stage order). */
  stems: string[];
  /** The stems written. */
  wanted: string[];
  /** The job-level residual stem (single model: the stage's; cascade: the cascade's) or null. */
  residual: string | null;
  stages: StagePlan[];
  format: OutputFormat;
  extension: 'wav' | 'flac' | 'mp3';
  /** Some stage normalises by the mixture's mean/std (one extra decode pass). */
  needsStats: boolean;
}

export interface PlanOptions {
  format?: OutputFormat;
  stems?: string[];
  overlap?: number;
  residual?: boolean;
}

/** Format and overlap checks that need no model (done first, before any work). */
export function checkPlanOptions(opts: PlanOptions): OutputFormat {
  const format = opts.format ?? 'wav';
  if (!OutputFormatSchema.safeParse(format).success)
    throw new StemdeckError('invalid-request', `Unknown output format "${format}". Use wav, wav16, wav24, flac, flac16, mp3 or mp3-v0.`);
  if (opts.overlap !== undefined && !(opts.overlap >= 0 && opts.overlap <= 0.9))
    throw new StemdeckError('invalid-request', `Overlap must be between 0 and 0.9, got ${opts.overlap}.`);
  return format;
}

/** The residual stem a manifest's rule picks, or null when off. */
export function residualStem(m: Pick<ModelManifest, 'stems' | 'residual'>, on: boolean | undefined): string | null {
  const enabled = on ?? m.residual !== undefined;
  if (!enabled) return null;
  return m.residual ?? (m.stems.includes('other') ? 'other' : m.stems[m.stems.length - 1]);
}

/** need[] for a model whose `produce` stems are used, with `residualIdx` derived from the rest. */
function needs(stems: readonly string[], produce: readonly string[], residualIdx: number): boolean[] {
  return stems.map((s, i) => i !== residualIdx && (residualIdx >= 0 || produce.includes(s)));
}

/** Stage weights ∝ seconds per audio second (1 / realtimeFactor); stages without one get the mean. */
export function stageWeights(models: readonly Pick<ModelManifest, 'realtimeFactor'>[]): number[] {
  const cost = models.map((m) => (m.realtimeFactor ? 1 / m.realtimeFactor : NaN));
  const known = cost.filter((c) => Number.isFinite(c));
  const fill = known.length ? known.reduce((a, b) => a + b, 0) / known.length : 1;
  const filled = cost.map((c) => (Number.isFinite(c) ? c : fill));
  const sum = filled.reduce((a, b) => a + b, 0);
  return filled.map((c) => c / sum);
}

/**
 * The plan of separating with `model` (a single model: `stages` is ignored; a cascade: `stages`
 * are its resolved stage models in order, registry.cascadeStages).
 */
export function planSeparation(model: InstalledModel, stages: readonly OnnxModel[], opts: PlanOptions = {}): SeparationPlan {
  const format = checkPlanOptions(opts);
  const m = model.manifest;
  const wanted = opts.stems && opts.stems.length ? [...opts.stems] : [...m.stems];
  for (const s of wanted)
    if (!m.stems.includes(s))
      throw new StemdeckError('invalid-request', `Model "${m.id}" has no stem "${s}". Its stems are: ${m.stems.join(', ')}.`);
  const residual = residualStem(m, opts.residual);
  const base = { modelId: m.id, sampleRate: m.sampleRate, channels: m.channels, stems: [...m.stems], wanted, residual, format, extension: extensionOf(format) };

  if (!isCascadeModel(model)) {
    const only = model;
    const om = only.manifest;
    const residualIdx = residual ? om.stems.indexOf(residual) : -1;
    const stage: StagePlan = {
      model: only,
      stems: [...om.stems],
      keep: [...om.stems],
      keepIdx: om.stems.map((_, i) => i),
      need: needs(om.stems, wanted, residualIdx),
      residualIdx,
      overlap: opts.overlap ?? om.segment.overlap,
      normalize: om.normalize,
      weight: 1,
    };
    return { ...base, cascade: false, stages: [stage], needsStats: om.normalize === 'mixture-std' };
  }

  const specs = model.manifest.cascade.stages;
  if (stages.length !== specs.length) throw new StemdeckError('internal', `cascade "${m.id}": ${stages.length} stage models for ${specs.length} stages`);
  const weights = stageWeights(stages.map((s) => s.manifest));
  const last = specs.length - 1;
  const plans = specs.map((spec, k): StagePlan => {
    const sm = stages[k].manifest;
    // Earlier stages' kept stems shape the next stage's input: always made. The last stage makes
    // the kept stems that are written, or all of them when the cascade derives a residual.
    const produce =
      k < last ? spec.keep : spec.keep.filter((s) => s !== residual && (residual !== null || wanted.includes(s)));
    const own = residualStem(sm, undefined);
    const residualIdx = own !== null && produce.includes(own) ? sm.stems.indexOf(own) : -1;
    return {
      model: stages[k],
      stems: [...sm.stems],
      keep: [...spec.keep],
      keepIdx: spec.keep.map((s) => sm.stems.indexOf(s)),
      need: needs(sm.stems, produce, residualIdx),
      residualIdx,
      overlap: opts.overlap ?? sm.segment.overlap,
      normalize: sm.normalize,
      weight: weights[k],
    };
  });
  for (const [k, p] of plans.entries())
    if (p.keepIdx.some((i) => i < 0))
      throw new StemdeckError('model-contract', `Model "${m.id}": stage ${k + 1} "${p.model.manifest.id}" lacks a kept stem (${p.keep.join(', ')}).`);
  return { ...base, cascade: true, stages: plans, needsStats: plans.some((p) => p.normalize === 'mixture-std') };
}
