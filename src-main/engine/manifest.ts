/**
 * The model manifest: one schema for every model (bundled, downloaded, imported).
 * Validated whenever a manifest is read; the TypeScript type is derived from it.
 *
 * Tensor layouts per io family (B = batch, C = audio channels, S = stems,
 * F = STFT bins fed to the model, T = frames of one segment, N = segment samples):
 * - waveform:            input  [B, C, N] float32  → output [B, S, C, N]
 * - complex-spectrogram: input  [B, 2C, F, T] (c0 re, c0 im, c1 re, c1 im, …)
 *                        → output [B, S, 2C, F, T]; the engine runs STFT/iSTFT.
 * - magnitude-mask:      input  [B, C, F, T] magnitudes → output [B, S, C, F, T]
 *                        masks or magnitudes (see `magnitude.output`); the mixture
 *                        phase is reused, optionally refined by Wiener/EM iterations.
 * - htdemucs:            Mixxx's HTDemucs v4 export, [1, 2, 343980] → [1, 4, 2, 343980].
 * - mdx-net:             UVR MDX-Net, [B, 4, dimF, dimT] → [B, 4, dimF, dimT], one primary stem.
 * F may be smaller than nFft/2+1: the model sees the lowest F bins; the engine
 * zero-fills the bins above F on output.
 *
 * io "cascade" is not a tensor layout but a pipeline of installed models run as one model
 * (CascadeManifestSchema; engine cascade.ts): no files, segment or tensors of its own.
 */
import { z } from 'zod';
import { StemNameSchema, ModelIdSchema } from '../shared/vocabulary.js';

// shared with the app's API (one definition, src-main/shared/vocabulary.ts)
export { StemNameSchema, ModelIdSchema, DeviceSchema, type Device } from '../shared/vocabulary.js';

export const IoFamilySchema = z.enum(['waveform', 'complex-spectrogram', 'magnitude-mask', 'htdemucs', 'mdx-net']);
export type IoFamily = z.infer<typeof IoFamilySchema>;

export const StftParamsSchema = z.object({
  nFft: z.number().int().positive(),
  hop: z.number().int().positive(),
  window: z.literal('hann'),
  center: z.boolean(),
  /** Bins the model sees (lowest ones), ≤ nFft/2 + 1. */
  bins: z.number().int().positive(),
});
export type StftParams = z.infer<typeof StftParamsSchema>;

/**
 * Post-processing of a waveform model's segment outputs (engine refine.ts): "ratio-mask"
 * re-splits the mixture's STFT in proportion to the stems' STFT magnitudes.
 */
export const RefineSchema = z.object({
  method: z.literal('ratio-mask'),
  nFft: z.number().int().min(16),
  hop: z.number().int().positive(),
});
export type RefineParams = z.infer<typeof RefineSchema>;

/**
 * A path that stays inside the model's folder by its text: relative, no "." or ".." segment, no
 * drive letter or NUL, either slash as a separator. (Symlinks leaving the folder are refused when the
 * file is checked: registry.ts modelFileProblem.)
 */
export function isConfinedPath(p: string): boolean {
  if (p.includes('\0') || /^[a-zA-Z]:/.test(p) || /^[\\/]/.test(p)) return false;
  return p.split(/[\\/]/).every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}

export const ModelFileSchema = z.object({
  path: z.string().min(1).refine(isConfinedPath, 'must be a file inside the model\'s folder (a relative path without "..")'),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** Required: checked before hashing, so a wrong or endless file is refused at once. */
  bytes: z.number().int().positive('must be the file\'s size in bytes'),
});

export const StemMetricsSchema = z.record(z.string(), z.number());

/** Fields every manifest has, whatever runs it. */
const commonFields = {
  id: ModelIdSchema,
  name: z.string().min(1),
  description: z.string().optional(),
  architecture: z.string().min(1),
  sampleRate: z.number().int().positive(),
  channels: z.number().int().min(1).max(2),
  stems: z.array(StemNameSchema).min(1),
  /** Stem derived as mixture − Σ(other stems), so the stems sum exactly to the mixture. */
  residual: StemNameSchema.optional(),
  trained: z.boolean(),
  params: z.number().int().nonnegative(),
  license: z.string().min(1),
  source: z.string().min(1),
  /** Measured by `npm run bench` on this machine; absent until then. */
  realtimeFactor: z.number().positive().optional(),
  metrics: z.record(z.string(), z.record(z.string(), StemMetricsSchema)).optional(),
  card: z.string().optional(),
};

function checkResidual(m: { stems: string[]; residual?: string }, ctx: z.RefinementCtx): void {
  if (m.residual && !m.stems.includes(m.residual))
    ctx.addIssue({ code: 'custom', message: `residual "${m.residual}" is not one of the stems` });
}

