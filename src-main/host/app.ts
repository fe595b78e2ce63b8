/**
 * The app backend shared by both shells: library, settings, engine host + queue, export,
 * drag-out, models, doctor — and the API handlers (`handlers`) the shells dispatch to through
 * `createDispatcher` (contract.ts). Shells add only what is theirs (dialogs in Electron,
 * typed paths/uploads in the browser) by overriding a handler.
 */
import { EventEmitter } from 'node:events';
import fs from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import crypto from 'node:crypto';
import { createRequire } from 'node:module';
import type { DoctorInfo, DragOutFile, EventName, EventPayload, ExportResult, Handlers, Job, ModelInfo, SeparationSettings, Song } from '../api/contract.js';
import {
  StemdeckError,
  appDataDir,
  libraryDir,
  userModelsDir,
  locateFfmpeg,
  isCascadeModel,
  loadRegistry,
  manifestFiles,
  modelProblem,
  exportSong,
  sweepExportLeftovers,
  writeChunks,
  outputFormatOf,
  mixdownChunks,
  fileNameWithSuffix,
  safeFileName,
  safeFileNameKeepingExtension,
  createUniqueFolder,
  readWavChunks,
  readWavInfo,
  parseNamePattern,
  patternFileName,
  stemLabel,
  type NamePattern,
  type StemMetadata,
  type InstalledModel,
  type ModelRegistry,
  type StemFile,
} from '../engine/index.js';
import { Library, hashFile } from '../library/library.js';
import { KnownHashes } from './content-hash.js';
import { EngineHost } from './host.js';
import type { SpawnHost } from './engine-supervisor.js';
import { SettingsStore } from './settings.js';
import { PathGuard } from './guard.js';
import { modelManagerHandlers } from './model-handlers.js';
import { hideImportFolders, importFolderPattern } from './user-paths.js';

export const AUDIO_EXTENSIONS = new Set([
  '.wav', '.wave', '.mp3', '.flac', '.aif', '.aiff', '.m4a', '.aac', '.ogg', '.oga', '.opus', '.wma', '.mp4', '.mka', '.mkv', '.webm', '.wv', '.ape', '.alac', '.caf',
]);

export interface AppOptions {
  shell: 'electron' | 'browser';
  spawnHost?: SpawnHost;
  cancelGraceMs?: number;
  /** Test hooks for the model manager (loopback downloads, simulated free space). */
  modelManager?: { allowLoopbackHttp?: boolean; freeSpace?: (dir: string) => Promise<number> };
}

export interface AppEvents {
  event: [name: EventName, payload: unknown];
}

export class App extends EventEmitter<AppEvents> {
  readonly home = appDataDir();
  readonly library = new Library(libraryDir());
  readonly settings = new SettingsStore(path.join(this.home, 'settings.json'));
  readonly guard = new PathGuard();
  readonly host: EngineHost;
  readonly exportsDir = path.join(this.home, 'exports');
  readonly dragoutDir = path.join(this.home, 'dragout');
  /** Running jobs' live files (play while it separates), one folder per job, served as MediaRoot 'live'. */
  readonly liveDir = path.join(this.home, 'live');
  readonly importsDir = path.join(this.home, 'imports');
  /** Content hashes known without a second read (uploads are hashed as they stream in). */
  readonly hashes = new KnownHashes();
  private registry: ModelRegistry | null = null;

  constructor(readonly options: AppOptions) {
    super();
    this.host = new EngineHost({
      library: this.library,
      queueFile: path.join(this.home, 'queue.json'),
      ...(options.spawnHost ? { spawn: options.spawnHost } : {}),
      ...(options.cancelGraceMs ? { cancelGraceMs: options.cancelGraceMs } : {}),
      libraryFormat: () => this.settings.get().libraryFormat,
      liveRoot: this.liveDir,
    });
    this.host.on('job', (job) => this.send('job', this.userJob(job)));
    this.host.on('host', (state, message) => this.send('host', { state, message }));
    this.host.on('song', (songId) => this.send('library', { change: 'added', songId }));
  }

