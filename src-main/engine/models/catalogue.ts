/**
 * The catalogue of downloadable models (resources/catalogue.json) and UVR's MDX-Net
 * parameter table, one zod schema each; types derived from them.
 *
 * A catalogue entry carries everything needed to build the model's manifest
 * (src-main/engine/manifest.ts) once its file is downloaded and verified:
 * `contract` is the manifest minus id/name/files/licence, see `manifestForEntry`.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { appRoot } from '../paths.js';
import { IoFamilySchema, StemNameSchema, parseOnnxManifest, type OnnxModelManifest } from '../manifest.js';
import { StemdeckError } from '../errors.js';

const Sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'sha256 is 64 lower-case hex digits');
const Md5 = z.string().regex(/^[0-9a-f]{32}$/, 'md5 is 32 lower-case hex digits');

export const MdxParamsSchema = z.object({
  nFft: z.number().int().positive(),
  dimF: z.number().int().positive(),
  dimT: z.number().int().positive(),
  compensate: z.number().positive(),
  primary: StemNameSchema,
  secondary: StemNameSchema,
});
export type MdxParams = z.infer<typeof MdxParamsSchema>;

/** The manifest fields a catalogue entry fixes in advance (everything but identity, files and licence). */
export const ContractSchema = z.object({
  io: IoFamilySchema,
  sampleRate: z.number().int().positive(),
  channels: z.number().int().min(1).max(2),
  stems: z.array(StemNameSchema).min(1),
  residual: StemNameSchema.optional(),
  segment: z.object({ samples: z.number().int().positive(), overlap: z.number().min(0).max(0.9) }),
  tensors: z.object({ input: z.string().min(1), output: z.string().min(1) }),
  mdx: MdxParamsSchema.optional(),
  normalize: z.enum(['none', 'mixture-std']).optional(),
});
export type Contract = z.infer<typeof ContractSchema>;

export const CatalogueEntrySchema = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/),
  name: z.string().min(1),
  description: z.string().min(1),
  architecture: z.string().min(1),
  stems: z.array(StemNameSchema).min(1),
  /**
   * https (the shipped catalogue: all https, checked by a test). http is accepted here only for
   * loopback addresses (test catalogues); the downloader still refuses it unless the caller passes
   * allowLoopbackHttp, which the CLI and the app never do.
   */
  url: z
    .string()
    .url()
    .refine((u) => u.startsWith('https://') || /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])[:/]/.test(u), 'catalogue URLs must be https'),
  /** File name inside the installed model's folder. */
  file: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*\.onnx$/),
  sha256: Sha256,
  bytes: z.number().int().positive(),
  /** UVR's own file hash (md5 of the last 10,000 KiB); checked after the sha256 when present. */
  uvrHash: Md5.optional(),
  license: z.string().min(1),
  /** Shown to the user, who must accept it before the download starts. */
  terms: z.string().min(1),
  homepage: z.string().url().optional(),
  contract: ContractSchema,
  /** Where each value came from (field → source), for reviewers and the Models page. */
  provenance: z.record(z.string(), z.string()),
});
export type CatalogueEntry = z.infer<typeof CatalogueEntrySchema>;

export const UvrMdxRowSchema = z.object({
  nFft: z.number().int().positive(),
  dimF: z.number().int().positive(),
  dimT: z.number().int().positive(),
  compensate: z.number().positive(),
  /** UVR's stem label, e.g. "Vocals", "Instrumental", "No Crowd". */
  primaryStem: z.string().min(1),
  isKaraoke: z.boolean().optional(),
});
export type UvrMdxRow = z.infer<typeof UvrMdxRowSchema>;

export const CatalogueSchema = z
  .object({
    $comment: z.string().optional(),
    version: z.literal(1),
    models: z.array(CatalogueEntrySchema),
    uvrMdxParameters: z.object({ $comment: z.string().optional(), rows: z.record(Md5, UvrMdxRowSchema) }),
  })
  .superRefine((c, ctx) => {
    const ids = new Set<string>();
    for (const m of c.models) {
      if (ids.has(m.id)) ctx.addIssue({ code: 'custom', message: `duplicate catalogue id ${m.id}` });
      ids.add(m.id);
      if (m.contract.stems.join() !== m.stems.join())
        ctx.addIssue({ code: 'custom', message: `${m.id}: stems and contract.stems differ` });
      if (m.contract.io === 'mdx-net' && !m.contract.mdx)
        ctx.addIssue({ code: 'custom', message: `${m.id}: mdx-net needs contract.mdx` });
    }
  });