/** A model that is one ONNX graph (plus the engine's pre/post-processing for its io family). */
export const OnnxModelManifestSchema = z
  .object({
    ...commonFields,
    io: IoFamilySchema,
    stft: StftParamsSchema.optional(),
    segment: z.object({
      samples: z.number().int().positive(),
      overlap: z.number().min(0).max(0.9),
    }),
    tensors: z.object({ input: z.string().min(1), output: z.string().min(1) }),
    magnitude: z
      .object({ output: z.enum(['mask', 'magnitude']), wienerIterations: z.number().int().min(0).default(0) })
      .optional(),
    mdx: z
      .object({
        nFft: z.number().int().positive(),
        dimF: z.number().int().positive(),
        dimT: z.number().int().positive(),
        compensate: z.number().positive(),
        primary: StemNameSchema,
        secondary: StemNameSchema,
      })
      .optional(),
    refine: RefineSchema.optional(),
    /** HTDemucs-style input normalisation by the mixture's mean/std, done by the caller. */
    normalize: z.enum(['none', 'mixture-std']).default('none'),
    files: z.array(ModelFileSchema).min(1),
  })
  .superRefine((m, ctx) => {
    const needsStft = m.io === 'complex-spectrogram' || m.io === 'magnitude-mask';
    if (needsStft && !m.stft) ctx.addIssue({ code: 'custom', message: `io "${m.io}" needs "stft"` });
    if (m.stft && m.stft.bins > m.stft.nFft / 2 + 1)
      ctx.addIssue({ code: 'custom', message: 'stft.bins exceeds nFft/2 + 1' });
    if (m.io === 'magnitude-mask' && !m.magnitude)
      ctx.addIssue({ code: 'custom', message: 'io "magnitude-mask" needs "magnitude"' });
    if (m.io === 'mdx-net' && !m.mdx) ctx.addIssue({ code: 'custom', message: 'io "mdx-net" needs "mdx"' });
    if (m.refine && m.io !== 'waveform')
      ctx.addIssue({ code: 'custom', message: '"refine" applies to io "waveform" models only' });
    if (m.refine && (m.refine.hop > m.refine.nFft || m.refine.nFft >= m.segment.samples))
      ctx.addIssue({ code: 'custom', message: 'refine needs hop ≤ nFft < segment.samples' });
    checkResidual(m, ctx);
  });

/**
 * One stage of a cascade: an installed model (any origin and io family, not itself a cascade) and
 * the stems of it the cascade keeps. Stage k separates the mixture minus every stem kept by the
 * stages before it.
 */
export const CascadeStageSchema = z.object({
  model: ModelIdSchema,
  keep: z.array(StemNameSchema).min(1),
});
export type CascadeStage = z.infer<typeof CascadeStageSchema>;

const notForCascade = (field: string) =>
  z.never({ error: `"${field}" does not apply to a cascade (each stage model has its own)` }).optional();

/**
 * A pipeline of installed models run as one model: `stems` are the kept stems in stage order;
 * `residual` (optional) is re-derived at the end as mixture − Σ(other stems), so the stems sum
 * exactly to the input. `params` is the stages' sum; `realtimeFactor` is the cascade's own.
 */
export const CascadeManifestSchema = z
  .object({
    ...commonFields,
    io: z.literal('cascade'),
    cascade: z.object({ stages: z.array(CascadeStageSchema).min(2) }),
    files: notForCascade('files'),
    segment: notForCascade('segment'),
    tensors: notForCascade('tensors'),
    stft: notForCascade('stft'),
    magnitude: notForCascade('magnitude'),
    mdx: notForCascade('mdx'),
    refine: notForCascade('refine'),
    normalize: notForCascade('normalize'),
  })
  .superRefine((m, ctx) => {
    const kept = m.cascade.stages.flatMap((s) => s.keep);
    const dup = kept.find((s, i) => kept.indexOf(s) !== i);
    if (dup) ctx.addIssue({ code: 'custom', path: ['cascade', 'stages'], message: `stem "${dup}" is kept by more than one stage` });
    else if (kept.join(',') !== m.stems.join(','))
      ctx.addIssue({ code: 'custom', path: ['stems'], message: `a cascade's stems are its stages' kept stems in order (${kept.join(', ')})` });
    if (m.cascade.stages.some((s) => s.model === m.id))
      ctx.addIssue({ code: 'custom', path: ['cascade', 'stages'], message: 'a cascade cannot be a stage of itself' });
    checkResidual(m, ctx);
  });

/** Every model manifest: one ONNX model, or a cascade of installed models (by `io`). */
export const ModelManifestSchema = z.discriminatedUnion('io', [OnnxModelManifestSchema, CascadeManifestSchema]);

export type ModelManifest = z.infer<typeof ModelManifestSchema>;
/** A manifest of one ONNX model (every io family but "cascade"). */
export type OnnxModelManifest = z.infer<typeof OnnxModelManifestSchema>;
export type CascadeManifest = z.infer<typeof CascadeManifestSchema>;
/** Every value of `io`: the ONNX families and "cascade". */
export type ManifestIo = ModelManifest['io'];

export function isCascade(m: ModelManifest): m is CascadeManifest {
  return m.io === 'cascade';
}

/** Validates a manifest that must be a single ONNX model (catalogue entries, imports). */
export function parseOnnxManifest(raw: unknown): OnnxModelManifest {
  return OnnxModelManifestSchema.parse(raw);
}
