/**
 * App API handlers of the model manager (methods 'catalogue.list', 'models.install|pause|resume|
 * cancelInstall|installs|import|remove' and the 'models.install' progress event of
 * src-main/api/contract.ts). A1 wires them into the host's handlers:
 *
 *   ...modelManagerHandlers({
 *     send: (event, payload) => this.send(event, payload),
 *     checkInput: (p) => this.guard.checkInput(p),      // the .onnx to import must be user-chosen
 *     modelsChanged: () => void this.models(true),       // reload the registry
 *   })
 *
 * Downloads run in this process (network + file I/O only; no inference), one per model id;
 * progress events are throttled by the downloader (≈ 5 per second) plus every state change.
 */
import path from 'node:path';
import type { ApiError, CatalogueEntry as ApiCatalogueEntry, Handlers, InstallProgress, ModelInfo } from '../api/contract.js';
import {
  StemdeckError,
  userModelsDir,
  ImportNeedsParamsError,
  ImportParamsSchema,
  importCascade,
  importModel,
  isCascadeFile,
  listCatalogue,
  removeModel,
  startDownload,
  findCatalogueEntry,
  type OnnxModelManifest,
  type DownloadProgress,
  type ModelDownload,
  type CascadeImportResult,
  type ImportParams,
} from '../engine/index.js';

export interface ModelManagerContext {
  send(event: 'models.install', payload: InstallProgress): void;
  /** Validates a path the renderer sent (user-chosen file); returns its real path or throws 'path-forbidden'. */
  checkInput(p: string): string;
  /** Called after a model was installed, imported or removed. */
  modelsChanged(): void;
  /**
   * The model files in these folders were removed or replaced (re-downloaded, re-imported): the
   * engine host releases its ONNX Runtime sessions of them (host.ts releaseSessions).
   */
  releaseSessions?(dirs: string[]): Promise<unknown>;
  /** Default userModelsDir(). */
  modelsDir?: string;
  /** Default fs.statfs (tests simulate a full disk). */
  freeSpace?: (dir: string) => Promise<number>;
  /** Tests only: loopback http. */
  allowLoopbackHttp?: boolean;
}

function apiError(e: unknown): ApiError {
  if (e instanceof StemdeckError) return { code: e.code, message: e.message };
  return { code: 'internal', message: `Internal error: ${(e as Error)?.message ?? String(e)}. Please report it.` };
}

/** The ModelInfo fields a user model takes straight from its manifest (either kind). */
function userModelInfo(m: OnnxModelManifest | CascadeImportResult['manifest'], sizeBytes: number, defaultOverlap: number): ModelInfo {
  return {
    id: m.id,
    name: m.name,
    ...(m.description ? { description: m.description } : {}),
    architecture: m.architecture,
    io: m.io,
    stems: m.stems,
    sampleRate: m.sampleRate,
    trained: m.trained,
    params: m.params,
    sizeBytes,
    license: m.license,
    source: m.source,
    origin: 'user',
    isDefault: false,
    defaultOverlap,
  };
}

/** The ModelInfo of an imported (single ONNX) model. */
export function modelInfoFromManifest(m: OnnxModelManifest): ModelInfo {
  return userModelInfo(m, m.files.reduce((s, f) => s + f.bytes, 0), m.segment.overlap);
}

/** The ModelInfo of an imported cascade (its size and default overlap are its stages', as in models.list). */
export function modelInfoFromCascade(r: CascadeImportResult): ModelInfo {
  const m = r.manifest;
  const sizeBytes = r.stages.reduce((s, st) => s + st.manifest.files.reduce((t, f) => t + f.bytes, 0), 0);
  return {
    ...userModelInfo(m, sizeBytes, r.stages[0].manifest.segment.overlap),
    stages: m.cascade.stages.map((s, k) => ({ model: s.model, name: r.stages[k].manifest.name, keep: s.keep })),
  };
}

/** UI params (numbers/strings from a form) → ImportParams. */
function importParams(raw: Record<string, number | string> | undefined): ImportParams {
  if (!raw) return {};
  const num = (v: unknown): number | undefined => (v === undefined || v === '' ? undefined : Number(v));
  const str = (v: unknown): string | undefined => (v === undefined || v === '' ? undefined : String(v));
  const stems = str(raw.stems);
  const parsed = ImportParamsSchema.safeParse({
    id: str(raw.id),
    name: str(raw.name),
    nFft: num(raw.nFft),
    compensate: num(raw.compensate),
    primary: str(raw.primary),
    secondary: str(raw.secondary),
    stems: stems ? stems.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    license: str(raw.license),
  });
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new StemdeckError('invalid-request', `Invalid ${String(i?.path[0] ?? 'parameter')}: ${i?.message ?? ''}`);
  }
  return parsed.data;
}

type ManagerHandlers = Pick<
  Handlers,
  'catalogue.list' | 'models.install' | 'models.pause' | 'models.resume' | 'models.cancelInstall' | 'models.installs' | 'models.import' | 'models.remove'
>;

