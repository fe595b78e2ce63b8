/**
 * The engine's public API (no Electron imports). Shells (CLI, engine host, tests) import from here.
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
  sha256File,
  cachedSha256,
  type ModelRegistry,
  type InstalledModel,
  type RegistryProblem,
} from './registry.js';
export { getSession, releaseSessions, availableProviders, defaultThreads, type SessionInfo, type ProviderReport } from './onnx.js';
export {
  separateFile,
  SeparateRequestSchema,
  type SeparateOptions,
  type SeparationResult,
  type SeparationProgress,
} from './separate.js';
export {
  writeAudio,
  createStemWriter,
  ensureWritableDir,
  removeStaleTempFiles,
  extensionOf,
  OutputFormatSchema,
  type OutputFormat,
  type StemWriter,
} from './writers.js';
export { registerAdapter, adapterFactory, type ModelAdapter, type AdapterContext, type AdapterFactory, type Planar } from './adapters/index.js';
export { crossfadeWindow, segmentStride, Segmenter, OverlapAdd } from './segments.js';
export { StemdeckError, isStemdeckError, type StemdeckErrorCode } from './errors.js';
export { ModelManifestSchema, DeviceSchema, IoFamilySchema, type ModelManifest, type Device, type IoFamily } from './manifest.js';
export { appDataDir, libraryDir, userModelsDir, bundledModelsDir } from './paths.js';
