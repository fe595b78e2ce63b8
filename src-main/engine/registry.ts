/**
 * The model registry: bundled models (resources/models/*.json, default id in
 * resources/models/index.json {"default": "<id>"}) merged with the user's models
 * (userModelsDir(): <dir>/*.json or <dir>/<folder>/manifest.json or <dir>/<folder>/<id>.json).
 * A user model with the same id as a bundled one wins. Manifests are validated with
 * ModelManifestSchema; invalid ones are listed in `problems` and refused by `get`. A default that
 * index.json names but that is broken or missing stays the default (`defaultProblem` says why):
 * never another model in its place.
 * Model files are verified before use: inside the model's folder (symlinks resolved), regular
 * files, of the manifest's size (checked before hashing), then sha256; the hash check is cached per
 * (path, size, mtime) in memory and in <appData>/model-hashes.json, so it is cheap after the first time.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { ModelManifestSchema, isCascade, type CascadeManifest, type ModelManifest, type OnnxModelManifest } from './manifest.js';
import { StemdeckError } from './errors.js';
import { appDataDir, bundledModelsDir, userModelsDir } from './paths.js';
import { loadCatalogue } from './models/catalogue.js';

interface InstalledModelOf<M extends ModelManifest> {
  manifest: M;
  /** Folder holding the manifest; `files[].path` are relative to it. */
  dir: string;
  manifestPath: string;
  origin: 'bundled' | 'user';
}

export interface RegistryProblem {
  manifestPath: string;
  message: string;
  /** The manifest's "id" when it could be read (to name the model it breaks). */
  id?: string;
}

export interface ModelRegistry {
  list(): InstalledModel[];
  /** By id, or by a path to a manifest .json or to an .onnx file with a manifest beside it. */
  get(idOrPath: string): InstalledModel;
  /** By installed id only (never a path: a cascade's stage ids must not reach the file system). */
  getInstalled(id: string): InstalledModel;
  /** The default model's id (index.json's, even when that model is broken; see defaultProblem). */
  readonly defaultId: string | null;
  /** Why the default model cannot be used (its manifest broken or missing), or null. */
  readonly defaultProblem: string | null;
  readonly problems: RegistryProblem[];
  /** The invalid manifest of the model `id` (by its "id", folder or file name), if any. */
  problemOf(id: string): RegistryProblem | undefined;
}

/** An installed model that is one ONNX graph. */
export type OnnxModel = InstalledModelOf<OnnxModelManifest>;
/** An installed cascade: a pipeline of other installed models (manifest io "cascade"). */
export type CascadeModel = InstalledModelOf<CascadeManifest>;
/** A model of the registry (bundled or user's): one ONNX model or a cascade. */
export type InstalledModel = OnnxModel | CascadeModel;

/** An InstalledModel of a validated manifest (its type follows the manifest's io). */
export function installed(manifest: ModelManifest, dir: string, manifestPath: string, origin: InstalledModel['origin']): InstalledModel {
  return { manifest, dir, manifestPath, origin } as InstalledModel;
}

export function isCascadeModel(model: InstalledModel): model is CascadeModel {
  return isCascade(model.manifest);
}

/** The model's files (none for a cascade, whose stages have their own). */
export function manifestFiles(m: ModelManifest): OnnxModelManifest['files'] {
  return isCascade(m) ? [] : m.files;
}

/** Absolute path of a model's main ONNX file (files[0]). */
export function modelFile(model: OnnxModel, index = 0): string {
  return path.resolve(model.dir, model.manifest.files[index].path);
}

/** The first issues of a zod error as "path: message; …" (for one-line errors). */
export function formatZodError(e: unknown): string {
  const issues = (e as { issues?: { path: (string | number)[]; message: string }[] }).issues;
  if (!issues) return String(e);
  return issues
    .slice(0, 3)
    .map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}

const REINSTALL_USER = 'Re-install or re-import the model.';
const REINSTALL_BUNDLED = 'It is bundled with Stemdeck: reinstall Stemdeck to restore it.';

