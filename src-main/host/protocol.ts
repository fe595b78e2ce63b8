/** Messages between the app (parent) and the engine host process (child). Structured-clone safe. */
import type { ApiError, ApiWarning, LibraryFormat, SeparationSettings } from '../api/contract.js';
import type { LiveState } from '../engine/separate-live.js';

export interface RunJob {
  id: string;
  input: string;
  /** <library>/.tmp-<jobId>: the worker writes stems/, peaks.bin, artwork.jpg, song.json here. */
  staging: string;
  songId: string;
  settings: SeparationSettings;
  source: { path: string; name: string; hash: string; bytes: number };
  /** This model's measured speed on this computer (× real time, eta.ts), null before its first song. */
  measuredSpeed?: number | null;
  /** Sample format of the stems kept in the library (Settings); 32-bit float when absent. */
  libraryFormat?: LibraryFormat;
  /** Separate in live mode (play while it separates, engine/separate-live.ts), its files in `dir`; the worker may decline for very long inputs. */
  live?: { dir: string };
}

/** A live job's state as the engine reports it (frames at the model's rate). */
export type LiveJobState = LiveState;

export type ToHost =
  | { type: 'run'; job: RunJob }
  | { type: 'cancel'; id: string }
  /** Release the ONNX Runtime sessions of the model files in these folders (removed or re-imported); [] only asks. */
  | { type: 'release'; id: number; dirs: string[] }
  /** The listener's position in a live job. */
  | { type: 'playhead'; id: string; seconds: number; playing: boolean }
  | { type: 'shutdown' };

export type FromHost =
  | { type: 'ready'; pid: number }
  | { type: 'progress'; id: string; stage: 'decode' | 'separate' | 'write' | 'finalize'; fraction: number; etaSeconds: number | null }
  | { type: 'done'; id: string; staging: string; warnings?: ApiWarning[] }
  | { type: 'failed'; id: string; error: ApiError }
  /** A live job's state changed. */
  | { type: 'live'; id: string; state: LiveJobState }
  /** Answer to 'release': the model files that still have a session in the engine host. */
  | { type: 'released'; id: number; resident: string[] };
