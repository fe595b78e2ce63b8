/**
 * Errors a user can hit. Every one carries a stable code and a message that says
 * what to do; shells show `message` as is (one line).
 */
export type StemdeckErrorCode =
  | 'input-missing'
  | 'input-not-audio'
  | 'input-corrupt'
  | 'model-unknown'
  | 'model-corrupt'
  | 'model-contract'
  | 'output-unwritable'
  | 'disk-full'
  | 'ffmpeg-missing'
  | 'cancelled'
  | 'engine-crashed'
  | 'path-forbidden'
  | 'network'
  | 'checksum'
  | 'invalid-request'
  | 'internal'
  | 'input-too-short';

/**
 * Something wrong that did not stop the job (what was done about it is in the message): with the
 * input (decode.ts), or with what the job could add to its stems (the tempo/key analysis, the late
 * tags of FLAC/MP3 stems). Shells show it beside the result (CLI: a warning line and `--json`
 * "warnings"; app: on the finished job, listed by code, so a job has at most one of each code).
 */
export type StemdeckWarningCode = 'input-non-finite' | 'input-damaged' | 'input-length' | 'analysis-failed' | 'output-tags-missing';
export interface StemdeckWarning {
  code: StemdeckWarningCode;
  message: string;
}

export class StemdeckError extends Error {
  constructor(
    readonly code: StemdeckErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StemdeckError';
  }
}

export function isStemdeckError(e: unknown): e is StemdeckError {
  return e instanceof StemdeckError;
}

/**
 * Why a file-system call failed, in words a user can act on (no bare errno codes), e.g.
 * "it is on a read-only drive". For messages like `Cannot write to "X": <reason>.`
 */
export function fsErrorReason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'a folder on its path does not exist and cannot be created there (a removed drive, or a read-only or system location)';
    case 'EROFS':
      return 'it is on a read-only drive';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder';
    case 'EISDIR':
      return 'it is a folder';
    case 'ELOOP':
      return 'its symbolic links point in a loop';
    case 'ENAMETOOLONG':
      return 'the path is too long';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the disk is full';
    default:
      return (e as Error)?.message ?? String(e);
  }
}