/** Reads and validates one manifest file; throws StemdeckError('model-corrupt') ending with `hint` (what to do). */
export function readManifest(file: string, hint = REINSTALL_USER): ModelManifest {
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new StemdeckError('model-corrupt', `The model manifest "${file}" cannot be read (${(e as Error).message}). ${hint}`, { cause: e });
  }
  const r = ModelManifestSchema.safeParse(raw);
  if (!r.success) throw new StemdeckError('model-corrupt', `The model manifest "${file}" is invalid (${formatZodError(r.error)}). ${hint}`);
  return r.data;
}

/** The "id" of a manifest that failed validation, when its JSON has one. */
function rawManifestId(file: string): string | undefined {
  try {
    const id = (JSON.parse(fs.readFileSync(file, 'utf8')) as { id?: unknown }).id;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

function isManifestCandidate(name: string): boolean {
  return name.endsWith('.json') && name !== 'index.json' && name !== 'catalogue.json' && !name.startsWith('.');
}

function looksLikeManifest(file: string): boolean {
  try {
    const j = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    return typeof j === 'object' && j !== null && 'io' in j && ('files' in j || 'cascade' in j);
  } catch {
    return true; // unreadable .json among models: report it as a problem
  }
}

function scan(dir: string, origin: InstalledModel['origin'], models: Map<string, InstalledModel>, problems: RegistryProblem[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  const files: string[] = [];
  for (const e of entries) {
    if (e.isFile() && isManifestCandidate(e.name)) files.push(path.join(dir, e.name));
    else if (e.isDirectory() && !e.name.startsWith('.')) {
      const sub = path.join(dir, e.name);
      let subEntries: string[] = [];
      try {
        subEntries = fs.readdirSync(sub);
      } catch {
        continue;
      }
      if (subEntries.includes('manifest.json')) files.push(path.join(sub, 'manifest.json'));
      else if (subEntries.includes(`${e.name}.json`)) files.push(path.join(sub, `${e.name}.json`));
    }
  }
  for (const f of files.sort()) {
    if (!looksLikeManifest(f)) continue;
    try {
      const manifest = readManifest(f, origin === 'bundled' ? REINSTALL_BUNDLED : REINSTALL_USER);
      models.set(manifest.id, installed(manifest, path.dirname(f), f, origin));
    } catch (e) {
      const id = rawManifestId(f);
      problems.push({ manifestPath: f, message: (e as Error).message, ...(id ? { id } : {}) });
    }
  }
}

function readDefaultId(dir: string): string | null {
  try {
    const j = JSON.parse(fs.readFileSync(path.join(dir, 'index.json'), 'utf8')) as { default?: unknown };
    return typeof j.default === 'string' ? j.default : null;
  } catch {
    return null;
  }
}

class Registry implements ModelRegistry {
  constructor(
    private readonly models: Map<string, InstalledModel>,
    readonly defaultId: string | null,
    readonly defaultProblem: string | null,
    readonly problems: RegistryProblem[],
  ) {}

  list(): InstalledModel[] {
    return [...this.models.values()].sort((a, b) => {
      if (a.manifest.id === this.defaultId) return -1;
      if (b.manifest.id === this.defaultId) return 1;
      if (a.origin !== b.origin) return a.origin === 'bundled' ? -1 : 1;
      return a.manifest.id.localeCompare(b.manifest.id);
    });
  }

  get(idOrPath: string): InstalledModel {
    const byId = this.models.get(idOrPath);
    if (byId) return byId;
    const looksLikePath = /[\\/]/.test(idOrPath) || /\.(json|onnx)$/i.test(idOrPath);
    if (looksLikePath && !this.isBrokenId(idOrPath)) return modelFromPath(idOrPath, this.models);
    return this.getInstalled(idOrPath);
  }

  getInstalled(id: string): InstalledModel {
    const found = this.models.get(id);
    if (found) return found;
    if (id === this.defaultId && this.defaultProblem) throw new StemdeckError('model-corrupt', this.defaultProblem);
    const problem = this.problemOf(id);
    if (problem) throw new StemdeckError('model-corrupt', problem.message);
    const known = [...this.models.keys()].join(', ') || 'none';
    throw new StemdeckError(
      'model-unknown',
      `Unknown model "${id}". Installed models: ${known}. Run \`stemdeck models list\`, or pass a path to a model manifest.`,
    );
  }

  problemOf(id: string): RegistryProblem | undefined {
    return this.problems.find(
      (p) => p.id === id || path.basename(path.dirname(p.manifestPath)) === id || path.basename(p.manifestPath, '.json') === id,
    );
  }

  private isBrokenId(id: string): boolean {
    return (id === this.defaultId && this.defaultProblem !== null) || this.problemOf(id) !== undefined;
  }
}

function modelFromPath(p: string, known: Map<string, InstalledModel>): InstalledModel {
  const abs = path.resolve(p);
  if (!fs.existsSync(abs))
    throw new StemdeckError('model-unknown', `Model file not found: "${p}". Check the path or use a model id from \`stemdeck models list\`.`);
  if (abs.toLowerCase().endsWith('.json')) {
    const manifest = readManifest(abs);
    return installed(manifest, path.dirname(abs), abs, 'user');
  }
  // An .onnx file: a registered model using it, or a manifest beside it that lists it.
  for (const m of known.values()) if (manifestFiles(m.manifest).some((f) => path.resolve(m.dir, f.path) === abs)) return m;
  const dir = path.dirname(abs);
  const candidates = [abs.replace(/\.onnx$/i, '.json'), path.join(dir, 'manifest.json')];
  try {
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.json')) candidates.push(path.join(dir, f));
  } catch {
    // unreadable folder: fall through
  }
  for (const c of candidates) {
    if (!fs.existsSync(c) || !looksLikeManifest(c)) continue;
    let manifest: ModelManifest;
    try {
      manifest = readManifest(c);
    } catch {
      continue;
    }
    if (manifestFiles(manifest).some((f) => path.resolve(dir, f.path) === abs)) return installed(manifest, dir, c, 'user');
  }
  throw new StemdeckError(
    'model-unknown',
    `"${p}" has no model manifest beside it. Import it in Stemdeck's model manager (which writes one) or pass the manifest .json.`,
  );
}

/**
 * Loads the registry (bundled + user models). Cheap: reads only manifests. `userDir` (default
 * userModelsDir()) is the user's models folder, for callers that manage another one.
 */
export async function loadRegistry(userDir: string = userModelsDir()): Promise<ModelRegistry> {
  const models = new Map<string, InstalledModel>();
  const problems: RegistryProblem[] = [];
  const bundled = bundledModelsDir();
  scan(bundled, 'bundled', models, problems);
  scan(userDir, 'user', models, problems);
  const named = readDefaultId(bundled);
  // index.json names the default: if it is broken or gone, say so; never switch to another model.
  const defaultId = named ?? [...models.values()].find((m) => m.origin === 'bundled')?.manifest.id ?? null;
  let defaultProblem: string | null = null;
  if (named && !models.has(named)) {
    const registry = new Registry(models, null, null, problems);
    const broken = registry.problemOf(named);
    const other = 'Until then, choose another model (`stemdeck separate --model ID`, see `stemdeck models list`; in the app, Settings).';
    defaultProblem = broken
      ? `The default model "${named}" cannot be used: ${broken.message} ${other}`
      : `The default model "${named}" (named in ${path.join(bundled, 'index.json')}) is not installed. Reinstall Stemdeck to restore it. ${other}`;
  }
  return new Registry(models, defaultId, defaultProblem, problems);
}

// ---- cascades ----

/** How to get a missing stage model, for the error message. */
function installHint(id: string): string {
  try {
    if (loadCatalogue().models.some((m) => m.id === id)) return `Install it with \`stemdeck models install ${id}\` (or from the Models page)`;
  } catch {
    // no catalogue: the generic hint
  }
  return `Install or import the model "${id}" (see \`stemdeck models list\`)`;
}

/**
 * The stage models of a cascade, checked: each installed, not itself a cascade, at the cascade's
 * sample rate and channel count, and having the stems the cascade keeps from it. Throws a
 * StemdeckError ('model-unknown' for a missing stage, 'model-contract' otherwise) that says what
 * to install or fix. Reads manifests only.
 */
export function cascadeStages(model: CascadeModel, registry: ModelRegistry): OnnxModel[] {
  const c = model.manifest;
  return c.cascade.stages.map((stage, k) => {
    let found: InstalledModel;
    try {
      found = registry.getInstalled(stage.model);
    } catch (e) {
      const damaged = e instanceof StemdeckError && e.code === 'model-corrupt';
      throw new StemdeckError(
        damaged ? 'model-corrupt' : 'model-unknown',
        `Model "${c.id}" is a cascade whose stage ${k + 1}, "${stage.model}", ${damaged ? `is damaged (${(e as Error).message})` : 'is not installed'}. ${installHint(stage.model)}, then try again.`,
        { cause: e },
      );
    }
    const m = found.manifest;
    if (isCascade(m))
      throw new StemdeckError('model-contract', `Model "${c.id}": stage ${k + 1} "${m.id}" is itself a cascade; a cascade's stages must be single models.`);
    if (m.sampleRate !== c.sampleRate || m.channels !== c.channels)
      throw new StemdeckError(
        'model-contract',
        `Model "${c.id}": stage ${k + 1} "${m.id}" runs at ${m.sampleRate} Hz, ${m.channels} channel(s), the cascade at ${c.sampleRate} Hz, ${c.channels}; use stage models of the same rate and channel count.`,
      );
    const lacking = stage.keep.filter((s) => !m.stems.includes(s));
    if (lacking.length)
      throw new StemdeckError(
        'model-contract',
        `Model "${c.id}": stage ${k + 1} "${m.id}" has no stem ${lacking.map((s) => `"${s}"`).join(', ')} (its stems: ${m.stems.join(', ')}). Use a stage model that has it, or fix "keep" in ${model.manifestPath}.`,
      );
    return found as OnnxModel;
  });
}

/** The installed cascades that use `id` as a stage (manifests only). */
export function cascadesUsing(id: string, registry: ModelRegistry): CascadeModel[] {
  return registry.list().filter((m): m is CascadeModel => isCascadeModel(m) && m.manifest.cascade.stages.some((s) => s.model === id));
}

/**
 * Why an installed model cannot run now, or null: a file outside its folder, not a regular file,
 * missing or of the wrong size; for a cascade, a missing or unfit stage model or a stage's file.
 * Cheap (manifests and stat only; the checksum is verified when the model is used).
 */
export function modelProblem(model: InstalledModel, registry: ModelRegistry): string | null {
  try {
    const singles = isCascadeModel(model) ? cascadeStages(model, registry) : [model];
    for (const m of singles) for (const f of m.manifest.files) checkModelFile(m, f);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

// ---- file verification ----

type ModelFile = OnnxModelManifest['files'][number];

/** Is `p` inside `dir` (or `dir` itself)? Both absolute. */
function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel === '' || (!rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel));
}

/**
 * Checks one file of a model without reading it: it resolves (symlinks too) inside the model's
 * folder, is a regular file (not a device, pipe or folder) and has the manifest's size. Returns
 * its absolute path; throws StemdeckError('model-corrupt') saying what to do.
 */
export function checkModelFile(model: OnnxModel, f: ModelFile): string {
  const id = model.manifest.id;
  const abs = path.resolve(model.dir, f.path);
  const fix = `Fix "files" in ${model.manifestPath}, or re-download or re-import the model.`;
  let real: string;
  try {
    real = fs.realpathSync(abs);
  } catch {
    throw new StemdeckError('model-corrupt', `Model "${id}" is missing its file "${f.path}". Re-download or re-import the model.`);
  }
  let realDir: string;
  try {
    realDir = fs.realpathSync(model.dir);
  } catch {
    realDir = path.resolve(model.dir);
  }
  if (!isInside(path.resolve(model.dir), abs) || !isInside(realDir, real))
    throw new StemdeckError('model-corrupt', `Model "${id}": its file "${f.path}" is outside the model's folder (${realDir}); a model may only use files inside its folder. ${fix}`);
  let st: fs.Stats;
  try {
    st = fs.statSync(real);
  } catch (e) {
    throw new StemdeckError('model-corrupt', `Model "${id}": its file "${f.path}" cannot be read (${(e as Error).message}). ${fix}`);
  }
  if (!st.isFile()) throw new StemdeckError('model-corrupt', `Model "${id}": its file "${f.path}" is not a regular file. ${fix}`);
  if (st.size !== f.bytes)
    throw new StemdeckError(
      'model-corrupt',
      `Model "${id}": "${f.path}" has ${st.size} bytes, expected ${f.bytes}. The file is damaged or incomplete; re-download or re-import it.`,
    );
  return abs;
}

type HashCache = Record<string, { size: number; mtimeMs: number; sha256: string }>;
const memHashes = new Map<string, { size: number; mtimeMs: number; sha256: string }>();

function hashCacheFile(): string {
  return path.join(appDataDir(), 'model-hashes.json');
}

function readHashCache(): HashCache {
  try {
    return JSON.parse(fs.readFileSync(hashCacheFile(), 'utf8')) as HashCache;
  } catch {
    return {};
  }
}

async function writeHashCache(c: HashCache): Promise<void> {
  try {
    const f = hashCacheFile();
    await fsp.mkdir(path.dirname(f), { recursive: true });
    const tmp = `${f}.${process.pid}.tmp`;
    await fsp.writeFile(tmp, JSON.stringify(c));
    await fsp.rename(tmp, f);
  } catch {
    // the cache is an optimisation only
  }
}

export async function sha256File(file: string): Promise<string> {
  const h = crypto.createHash('sha256');
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Hash of a file, cached per (path, size, mtime). */
export async function cachedSha256(file: string): Promise<string> {
  const st = await fsp.stat(file);
  const key = path.resolve(file);
  const mem = memHashes.get(key);
  if (mem && mem.size === st.size && mem.mtimeMs === st.mtimeMs) return mem.sha256;
  const disk = readHashCache();
  const d = disk[key];
  if (d && d.size === st.size && d.mtimeMs === st.mtimeMs) {
    memHashes.set(key, d);
    return d.sha256;
  }
  const sha256 = await sha256File(file);
  const entry = { size: st.size, mtimeMs: st.mtimeMs, sha256 };
  memHashes.set(key, entry);
  disk[key] = entry;
  await writeHashCache(disk);
  return sha256;
}

/**
 * Checks that every file of the model exists with the manifest's size and sha256; for a cascade,
 * that its stages are installed and fit (cascadeStages) and that their files are intact.
 */
export async function verifyModel(model: InstalledModel, registry?: ModelRegistry): Promise<void> {
  if (isCascadeModel(model)) {
    for (const stage of cascadeStages(model, registry ?? (await loadRegistry()))) await verifyModel(stage);
    return;
  }
  for (const f of manifestFiles(model.manifest)) {
    const abs = checkModelFile(model, f); // before hashing: never read a device, a pipe or a file elsewhere
    const sha = await cachedSha256(abs);
    if (sha !== f.sha256)
      throw new StemdeckError(
        'model-corrupt',
        `Model "${model.manifest.id}": "${f.path}" does not match its checksum. The file is damaged; re-download or re-import it.`,
      );
  }
}
