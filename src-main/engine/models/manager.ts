/**
 * The model manager's front door for the CLI and the app host: the catalogue beside the
 * installed models, install (download) by catalogue id, import, remove.
 *
 * Installed user models live in <userModelsDir()>/<id>/manifest.json (the layout the registry
 * reads, src-main/engine/registry.ts). Bundled models are never removed here. A model that an
 * installed cascade uses as a stage is not removed unless `force` (the cascade could not run).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { StemdeckError } from '../errors.js';
import { ModelManifestSchema, type ModelManifest } from '../manifest.js';
import { cascadesUsing, loadRegistry, manifestFiles } from '../registry.js';
import { userModelsDir } from '../paths.js';
import { releaseRunners } from '../runner.js';
import { type CatalogueEntry, findCatalogueEntry, loadCatalogue, lookupUvrHash } from './catalogue.js';
import { type InstallOptions, type InstallResult, ModelDownload, installCatalogueModel, partialPath } from './download.js';
import { detectContract, entryImportParams, inspectOnnx } from './import.js';

export interface CatalogueView {
  id: string;
  name: string;
  description: string;
  architecture: string;
  stems: string[];
  url: string;
  sha256: string;
  bytes: number;
  license: string;
  terms: string;
  homepage?: string;
  installed: boolean;
  /** Bytes of a paused/interrupted download waiting to be resumed (0 when none). */
  partialBytes: number;
  provenance: Record<string, string>;
}

export interface UserModelView {
  id: string;
  name: string;
  architecture: string;
  io: ModelManifest['io'];
  stems: string[];
  bytes: number;
  license: string;
  dir: string;
  /** The catalogue entry it was installed from, if any. */
  catalogueId: string | null;
}

async function readUserManifests(modelsDir: string): Promise<Array<{ manifest: ModelManifest; dir: string }>> {
  let names: string[];
  try {
    names = await fs.readdir(modelsDir);
  } catch {
    return [];
  }
  const out: Array<{ manifest: ModelManifest; dir: string }> = [];
  for (const n of names.sort()) {
    if (n.startsWith('.')) continue;
    const dir = path.join(modelsDir, n);
    try {
      const raw = JSON.parse(await fs.readFile(path.join(dir, 'manifest.json'), 'utf8')) as unknown;
      const r = ModelManifestSchema.safeParse(raw);
      if (r.success) out.push({ manifest: r.data, dir });
    } catch {
      // not a model folder
    }
  }
  return out;
}

export async function listUserModels(modelsDir = userModelsDir()): Promise<UserModelView[]> {
  const catalogue = loadCatalogue();
  return (await readUserManifests(modelsDir)).map(({ manifest, dir }) => ({
    id: manifest.id,
    name: manifest.name,
    architecture: manifest.architecture,
    io: manifest.io,
    stems: manifest.stems,
    bytes: manifestFiles(manifest).reduce((s, f) => s + f.bytes, 0),
    license: manifest.license,
    dir,
    catalogueId: catalogue.models.some((m) => m.id === manifest.id && m.sha256 === manifestFiles(manifest)[0]?.sha256) ? manifest.id : null,
  }));
}

export async function listCatalogue(modelsDir = userModelsDir()): Promise<CatalogueView[]> {
  const installed = new Set((await readUserManifests(modelsDir)).map((m) => m.manifest.id));
  const catalogue = loadCatalogue();
  return Promise.all(
    catalogue.models.map(async (m) => ({
      id: m.id,
      name: m.name,
      description: m.description,
      architecture: m.architecture,
      stems: m.stems,
      url: m.url,
      sha256: m.sha256,
      bytes: m.bytes,
      license: m.license,
      terms: m.terms,
      homepage: m.homepage,
      installed: installed.has(m.id),
      partialBytes: await fs.stat(partialPath(modelsDir, m)).then((s) => s.size, () => 0),
      provenance: m.provenance,
    })),
  );
}

/**
 * Checks a downloaded catalogue file against its declared contract and returns the tensor names
 * it really has (so the manifest matches the file). Refuses a file whose shapes contradict it.
 */
