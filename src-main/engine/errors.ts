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
  | 'internal';

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
