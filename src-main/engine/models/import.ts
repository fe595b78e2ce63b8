/**
 * Import a local .onnx: its contract is detected from its input/output names and shapes (ONNX
 * Runtime session metadata), UVR MDX-Net files are recognised by UVR's own hash (md5 of the last
 * 10,000 KiB, `file_size − 10000·1024` offset; the whole file when smaller) and get their
 * parameters from UVR's table (resources/catalogue.json `uvrMdxParameters`); otherwise the user
 * supplies the few parameters needed (MDX-Net: nFft, compensate, primary stem; Demucs-style with
 * other than 4/6 stems: stem names). Incompatible files are refused with
 * StemdeckError('model-contract') saying why.
 *
 * Recognised contracts (B = batch, fixed 1 or symbolic):
 *   htdemucs  input [B, 2, N] → output [B, S, 2, N]   (Demucs-style waveform; S = 4: drums, bass,
 *             other, vocals; S = 6 adds guitar, piano) — segment N, 25 % overlap, mixture-std.
 *             The output dims may be symbolic (Mixxx's export declares [Addoutput_dim_0..3]); the
 *             stems then come from `--stems`, else from the catalogue entry with the same
 *             contract (io htdemucs, segment N, tensor names), as its catalogue install would.
 *   mdx-net   input [B, 4, F, T] → output [B, 4, F, T] (UVR MDX-Net; F = dimF, T = dimT).
 * A file whose sha256 equals a catalogue entry's is installed as that entry (same id, terms, licence).
 *
 * The copy is installed like a download: free space checked, copied into a staging folder with
 * its manifest, renamed to <models>/<id>; the user's file is left where it was.
 *
 * A cascade manifest (.json, io "cascade") is imported by importCascade: validated with
 * CascadeManifestSchema, its stages checked against the installed models (registry
 * cascadeStages), its id refused when taken, then installed as <models>/<id>/manifest.json the
 * same atomic way.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { StemdeckError } from '../errors.js';
import { CascadeManifestSchema, ModelIdSchema, StemNameSchema, parseOnnxManifest, type CascadeManifest, type OnnxModelManifest } from '../manifest.js';
import { userModelsDir } from '../paths.js';
import { ort } from '../onnx.js';
import {
  type Catalogue,
  type CatalogueEntry,
  type Contract,
  type UvrMdxRow,
  loadCatalogue,
  lookupUvrHash,
  manifestForEntry,
  mdxSegment,
  uvrStemNames,
} from './catalogue.js';
import { alreadyInstalled, defaultFreeSpace, installFiles, sha256File, uvrModelHash } from './download.js';
import { cascadeStages, cascadesUsing, formatZodError, installed, loadRegistry, type CascadeModel, type OnnxModel } from '../registry.js';

export interface TensorInfo {
  name: string;
  type: string;
  /** Numbers for fixed dims, strings for symbolic ones; [] when unknown. */
  shape: Array<number | string>;
}