export function catalogueProbe(entry: CatalogueEntry) {
  return async (file: string) => {
    const io = await inspectOnnx(file);
    const uvr = entry.uvrHash ? lookupUvrHash(entry.uvrHash) : undefined;
    const mdx = entry.contract.mdx;
    const detected = detectContract(file, io, entryImportParams(entry), uvr);
    if (mdx && (detected.contract.mdx?.dimF !== mdx.dimF || detected.contract.mdx?.dimT !== mdx.dimT))
      throw new StemdeckError('model-contract', `${entry.name}: the downloaded file's spectrogram size differs from the catalogue's; nothing was installed.`);
    if (detected.contract.io !== entry.contract.io)
      throw new StemdeckError('model-contract', `${entry.name}: the downloaded file has the ${detected.contract.io} contract, not ${entry.contract.io}; nothing was installed.`);
    return { tensors: detected.contract.tensors };
  };
}

export type ManagerInstallOptions = InstallOptions & {
  /** Skip reading the downloaded file's tensor names (tests with non-ONNX payloads). */
  skipProbe?: boolean;
};

/** Downloads and installs a catalogue model by id. */
export async function installModel(id: string, opts: ManagerInstallOptions): Promise<InstallResult> {
  const entry = findCatalogueEntry(id);
  return installCatalogueModel(entry, opts, opts.skipProbe ? undefined : catalogueProbe(entry));
}

/** A pausable download of a catalogue model (for the app). */
export function startDownload(id: string, opts: Omit<ManagerInstallOptions, 'signal'>): ModelDownload {
  const entry = findCatalogueEntry(id);
  return new ModelDownload(entry, opts, opts.skipProbe ? undefined : catalogueProbe(entry));
}

/**
 * Removes a downloaded or imported model (and any partial download of it). Bundled models
 * cannot be removed. A stage model of an installed cascade is refused, naming the cascade,
 * unless `force` (then `stageOf` names the cascades that cannot run until it is back).
 * Resolves to the removed folders.
 */
export async function removeModel(
  id: string,
  modelsDir = userModelsDir(),
  opts: { force?: boolean } = {},
): Promise<{ id: string; removed: string[]; stageOf: string[] }> {
  if (!/^[a-z0-9][a-z0-9._-]*$/.test(id)) throw new StemdeckError('invalid-request', `"${id}" is not a model id.`);
  const removed: string[] = [];
  const dir = path.join(modelsDir, id);
  const manifests = await readUserManifests(modelsDir);
  const found = manifests.find((m) => m.manifest.id === id);
  const partial = path.join(modelsDir, '.downloads', id);
  const hasPartial = await fs.stat(partial).then(() => true, () => false);
  if (!found && !hasPartial) {
    throw new StemdeckError(
      'model-unknown',
      `No downloaded or imported model "${id}" in ${modelsDir}. Bundled models cannot be removed; see \`stemdeck models list\`.`,
    );
  }
  const stageOf = found ? cascadesUsing(id, await loadRegistry(modelsDir)) : [];
  if (stageOf.length && !opts.force) {
    const names = stageOf.map((c) => `"${c.manifest.id}"${c.origin === 'bundled' ? ' (bundled)' : ''}`).join(', ');
    const removable = stageOf.filter((c) => c.origin === 'user').map((c) => c.manifest.id);
    throw new StemdeckError(
      'invalid-request',
      `Model "${id}" is a stage of the cascade${stageOf.length > 1 ? 's' : ''} ${names}; ` +
        (removable.length ? `remove the cascade first (${removable.map((c) => `stemdeck models remove ${c}`).join(', ')}), or ` : '') +
        `remove "${id}" anyway with \`stemdeck models remove ${id} --force\` (${stageOf.length > 1 ? 'they' : 'the cascade'} then cannot run until "${id}" is installed again).`,
    );
  }
  if (found) {
    await releaseRunners([found.dir]).catch(() => undefined);
    // Rename first so a half-deleted folder never looks like a model.
    const trash = path.join(modelsDir, `.trash-${id}-${Date.now()}`);
    await fs.rename(found.dir, trash);
    await fs.rm(trash, { recursive: true, force: true });
    removed.push(found.dir);
  } else if (await fs.stat(dir).then(() => true, () => false)) {
    // nothing: a folder without a valid manifest is not ours to delete
  }
  if (hasPartial) {
    await fs.rm(partial, { recursive: true, force: true });
    removed.push(partial);
  }
  return { id, removed, stageOf: stageOf.map((c) => c.manifest.id) };
}