export function modelManagerHandlers(ctx: ModelManagerContext): ManagerHandlers {
  const modelsDir = (): string => ctx.modelsDir ?? userModelsDir();
  const release = async (dirs: string[]): Promise<void> => {
    await ctx.releaseSessions?.(dirs).catch(() => undefined);
  };
  const downloads = new Map<string, { download: ModelDownload | null; progress: InstallProgress }>();

  type Rec = { download: ModelDownload | null; progress: InstallProgress };
  // Never throws: called from download callbacks that may outlive their record (models.remove,
  // a re-install), so it only touches the record it is given, and only while it is current.
  const update = (rec: Rec | null, patch: Partial<InstallProgress>): InstallProgress | null => {
    if (!rec || downloads.get(rec.progress.id) !== rec) return null;
    rec.progress = { ...rec.progress, ...patch };
    ctx.send('models.install', rec.progress);
    return rec.progress;
  };

  const onProgress = (rec: Rec) => (p: DownloadProgress) => {
    if (rec.progress.state === 'paused' || rec.progress.state === 'cancelled') return;
    update(rec, {
      state: p.stage === 'verifying' || p.stage === 'installing' ? 'verifying' : p.stage === 'done' ? 'installed' : 'downloading',
      receivedBytes: p.receivedBytes,
      totalBytes: p.totalBytes,
      bytesPerSecond: p.bytesPerSecond > 0 ? p.bytesPerSecond : null,
      etaSeconds: p.etaSeconds,
    });
  };

  const get = (id: string): Rec & { download: ModelDownload } => {
    const d = downloads.get(id);
    if (!d || !d.download) throw new StemdeckError('invalid-request', `No download of "${id}" is running.`);
    return d as Rec & { download: ModelDownload };
  };

  return {
    'catalogue.list': async () =>
      (await listCatalogue(modelsDir())).map(
        (m): ApiCatalogueEntry => ({
          ...m,
          homepage: m.homepage ?? null,
        }),
      ),

    'models.install': ({ id, acceptTerms }) => {
      const entry = findCatalogueEntry(id);
      const running = downloads.get(id);
      if (running && ['queued', 'downloading', 'verifying', 'paused'].includes(running.progress.state)) return running.progress;
      const progress: InstallProgress = {
        id,
        state: 'queued',
        receivedBytes: 0,
        totalBytes: entry.bytes,
        bytesPerSecond: null,
        etaSeconds: null,
        error: null,
      };
      const rec: Rec = { download: null, progress };
      downloads.set(id, rec);
      let download: ModelDownload;
      try {
        download = startDownload(id, {
          acceptTerms,
          modelsDir: modelsDir(),
          freeSpace: ctx.freeSpace,
          onProgress: onProgress(rec),
          allowLoopbackHttp: ctx.allowLoopbackHttp === true,
        });
      } catch (e) {
        downloads.delete(id);
        throw e;
      }
      rec.download = download;
      download.done.then(
        async () => {
          await release([path.join(modelsDir(), id)]); // a re-download replaced the files
          update(rec, { state: 'installed', receivedBytes: entry.bytes, etaSeconds: 0, bytesPerSecond: null, error: null });
          ctx.modelsChanged();
        },
        (e: unknown) => {
          const cancelled = e instanceof StemdeckError && e.code === 'cancelled';
          update(rec, { state: cancelled ? 'cancelled' : 'failed', bytesPerSecond: null, etaSeconds: null, error: cancelled ? null : apiError(e) });
        },
      );
      return progress;
    },

    'models.pause': ({ id }) => {
      const d = get(id);
      if (d.progress.state !== 'downloading' && d.progress.state !== 'queued') return d.progress;
      d.download.pause();
      return update(d, { state: 'paused', bytesPerSecond: null, etaSeconds: null }) ?? d.progress;
    },

    'models.resume': ({ id }) => {
      const d = get(id);
      if (d.progress.state !== 'paused') return d.progress;
      d.progress = { ...d.progress, state: 'downloading' };
      d.download.resume();
      ctx.send('models.install', d.progress);
      return d.progress;
    },

    'models.cancelInstall': ({ id }) => {
      const d = get(id);
      if (['installed', 'failed', 'cancelled'].includes(d.progress.state)) return d.progress;
      d.download.cancel();
      return update(d, { state: 'cancelled', bytesPerSecond: null, etaSeconds: null }) ?? d.progress;
    },

    'models.installs': () => [...downloads.values()].map((d) => d.progress),

    'models.import': async ({ path: p, params }) => {
      const real = ctx.checkInput(p);
      try {
        if (isCascadeFile(real)) {
          const c = await importCascade(real, { params: importParams(params), modelsDir: modelsDir() });
          ctx.modelsChanged();
          return { ok: true, model: modelInfoFromCascade(c), detectedBy: 'cascade' };
        }
        const r = await importModel(real, { params: importParams(params), modelsDir: modelsDir(), freeSpace: ctx.freeSpace });
        await release([r.dir]); // a re-import replaced the files
        ctx.modelsChanged();
        return { ok: true, model: modelInfoFromManifest(r.manifest), detectedBy: r.detectedBy };
      } catch (e) {
        if (e instanceof ImportNeedsParamsError) return { ok: false, needs: e.needs.map(String), reason: e.message };
        throw e;
      }
    },

    'models.remove': async ({ id }) => {
      const d = downloads.get(id);
      if (d && ['queued', 'downloading', 'paused', 'verifying'].includes(d.progress.state)) d.download?.cancel();
      const { removed } = await removeModel(id, modelsDir());
      await release(removed);
      downloads.delete(id);
      ctx.modelsChanged();
      return { ok: true as const };
    },
  };
}