export interface OnnxIo {
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/** Parameters the user may give (CLI flags / the app's import dialog). */
export const ImportParamsSchema = z.object({
  id: ModelIdSchema.optional(),
  name: z.string().min(1).optional(),
  /** MDX-Net: the model's n_fft (4096–16384). Required unless UVR's table knows the file. */
  nFft: z.number().int().min(256).max(32768).optional(),
  /** MDX-Net: primary-stem gain (UVR "compensate"); default 1. */
  compensate: z.number().positive().max(4).optional(),
  /** MDX-Net: the stem the model outputs (default vocals) and the rest (default derived). */
  primary: StemNameSchema.optional(),
  secondary: StemNameSchema.optional(),
  /** Demucs-style: stem names in output order (needed when S is not 4 or 6). */
  stems: z.array(StemNameSchema).min(1).optional(),
  license: z.string().min(1).optional(),
});
export type ImportParams = z.infer<typeof ImportParamsSchema>;

export interface ImportOptions {
  params?: ImportParams;
  modelsDir?: string;
  replace?: boolean;
  freeSpace?: (dir: string) => Promise<number>;
  catalogue?: Catalogue;
}

export interface ImportResult {
  id: string;
  dir: string;
  manifest: OnnxModelManifest;
  /** How the contract was determined. */
  detectedBy: 'catalogue-sha256' | 'uvr-hash' | 'shapes' | 'shapes+params' | 'shapes+catalogue';
  uvrHash: string;
}

const DEMUCS_STEMS: Record<number, string[]> = {
  4: ['drums', 'bass', 'other', 'vocals'],
  6: ['drums', 'bass', 'other', 'vocals', 'guitar', 'piano'],
};

function shapeText(t: TensorInfo): string {
  return `${t.name} ${t.type} [${t.shape.length ? t.shape.join(', ') : '?'}]`;
}

/**
 * A refusal that more parameters would fix: `needs` names the ImportParams fields to ask the
 * user for (the app's import dialog shows them; the CLI message names the flags).
 */
export class ImportNeedsParamsError extends StemdeckError {
  constructor(
    message: string,
    readonly needs: Array<keyof ImportParams>,
  ) {
    super('model-contract', message);
  }
}

function refuse(file: string, io: OnnxIo, why: string, needs?: Array<keyof ImportParams>): never {
  const ins = io.inputs.map(shapeText).join('; ');
  const outs = io.outputs.map(shapeText).join('; ');
  const message =
    `${path.basename(file)} cannot be used: ${why} (it takes ${ins || 'nothing'} and returns ${outs || 'nothing'}). ` +
    'Stemdeck runs Demucs-style waveform models [B, 2, N] → [B, S, 2, N] and UVR MDX-Net models [B, 4, F, T] → [B, 4, F, T].';
  if (needs) throw new ImportNeedsParamsError(message, needs);
  throw new StemdeckError('model-contract', message);
}

/** Reads input/output names, dtypes and shapes from the file via ONNX Runtime. */
export async function inspectOnnx(file: string): Promise<OnnxIo> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, { graphOptimizationLevel: 'disabled' });
  } catch (e) {
    throw new StemdeckError(
      'model-corrupt',
      `${path.basename(file)} is not a readable ONNX model (${(e as Error).message.split('\n')[0]}). Pick an .onnx file exported for ONNX Runtime.`,
      { cause: e },
    );
  }
  try {
    const conv = (m: ort.InferenceSession.ValueMetadata): TensorInfo =>
      m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: 'non-tensor', shape: [] };
    return { inputs: session.inputMetadata.map(conv), outputs: session.outputMetadata.map(conv) };
  } finally {
    await session.release().catch(() => undefined);
  }
}

const isBatch = (d: number | string | undefined): boolean => typeof d === 'string' || d === 1 || d === -1;
const num = (d: number | string | undefined): number | null => (typeof d === 'number' && d > 0 ? d : null);

export interface DetectedContract {
  contract: Contract;
  architecture: string;
  detectedBy: ImportResult['detectedBy'];
}

/**
 * The contract of a file from its I/O (pure; throws StemdeckError('model-contract')).
 * `uvr` is the UVR table row for the file's UVR hash, when there is one; `catalogueStems` the
 * stems of the catalogue entry with this file's contract (stemsFromCatalogue), used when the file
 * does not fix its stem count.
 */