export type Catalogue = z.infer<typeof CatalogueSchema>;

export function catalogueFile(): string {
  return process.env.STEMDECK_CATALOGUE
    ? path.resolve(process.env.STEMDECK_CATALOGUE)
    : path.join(appRoot(), 'resources', 'catalogue.json');
}

let cached: { file: string; catalogue: Catalogue } | null = null;

/** Reads and validates the catalogue (cached per file path). */
export function loadCatalogue(file = catalogueFile()): Catalogue {
  if (cached && cached.file === file) return cached.catalogue;
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new StemdeckError('internal', `The model catalogue ${file} cannot be read; reinstall Stemdeck.`, { cause: e });
  }
  const parsed = CatalogueSchema.safeParse(raw);
  if (!parsed.success)
    throw new StemdeckError('internal', `The model catalogue ${file} is invalid: ${parsed.error.issues[0]?.message ?? ''}`);
  cached = { file, catalogue: parsed.data };
  return parsed.data;
}

export function findCatalogueEntry(id: string, catalogue = loadCatalogue()): CatalogueEntry {
  const entry = catalogue.models.find((m) => m.id === id);
  if (!entry) {
    const ids = catalogue.models.map((m) => m.id).join(', ');
    throw new StemdeckError('model-unknown', `No downloadable model "${id}". Available: ${ids}.`);
  }
  return entry;
}

/** The manifest of an installed catalogue model (validated). */
export function manifestForEntry(entry: CatalogueEntry, overrides: Partial<Contract> = {}): OnnxModelManifest {
  const contract = { ...entry.contract, ...overrides };
  return parseOnnxManifest({
    ...contract,
    id: entry.id,
    name: entry.name,
    description: entry.description,
    architecture: entry.architecture,
    files: [{ path: entry.file, sha256: entry.sha256, bytes: entry.bytes }],
    trained: true,
    params: 0,
    license: entry.license,
    source: entry.homepage ? `${entry.url} (${entry.homepage})` : entry.url,
  });
}

/** UVR stem label → Stemdeck stem names (primary, secondary), as UVR pairs them. */
export function uvrStemNames(row: UvrMdxRow): { primary: string; secondary: string } {
  const label = row.primaryStem.toLowerCase();
  if (row.isKaraoke)
    return label === 'vocals'
      ? { primary: 'lead_vocals', secondary: 'karaoke' }
      : { primary: 'karaoke', secondary: 'lead_vocals' };
  switch (label) {
    case 'vocals':
      return { primary: 'vocals', secondary: 'instrumental' };
    case 'instrumental':
      return { primary: 'instrumental', secondary: 'vocals' };
    case 'no crowd':
      return { primary: 'no_crowd', secondary: 'crowd' };
    default: {
      const name = label.replace(/[^a-z0-9]+/g, '_');
      return { primary: name, secondary: `no_${name}` };
    }
  }
}

/**
 * MDX-Net segmenting: UVR's chunk of hop·(dimT − 1) samples. The manifest's own overlap value
 * stands for UVR's "Default" overlap (adapters/mdx.ts placement(): step = chunk − nFft, Hann
 * blend); only an overlap the user gives is used as a fraction (UVR's numeric overlaps).
 */
export function mdxSegment(p: { nFft: number; dimT: number }): { samples: number; overlap: number } {
  const samples = 1024 * (p.dimT - 1);
  return { samples, overlap: Math.min(0.9, Math.ceil(((3 * p.nFft) / samples) * 1e4) / 1e4) };
}

export function lookupUvrHash(hash: string, catalogue = loadCatalogue()): UvrMdxRow | undefined {
  return catalogue.uvrMdxParameters.rows[hash];
}
