/**
 * The engine's public API (no Electron imports). Shells (CLI, engine host, tests) import from here.
 *
 *   locateFfmpeg(): { path, source }        STEMDECK_FFMPEG → ffmpeg-static → @ffmpeg-installer → PATH
 *   probeAudio(file): AudioInfo             duration, rate, channels, codec, tags, hasArtwork, audioStreams
 *   decodeAudio(file, { sampleRate, channels, stream?, signal? }): AsyncIterable<Float32Array[]>
 *                                           planar [channels][frames] chunks, first audio stream by default
 *   new Stft(nFft, hop, center) / await Stft.create(...): forward(x, bins?) → { re, im, bins, frames }
 *                                           ([bins][frames] planes), forwardInto, inverse(re, im, bins, frames, length)
 *   loadRegistry(): ModelRegistry           list(), get(idOrPath), defaultId, problems
 *   verifyModel(model)                      files exist, bytes and sha256 (hash cached per mtime)
 *   separateFile(SeparateOptions): SeparationResult   plan (plan.ts) → stream (stream.ts) → sink (sink.ts)
 *   separateStream(chunks, {adapter, …}) / cascadeStream(chunks, stages): async generators of stem planes
 *   writeAudio(file, planar, sampleRate, format)   atomic (temp + rename)
 *   getRunner(file, { device, threads, worker }) / releaseRunners(paths) / residentRunners()
 *                                           ONNX Runtime sessions (runner.ts: in-thread or worker, one cache)
 *   registerAdapter(io, factory)            third-party io families (adapters/types.ts)
 *   analyzeFile(file) / analyzeMixture(planar, rate): { tempo: { bpm, firstBeatSeconds, firstDownbeatSeconds } | null, key: { name } | null }
 *                                           a song's tempo and key (analysis/)
 * Errors users can hit are StemdeckError(code, one-line message that says what to do).
 */
export { locateFfmpeg, type FfmpegLocation, type FfmpegSource } from './ffmpeg.js';
export { probeAudio, decodeAudio, decodeAll, type AudioInfo, type DecodeOptions } from './decode.js';
export { Stft, hannPeriodic, type Spectrogram } from './stft.js';
export { realFft, createRealFft, fftReady, type RealFft } from './fft.js';
export {
  loadRegistry,
  readManifest,
  verifyModel,
  modelFile,
  manifestFiles,
  cascadeStages,
  modelProblem,
  isCascadeModel,
  sha256File,
  cachedSha256,
  type ModelRegistry,
  type InstalledModel,
  type OnnxModel,
  type CascadeModel,
  type RegistryProblem,
} from './registry.js';
export { availableProviders, defaultThreads, type ProviderReport, type Provider } from './onnx.js';
export { getRunner, acquireRunner, releaseRunners, residentRunners, type Runner, type RunnerOptions, type ModelGraph } from './runner.js';
export {
  separateFile,
  type SeparateOptions,
  type SeparationResult,
  type SeparationProgress,
} from './separate.js';
export {
  writeAudio,
  writeChunks,
  outputFormatOf,
  createStemWriter,
  ensureWritableDir,
  removeStaleTempFiles,
  extensionOf,
  OutputFormatSchema,
  type OutputFormat,
  type StemWriter,
} from './writers.js';
export { registerAdapter, adapterFactory, type ModelAdapter, type AdapterContext, type AdapterFactory, type Planar } from './adapters/index.js';
export { crossfadeWindow, segmentStride, evenPlacement, Segmenter, OverlapAdd, type Placement, type Segment } from './segments.js';
export { separateStream, cascadeStream, streamStats, PlanesFifo, type StreamChunk, type StreamOptions, type StreamProgress, type CascadeStreamStage, type CascadeChunk } from './stream.js';
export { planSeparation, stageWeights, type SeparationPlan, type StagePlan, type PlanOptions } from './plan.js';
export { StemSink } from './sink.js';
export { StemdeckError, isStemdeckError, type StemdeckErrorCode } from './errors.js';
export {
  ModelManifestSchema,
  OnnxModelManifestSchema,
  CascadeManifestSchema,
  DeviceSchema,
  IoFamilySchema,
  isCascade,
  type ModelManifest,
  type OnnxModelManifest,
  type CascadeManifest,
  type Device,
  type IoFamily,
} from './manifest.js';
export { appDataDir, libraryDir, userModelsDir, bundledModelsDir } from './paths.js';
export {
  analyzeFile,
  analyzeMixture,
  MusicAnalyzer,
  estimateTempo,
  estimateKey,
  ANALYSIS_SAMPLE_RATE,
  type MusicAnalysis,
  type TempoEstimate,
  type KeyEstimate,
} from './analysis/index.js';
// the model manager: catalogue, downloads, import, removal (shells: cli/models-manager.ts, host/model-handlers.ts)
export { listCatalogue, listUserModels, removeModel, startDownload, installModel, type CatalogueView, type UserModelView } from './models/manager.js';
export { findCatalogueEntry, loadCatalogue, type CatalogueEntry } from './models/catalogue.js';
export {
  importModel,
  importCascade,
  isCascadeFile,
  modelForOnnxFile,
  ImportNeedsParamsError,
  ImportParamsSchema,
  type ImportParams,
  type ImportResult,
  type CascadeImportResult,
} from './models/import.js';
export { ModelDownload, type DownloadProgress } from './models/download.js';
// exports and the app's own files (the song library, drag-out)
export { exportSong, sweepExportLeftovers, mixdownChunks, NORMALIZE_PEAK, type StemFile, type ExportOptions, type ExportedFile, type ExportFormatName } from './export.js';
export { readWavChunks, readWavInfo, type WavInfo } from './output/wav.js';
export { fileNameWithSuffix, safeFileName, safeFileNameKeepingExtension } from './output/file-names.js';
export { parseNamePattern, patternFileName, stemLabel, shortKeyName, NAME_TOKENS, DAW_NAME_PATTERN, type NamePattern, type NameFields } from './output/name-pattern.js';
export { readWavMetadata, describeStem, parseKeyName, type StemMetadata, type AcidInfo, type BextInfo, type WavChunkList } from './output/wav-metadata.js';
export { createUniqueFolder } from './output/unique-folder.js';