export function detectContract(file: string, io: OnnxIo, params: ImportParams = {}, uvr?: UvrMdxRow, catalogueStems?: string[]): DetectedContract {
  if (io.inputs.length !== 1 || io.outputs.length !== 1)
    refuse(file, io, `it has ${io.inputs.length} input(s) and ${io.outputs.length} output(s), Stemdeck needs exactly one of each`);
  const inp = io.inputs[0];
  const out = io.outputs[0];
  if (inp.type !== 'float32' || out.type !== 'float32') refuse(file, io, 'its tensors are not float32');
  const a = inp.shape;
  const b = out.shape;
  const tensors = { input: inp.name, output: out.name };

  // Demucs-style waveform: [B, 2, N] → [B, S, 2, N]; output dims may be symbolic (Mixxx's export)
  const free = (d: number | string | undefined): boolean => typeof d === 'string';
  if (a.length === 3 && b.length === 4 && isBatch(a[0]) && isBatch(b[0]) && a[1] === 2 && (b[2] === 2 || free(b[2]))) {
    const n = num(a[2]);
    if (n === null || (num(b[3]) ?? (free(b[3]) ? n : null)) !== n)
      refuse(file, io, 'its segment length is not a fixed number of samples equal on input and output');
    const s = num(b[1]);
    const stems = params.stems ?? (s === null ? catalogueStems : DEMUCS_STEMS[s]);
    if (!stems)
      refuse(
        file,
        io,
        s === null
          ? 'its number of stems is symbolic and no catalogue model has its contract; give the stem names in output order (--stems drums,bass,other,vocals)'
          : `it returns ${s} stems; give their names in output order (--stems a,b,c)`,
        ['stems'],
      );
    if (s !== null && stems.length !== s) refuse(file, io, `it returns ${s} stems but ${stems.length} names were given`);
    return {
      architecture: 'htdemucs',
      detectedBy: params.stems ? 'shapes+params' : s === null ? 'shapes+catalogue' : 'shapes',
      contract: { io: 'htdemucs', sampleRate: 44100, channels: 2, stems, segment: { samples: n, overlap: 0.25 }, tensors, normalize: 'mixture-std' },
    };
  }

  // UVR MDX-Net: [B, 4, F, T] → [B, 4, F, T]
  if (a.length === 4 && b.length === 4 && isBatch(a[0]) && isBatch(b[0]) && a[1] === 4 && b[1] === 4) {
    const dimF = num(a[2]) ?? uvr?.dimF ?? null;
    const dimT = num(a[3]) ?? uvr?.dimT ?? null;
    if (dimF === null || dimT === null) refuse(file, io, 'its frequency/time dimensions are not fixed');
    if ((num(b[2]) ?? dimF) !== dimF || (num(b[3]) ?? dimT) !== dimT) refuse(file, io, 'its output spectrogram has another size than its input');
    // The file's own frame count wins over the table's dimT (UVR runs the ONNX session only when
    // its segment size equals the file's T); a different dimF means the table row is not this file's.
    if (uvr && uvr.dimF !== dimF)
      refuse(file, io, `UVR's table says dimF ${uvr.dimF} for this file's hash, but the file has ${dimF} frequency bins`);
    let nFft: number;
    let compensate: number;
    let primary: string;
    let secondary: string;
    let detectedBy: ImportResult['detectedBy'];
    if (uvr) {
      const names = uvrStemNames(uvr);
      nFft = params.nFft ?? uvr.nFft;
      compensate = params.compensate ?? uvr.compensate;
      primary = params.primary ?? names.primary;
      secondary = params.secondary ?? (params.primary ? `no_${params.primary}` : names.secondary);
      detectedBy = 'uvr-hash';
    } else {
      if (params.nFft === undefined)
        refuse(file, io, `it is shaped like a UVR MDX-Net model (dimF ${dimF}, dimT ${dimT}) but is not in UVR's table; give its n_fft (--n-fft, e.g. 6144 or 7680) and, if known, --compensate and --primary`, ['nFft', 'compensate', 'primary']);
      nFft = params.nFft;
      compensate = params.compensate ?? 1;
      primary = params.primary ?? 'vocals';
      secondary = params.secondary ?? (primary === 'vocals' ? 'instrumental' : primary === 'instrumental' ? 'vocals' : `no_${primary}`);
      detectedBy = 'shapes+params';
    }
    if (dimF > nFft / 2 + 1) refuse(file, io, `its ${dimF} frequency bins do not fit n_fft ${nFft} (at most ${nFft / 2 + 1})`);
    if (primary === secondary) refuse(file, io, 'primary and secondary stems must differ');
    return {
      architecture: 'mdx-net',
      detectedBy,
      contract: {
        io: 'mdx-net',
        sampleRate: 44100,
        channels: 2,
        stems: [primary, secondary],
        segment: mdxSegment({ nFft, dimT }),
        tensors,
        mdx: { nFft, dimF, dimT, compensate, primary, secondary },
      },
    };
  }
  refuse(file, io, 'its input and output shapes match no contract Stemdeck can run');
}

/**
 * The stems of the catalogue's Demucs-style entries whose contract this file has (io htdemucs,
 * the same segment length and tensor names), when they all agree; else undefined.
 */
export function stemsFromCatalogue(io: OnnxIo, catalogue: Catalogue): string[] | undefined {
  const inp = io.inputs[0];
  const out = io.outputs[0];
  if (io.inputs.length !== 1 || io.outputs.length !== 1 || inp.shape.length !== 3) return undefined;
  const n = num(inp.shape[2]);
  const matches = catalogue.models.filter(
    (m) => m.contract.io === 'htdemucs' && m.contract.segment.samples === n && m.contract.tensors.input === inp.name && m.contract.tensors.output === out.name,
  );
  const kinds = new Set(matches.map((m) => m.contract.stems.join(',')));
  return kinds.size === 1 ? [...matches[0].contract.stems] : undefined;
}

/** The import parameters a catalogue entry's contract implies (so detection needs no user input). */
export function entryImportParams(entry: CatalogueEntry): ImportParams {
  const mdx = entry.contract.mdx;
  return mdx
    ? { nFft: mdx.nFft, compensate: mdx.compensate, primary: mdx.primary, secondary: mdx.secondary }
    : { stems: entry.contract.stems };
}

function slug(file: string): string {
  const base = path
    .basename(file, path.extname(file))
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .slice(0, 101) // ModelIdSchema's length cap
    .replace(/-+$/, '');
  return base || 'imported-model';
}