  private importFolders: RegExp | null = null;

  /** `text` naming the user's file instead of its upload copy under imports/ (issue 14.7). */
  userText(text: string): string {
    this.importFolders ??= importFolderPattern(this.importsDir);
    return hideImportFolders(text, this.importFolders);
  }

  private userJob(job: Job): Job {
    return {
      ...job,
      error: job.error && { ...job.error, message: this.userText(job.error.message) },
      ...(job.warnings ? { warnings: job.warnings.map((w) => ({ ...w, message: this.userText(w.message) })) } : {}),
    };
  }

  send<E extends EventName>(name: E, payload: EventPayload<E>): void {
    this.emit('event', name, payload);
  }

  async start(): Promise<void> {
    await fs.mkdir(this.home, { recursive: true });
    await this.library.init();
    await this.settings.load();
    this.guard.setRoot('library', this.library.root);
    this.guard.setRoot('exports', this.exportsDir);
    this.guard.setRoot('dragout', this.dragoutDir);
    // live files of jobs a quit or a kill cut short are worth nothing now
    await fs.rm(this.liveDir, { recursive: true, force: true });
    this.guard.setRoot('live', this.liveDir);
    this.guard.setRoot('imports', this.importsDir);
    await this.pruneImports();
    await sweepExportLeftovers(this.exportsDir); // temp files of exports a kill cut short
    await fs.rm(this.dragoutDir, { recursive: true, force: true });
    await fs.mkdir(this.dragoutDir, { recursive: true });
    await this.host.start();
  }

  async stop(): Promise<void> {
    await this.host.stop();
  }

  /** Uploaded files (browser shell) are kept a week: long enough to retry their jobs. */
  private async pruneImports(maxAgeMs = 7 * 24 * 3600 * 1000): Promise<void> {
    const entries = await fs.readdir(this.importsDir, { withFileTypes: true }).catch(() => []);
    const now = Date.now();
    for (const e of entries) {
      if (!e.isDirectory()) continue;
      const dir = path.join(this.importsDir, e.name);
      const st = await fs.stat(dir).catch(() => null);
      if (st && now - st.mtimeMs > maxAgeMs) await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    }
  }

  async models(reload = false): Promise<ModelRegistry> {
    if (!this.registry || reload) this.registry = await loadRegistry();
    return this.registry;
  }

  /** Remembered settings + overrides → complete separation settings (model resolved to an id). */
  async resolveSettings(over: Partial<SeparationSettings> = {}): Promise<SeparationSettings> {
    const s = this.settings.get();
    const registry = await this.models();
    const installed = (id: string | null | undefined) => !!id && registry.list().some((m) => m.manifest.id === id);
    // A remembered model that was removed since falls back to the default; an explicit one must exist.
    // A broken one (invalid manifest) is named, never silently replaced (issue 12).
    const remembered = installed(s.model) || (s.model && registry.problemOf(s.model)) ? s.model : null;
    const model = over.model ?? remembered ?? registry.defaultId ?? registry.list()[0]?.manifest.id;
    if (!model) throw new StemdeckError('model-unknown', 'No model is installed. Install one on the Models page.');
    try {
      registry.get(model);
    } catch (e) {
      if (e instanceof StemdeckError && e.code === 'model-corrupt') throw e; // names the broken manifest and what to do
      throw new StemdeckError('model-unknown', `The model "${model}" is not installed. Choose another model in Settings.`);
    }
    return { model, device: over.device ?? s.device, overlap: over.overlap === undefined ? s.overlap : over.overlap };
  }