/** Imports (copies and installs) a local .onnx; see the file comment. */
export async function importModel(file: string, opts: ImportOptions = {}): Promise<ImportResult> {
  const params = ImportParamsSchema.parse(opts.params ?? {});
  const abs = path.resolve(file);
  const st = await fs.stat(abs).catch(() => null);
  if (!st || !st.isFile()) throw new StemdeckError('input-missing', `${file} does not exist or is not a file; pick an .onnx model file.`);
  if (!/\.onnx$/i.test(abs)) throw new StemdeckError('model-contract', `${path.basename(abs)} is not an .onnx file; Stemdeck imports ONNX models only.`);
  const catalogue = opts.catalogue ?? loadCatalogue();
  const modelsDir = opts.modelsDir ?? userModelsDir();

  const [sha256, uvrHash] = await Promise.all([sha256File(abs), uvrModelHash(abs)]);
  const io = await inspectOnnx(abs);

  let manifest: OnnxModelManifest;
  let detectedBy: ImportResult['detectedBy'];
  const known = catalogue.models.find((m) => m.sha256 === sha256 && m.bytes === st.size);
  if (known) {
    const detected = detectContract(abs, io, entryImportParams(known), known.uvrHash ? lookupUvrHash(known.uvrHash, catalogue) : undefined);
    manifest = manifestForEntry(known, { tensors: detected.contract.tensors });
    detectedBy = 'catalogue-sha256';
  } else {
    const uvr = lookupUvrHash(uvrHash, catalogue);
    const detected = detectContract(abs, io, params, uvr, stemsFromCatalogue(io, catalogue));
    detectedBy = detected.detectedBy;
    const id = params.id ?? slug(abs);
    manifest = parseOnnxManifest({
      ...detected.contract,
      id,
      name: params.name ?? path.basename(abs, path.extname(abs)),
      description: `Imported from ${path.basename(abs)}${uvr ? ' (recognised by its UVR hash)' : ''}.`,
      architecture: detected.architecture,
      files: [{ path: path.basename(abs).replace(/[^A-Za-z0-9._-]/g, '_'), sha256, bytes: st.size }],
      trained: true,
      params: 0,
      license: params.license ?? 'unknown (imported by the user)',
      source: `imported from ${abs}`,
    });
  }

  const free = await (opts.freeSpace ?? defaultFreeSpace)(await existingParent(modelsDir));
  if (free < st.size + 16 * 1024 * 1024)
    throw new StemdeckError(
      'disk-full',
      `Not enough free space to import ${path.basename(abs)}: it needs ${Math.ceil((st.size + 16e6) / 1e6)} MB in ${modelsDir}, ${Math.floor(free / 1e6)} MB are free.`,
    );
  await fs.mkdir(modelsDir, { recursive: true });
  const dir = await installFiles(modelsDir, manifest, abs, { moveFile: false, replace: opts.replace });
  return { id: manifest.id, dir, manifest, detectedBy, uvrHash };
}

/** Whether `file` is imported as a cascade manifest (a .json) rather than as an .onnx model. */
export function isCascadeFile(file: string): boolean {
  return /\.json$/i.test(file);
}

export interface CascadeImportResult {
  id: string;
  dir: string;
  manifest: CascadeManifest;
  /** Its stage models in order, as checked by the registry (cascadeStages). */
  stages: OnnxModel[];
}

/**
 * Imports a cascade manifest (.json): validated with CascadeManifestSchema (`params` may set
 * id, name, licence), its stage models checked by the registry's cascadeStages (installed, single
 * models, same rate and channels, having the kept stems), refused when its id is an installed
 * model's (a user model's is replaced with `replace`, unless another cascade uses it as a stage;
 * a bundled one never), then written to <modelsDir>/<id>/manifest.json atomically (installFiles).
 * Nothing is installed when it is refused.
 */