  /** Audio files of a chosen folder (depth ≤ 3, sorted). */
  async expandFolder(dir: string, depth = 3): Promise<string[]> {
    const out: string[] = [];
    const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory() && depth > 0) out.push(...(await this.expandFolder(full, depth - 1)));
      else if (e.isFile() && AUDIO_EXTENSIONS.has(path.extname(e.name).toLowerCase())) out.push(full);
    }
    return out;
  }

  /** Upload target for the browser shell: a fresh folder under imports/. */
  async importPath(name: string): Promise<string> {
    const dir = path.join(this.importsDir, crypto.randomBytes(6).toString('hex'));
    await fs.mkdir(dir, { recursive: true });
    return path.join(dir, safeFileNameKeepingExtension(path.basename(name)));
  }

  private stemFiles(song: Song): StemFile[] {
    if (song.stemsDeletedAt)
      throw new StemdeckError(
        'input-missing',
        `The stems of "${song.title}" were deleted to free disk space. Separate it again (Separate again in the mixer) to play or export it.`,
      );
    const dir = this.library.songDir(song.id);
    return song.stems.map((s) => ({ name: s.name, file: path.join(dir, s.file) }));
  }

  async exportRun(req: Parameters<Handlers['export.run']>[0]): Promise<ExportResult> {
    const song = this.library.get(req.songId);
    let outDir: string;
    if (req.outDir) outDir = this.guard.checkOutputDir(req.outDir);
    else {
      const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
      outDir = await createUniqueFolder(this.exportsDir, `${safeFileName(song.title, stamp.length + 1)} ${stamp}`);
    }
    const namePattern = this.namePattern(req.namePattern === undefined ? this.settings.get().exportNamePattern : req.namePattern);
    const files = await exportSong({
      stems: this.stemFiles(song),
      title: song.title,
      tags: song.tags,
      music: { tempo: song.tempo ?? null, key: song.key ?? null },
      model: song.model.id,
      namePattern,
      select: req.stems,
      mixdown: req.mixdown,
      preset: req.preset,
      mixer: req.mixer ?? song.mixer,
      format: req.format,
      outDir,
      normalize: req.normalize,
    });
    void this.settings.set({ exportFormat: req.format }).catch(() => undefined);
    return { outDir, files: files.map((f) => ({ ...f, ref: this.guard.refFor(f.path) })) };
  }

  /** A checked name pattern (null: the default names); a bad one is an error that says how to write it. */
  private namePattern(text: string | null | undefined): NamePattern | null {
    return text ? parseNamePattern(text) : null;
  }

  /** A drag-out file of a stem or the mixdown: WAV with the song's tempo/key (acid, bext), cached per song/target/format/mix/name. */
  async dragOut(req: Parameters<Handlers['dragout.prepare']>[0]): Promise<DragOutFile> {
    const song = this.library.get(req.songId);
    const format = req.format ?? this.settings.get().dragFormat;
    const stems = this.stemFiles(song);
    const mixer = req.mixer ?? song.mixer;
    const pattern = this.namePattern(this.settings.get().exportNamePattern);
    const key = crypto
      .createHash('sha256')
      .update(JSON.stringify({ id: song.id, target: req.target, format, mixer: req.target === 'mixdown' ? mixer : null, pattern: pattern?.source ?? null }))
      .digest('hex')
      .slice(0, 16);
    const what = req.target === 'mixdown' ? 'Mix' : req.target;
    const label = stemLabel(what);
    const fileName = pattern
      ? patternFileName(pattern, { song: song.title, stem: what, tempo: song.tempo, key: song.key, model: song.model.id }, '.wav')
      : fileNameWithSuffix(song.title, ` - ${label}.wav`);
    const metadata: StemMetadata = { label, tempo: song.tempo ?? null, key: song.key ?? null, model: song.model.id };
    const dir = path.join(this.dragoutDir, key);
    const file = path.join(dir, fileName);
    const exists = await fs.stat(file).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!exists) {
      await fs.mkdir(dir, { recursive: true });
      if (req.target === 'mixdown') {
        const info = await readWavInfo(stems[0].file);
        const frames = Math.max(...(await Promise.all(stems.map((s) => readWavInfo(s.file)))).map((i) => i.frames));
        await writeChunks(file, outputFormatOf(format), info.sampleRate, 2, frames, mixdownChunks(stems, mixer), {}, undefined, metadata);
      } else {
        const stem = stems.find((s) => s.name === req.target);
        if (!stem) throw new StemdeckError('invalid-request', `The song has no stem "${req.target}".`);
        const info = await readWavInfo(stem.file);
        await writeChunks(file, outputFormatOf(format), info.sampleRate, info.channels, info.frames, readWavChunks(stem.file), {}, undefined, metadata);
      }
    }
    const ref = this.guard.refFor(file);
    if (!ref) throw new StemdeckError('internal', 'drag-out file outside its folder');
    return { path: file, fileName, mime: 'audio/wav', ref };
  }

  /** Every stem of a song as drag-out files, in the song's stem order (one drag or one zip). */
  async dragOutAll(req: Parameters<Handlers['dragout.prepareAll']>[0]): Promise<{ files: DragOutFile[] }> {
    const song = this.library.get(req.songId);
    this.stemFiles(song); // stems deleted: says so
    const files: DragOutFile[] = [];
    for (const s of song.stems) files.push(await this.dragOut({ songId: song.id, target: s.name, ...(req.format ? { format: req.format } : {}) }));
    return { files };
  }

  async modelInfos(): Promise<ModelInfo[]> {
    const registry = await this.models(true);
    const out: ModelInfo[] = [];
    const byId = new Map(registry.list().map((m) => [m.manifest.id, m]));
    const filesBytes = async (m: InstalledModel): Promise<number> => {
      let bytes = 0;
      for (const f of manifestFiles(m.manifest)) bytes += f.bytes || (await fs.stat(path.resolve(m.dir, f.path)).then((s) => s.size, () => 0));
      return bytes;
    };
    for (const m of registry.list()) {
      const man = m.manifest;
      // a cascade: its stage models' files and the first stage's overlap (each stage uses its own)
      const stageModels = isCascadeModel(m) ? m.manifest.cascade.stages.map((s) => byId.get(s.model)) : [m];
      let sizeBytes = 0;
      for (const s of stageModels) if (s && !isCascadeModel(s)) sizeBytes += await filesBytes(s);
      const first = stageModels[0];
      const defaultOverlap = first && !isCascadeModel(first) ? first.manifest.segment.overlap : 0.25;
      const problem = modelProblem(m, registry);
      out.push({
        id: man.id,
        name: man.name,
        ...(man.description ? { description: man.description } : {}),
        architecture: man.architecture,
        io: man.io,
        stems: man.stems,
        sampleRate: man.sampleRate,
        trained: man.trained,
        params: man.params,
        sizeBytes,
        license: man.license,
        source: man.source,
        origin: m.origin,
        isDefault: registry.defaultId === man.id,
        ...(man.realtimeFactor ? { realtimeFactor: man.realtimeFactor } : {}),
        ...(man.metrics ? { metrics: man.metrics } : {}),
        defaultOverlap,
        ...(isCascadeModel(m)
          ? { stages: m.manifest.cascade.stages.map((s) => ({ model: s.model, name: byId.get(s.model)?.manifest.name ?? null, keep: s.keep })) }
          : {}),
        ...(problem ? { problem } : {}),
      });
    }
    return out;
  }

  async openFiles(paths: string[], over: Partial<SeparationSettings> | undefined): Promise<{
    jobs: Job[];
    existing: { path: string; songId: string }[];
    refused: { path: string; error: { code: StemdeckError['code']; message: string } }[];
  }> {
    const settings = await this.resolveSettings(over);
    const jobs: Job[] = [];
    const existing: { path: string; songId: string }[] = [];
    const refused: { path: string; error: { code: StemdeckError['code']; message: string } }[] = [];
    const files: string[] = [];
    for (const p of paths) {
      try {
        const real = this.guard.checkInput(p);
        const st = await fs.stat(real);
        if (st.isDirectory()) files.push(...(await this.expandFolder(real)));
        else files.push(real);
      } catch (e) {
        refused.push({ path: p, error: this.userError(e) });
      }
    }
    for (const file of files) {
      try {
        const { hash, bytes } = await this.hashes.hash(file);
        const song = await this.library.findExisting(hash, settings);
        if (song) existing.push({ path: file, songId: song.id });
        else jobs.push(this.host.enqueue({ path: file, name: path.basename(file), hash, bytes }, settings));
      } catch (e) {
        refused.push({ path: file, error: this.userError(e) });
      }
    }
    return { jobs, existing, refused };
  }

  /**
   * A song whose stems were deleted, queued again from the file it was separated from (the path
   * the app recorded in its song.json, so no new choice of the file is needed) with its model and
   * overlap; the same content and settings give the same song id, so it takes the entry's place.
   */
  async separateAgain(id: string): Promise<Job> {
    const song = this.library.get(id);
    if (!song.stemsDeletedAt) throw new StemdeckError('invalid-request', `The stems of "${song.title}" are in the library; there is nothing to separate again.`);
    const missing = (why: string) =>
      new StemdeckError('input-missing', `${song.source.name} ${why}, so it cannot be separated again from there. Open the file again to separate it.`);
    const st = await fs.stat(song.source.path).catch(() => null);
    if (!st?.isFile()) throw missing('is not where it was separated from any more');
    const { hash, bytes } = await hashFile(song.source.path);
    if (hash !== song.source.hash) throw missing('has changed since it was separated');
    const settings = await this.resolveSettings({ model: song.settings.model, overlap: song.settings.overlap });
    return this.host.enqueue({ path: song.source.path, name: song.source.name, hash, bytes }, settings);
  }

  private userError(e: unknown): { code: StemdeckError['code']; message: string } {
    const err = errorOf(e);
    return { ...err, message: this.userText(err.message) };
  }

  async doctor(): Promise<DoctorInfo> {
    let ffmpeg: { path: string; source: string } | null = null;
    try {
      ffmpeg = locateFfmpeg();
    } catch {
      ffmpeg = null;
    }
    let onnxruntime: string | null = null;
    try {
      const require = createRequire(import.meta.url);
      onnxruntime = (require('onnxruntime-node/package.json') as { version: string }).version;
    } catch {
      onnxruntime = null;
    }
    let version = '0.0.0';
    try {
      const require = createRequire(import.meta.url);
      version = (require('../../package.json') as { version: string }).version;
    } catch {
      /* packaged layouts differ */
    }
    const h = this.host.hostState;
    return {
      version,
      shell: this.options.shell,
      node: process.versions.node,
      platform: process.platform,
      arch: process.arch,
      ffmpeg,
      onnxruntime,
      paths: { appData: this.home, library: this.library.root, models: userModelsDir() },
      host: { state: h.state, pid: h.pid, restarts: h.restarts },
      cpus: os.cpus().length,
    };
  }

  /** The API handlers. Shells spread their own overrides on top (e.g. Electron's files.pick). */
  private handlerCache: Partial<Handlers> | null = null;

  handlers(): Partial<Handlers> {
    this.handlerCache ??= this.withUserErrors(this.createHandlers());
    return this.handlerCache;
  }

  /** Every handler's error message names the user's files, not their upload copies. */
  private withUserErrors(handlers: Partial<Handlers>): Partial<Handlers> {
    const out: Record<string, unknown> = {};
    for (const [name, h] of Object.entries(handlers) as [string, (...a: unknown[]) => unknown][]) {
      out[name] = async (...a: unknown[]) => {
        try {
          return await h(...a);
        } catch (e) {
          if (e instanceof Error) e.message = this.userText(e.message);
          throw e;
        }
      };
    }
    return out as Partial<Handlers>;
  }

  private createHandlers(): Partial<Handlers> {
    return {
      'library.list': ({ query }) => this.library.list(query),
      'library.search': ({ query }) => this.library.list(query),
      'library.get': ({ id }) => this.library.get(id),
      'library.delete': async ({ id }) => {
        await this.library.delete(id);
        this.send('library', { change: 'removed', songId: id });
        return { ok: true as const };
      },
      'library.deleteStems': async ({ id }) => {
        await this.library.deleteStems(id);
        this.send('library', { change: 'updated', songId: id });
        return { ok: true as const };
      },
      'library.usage': () => this.library.usage(),
      'library.separateAgain': async ({ id }) => this.userJob(await this.separateAgain(id)),
      'library.saveMixer': async ({ id, mixer }) => {
        await this.library.saveMixer(id, mixer);
        this.send('library', { change: 'updated', songId: id });
        return { ok: true as const };
      },
      'files.pick': async ({ kind, typedPath }) => {
        if (!typedPath) throw new StemdeckError('invalid-request', 'Type the path of a file or folder.');
        if (!path.isAbsolute(typedPath)) throw new StemdeckError('invalid-request', 'Type a full path (starting with / or a drive letter).');
        const real = this.guard.choose(typedPath);
        const st = await fs.stat(real);
        if (kind === 'exportFolder') {
          if (!st.isDirectory()) throw new StemdeckError('invalid-request', `${typedPath} is not a folder.`);
          return { paths: [real] };
        }
        if (st.isDirectory()) return { paths: await this.expandFolder(real) };
        if (!AUDIO_EXTENSIONS.has(path.extname(real).toLowerCase()))
          throw new StemdeckError('input-not-audio', `${path.basename(real)} does not look like an audio file. Choose an audio file (mp3, wav, flac, …).`);
        return { paths: [real] };
      },
      'files.open': ({ paths, settings }) => this.openFiles(paths, settings),
      'queue.list': () => this.host.list().map((j) => this.userJob(j)),
      'queue.cancel': ({ id }) => this.userJob(this.host.cancel(id)),
      'queue.playhead': ({ id, seconds, playing }) => {
        this.host.playhead(id, seconds, playing);
        return { ok: true as const };
      },
      'queue.retry': ({ id }) => this.userJob(this.host.retry(id)),
      'queue.clear': () => {
        this.host.clear();
        return { ok: true as const };
      },
      'export.run': (req) => this.exportRun(req),
      'dragout.prepare': (req) => this.dragOut(req),
      'dragout.prepareAll': (req) => this.dragOutAll(req),
      'models.list': () => this.modelInfos(),
      'settings.get': () => this.settings.get(),
      'settings.set': async (patch) => {
        if (patch.model) {
          const registry = await this.models(true);
          try {
            registry.get(patch.model);
          } catch {
            throw new StemdeckError('model-unknown', `The model "${patch.model}" is not installed.`);
          }
        }
        if (patch.exportNamePattern) this.namePattern(patch.exportNamePattern); // a bad pattern is refused with how to write it
        const next = await this.settings.set(patch);
        this.send('settings', next);
        return next;
      },
      'doctor.info': () => this.doctor(),
      // Model manager (M1): catalogue, downloads with progress events, import, remove.
      ...modelManagerHandlers({
        send: (event, payload) => this.send(event, payload),
        checkInput: (p) => this.guard.checkInput(p),
        modelsChanged: () => void this.models(true).catch(() => undefined),
        releaseSessions: (dirs) => this.host.releaseSessions(dirs),
        ...(this.options.modelManager ?? {}),
      }),
    };
  }
}

function errorOf(e: unknown): { code: StemdeckError['code']; message: string } {
  if (e instanceof StemdeckError) return { code: e.code, message: e.message };
  const code = (e as NodeJS.ErrnoException)?.code;
  if (code === 'ENOENT') return { code: 'input-missing', message: 'The file does not exist any more. Choose it again.' };
  if (code === 'EACCES') return { code: 'input-missing', message: 'Stemdeck may not read this file. Check its permissions.' };
  return { code: 'internal', message: String(e) };
}