export async function importCascade(file: string, opts: ImportOptions = {}): Promise<CascadeImportResult> {
  const params = ImportParamsSchema.parse(opts.params ?? {});
  const abs = path.resolve(file);
  const base = path.basename(abs);
  const what = 'a cascade manifest is a JSON object with "io": "cascade" and "cascade": {"stages": […]} (see the README, "Cascades")';
  let text: string;
  try {
    text = await fs.readFile(abs, 'utf8');
  } catch {
    throw new StemdeckError('input-missing', `${file} does not exist or cannot be read; pick an .onnx model or a cascade manifest .json.`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new StemdeckError('model-contract', `${base} is not valid JSON (${(e as Error).message}); ${what}.`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new StemdeckError('model-contract', `${base} is not a JSON object; ${what}.`);
  const io = (raw as { io?: unknown }).io;
  if (io !== 'cascade')
    throw new StemdeckError(
      'model-contract',
      `${base} is not a cascade manifest ("io" is ${io === undefined ? 'missing' : JSON.stringify(io)}). Stemdeck imports .onnx models and cascade manifests; ${what}.`,
    );
  const onnxOnly = (['nFft', 'compensate', 'primary', 'secondary', 'stems'] as const).filter((k) => params[k] !== undefined);
  if (onnxOnly.length)
    throw new StemdeckError('invalid-request', `${onnxOnly.join(', ')} ${onnxOnly.length > 1 ? 'do' : 'does'} not apply to a cascade; its stage models have their own parameters.`);
  const parsed = CascadeManifestSchema.safeParse({
    ...raw,
    ...(params.id ? { id: params.id } : {}),
    ...(params.name ? { name: params.name } : {}),
    ...(params.license ? { license: params.license } : {}),
  });
  if (!parsed.success) throw new StemdeckError('model-contract', `${base} is not a valid cascade manifest (${formatZodError(parsed.error)}).`);
  const manifest = parsed.data;
  const id = manifest.id;
  const modelsDir = opts.modelsDir ?? userModelsDir();
  const registry = await loadRegistry(modelsDir);

  const taken = registry.list().find((m) => m.manifest.id === id);
  if (taken?.origin === 'bundled')
    throw new StemdeckError('invalid-request', `A model "${id}" is already installed (bundled with Stemdeck, it cannot be removed); give the cascade another id.`);
  if (taken && !opts.replace) throw alreadyInstalled(id);
  const users = taken ? cascadesUsing(id, registry).map((c) => c.manifest.id) : [];
  if (users.length)
    throw new StemdeckError(
      'invalid-request',
      `Model "${id}" is a stage of the cascade${users.length > 1 ? 's' : ''} ${users.map((u) => `"${u}"`).join(', ')}, and a cascade cannot be a stage; give this cascade another id.`,
    );

  const stages = cascadeStages(installed(manifest, path.dirname(abs), abs, 'user') as CascadeModel, registry);
  await fs.mkdir(modelsDir, { recursive: true });
  const dir = await installFiles(modelsDir, manifest, null, { moveFile: false, replace: opts.replace });
  return { id, dir, manifest, stages };
}

/**
 * A bare .onnx used directly (e.g. `stemdeck separate --model file.onnx`) without installing it:
 * its contract is detected as by importModel (catalogue sha256, UVR hash, shapes, `params`),
 * and the manifest lives in memory only. Refuses like importModel.
 */
export async function modelForOnnxFile(file: string, params: ImportParams = {}, catalogue = loadCatalogue()): Promise<OnnxModel> {
  const abs = path.resolve(file);
  const st = await fs.stat(abs).catch(() => null);
  if (!st || !st.isFile()) throw new StemdeckError('model-unknown', `Model file not found: "${file}".`);
  const [sha256, uvrHash] = await Promise.all([sha256File(abs), uvrModelHash(abs)]);
  const io = await inspectOnnx(abs);
  const known = catalogue.models.find((m) => m.sha256 === sha256 && m.bytes === st.size);
  let manifest: OnnxModelManifest;
  if (known) {
    const detected = detectContract(abs, io, entryImportParams(known), known.uvrHash ? lookupUvrHash(known.uvrHash, catalogue) : undefined);
    manifest = { ...manifestForEntry(known, { tensors: detected.contract.tensors }), files: [{ path: path.basename(abs), sha256, bytes: st.size }] };
  } else {
    const uvr = lookupUvrHash(uvrHash, catalogue);
    const detected = detectContract(abs, io, params, uvr, stemsFromCatalogue(io, catalogue));
    manifest = parseOnnxManifest({
      ...detected.contract,
      id: params.id ?? slug(abs),
      name: params.name ?? path.basename(abs, path.extname(abs)),
      architecture: detected.architecture,
      files: [{ path: path.basename(abs), sha256, bytes: st.size }],
      trained: true,
      params: 0,
      license: params.license ?? 'unknown',
      source: abs,
    });
  }
  return { manifest, dir: path.dirname(abs), manifestPath: abs, origin: 'user' };
}

async function existingParent(dir: string): Promise<string> {
  let d = path.resolve(dir);
  for (;;) {
    if (await fs.stat(d).then((s) => s.isDirectory(), () => false)) return d;
    const up = path.dirname(d);
    if (up === d) return d;
    d = up;
  }
}
