/**
 * Which failed jobs Retry can help. A retry separates the same file again (the job holds its
 * content hash), so an input that is empty, not audio, cut off, damaged past reading or too short
 * fails the same way every time: for those the app offers no Retry, and the job's message says
 * what to do instead. Anything else (an engine crash, a full disk, a file that may come back, a
 * cancelled job) can succeed next time.
 *
 * Pure: imported by the app's queue (host/job-queue.ts) and the renderer's queue list.
 */

/** Error codes of inputs that cannot succeed as they are. */
export const FINAL_INPUT_ERRORS: ReadonlySet<string> = new Set(['input-not-audio', 'input-corrupt', 'input-too-short']);

export function canRetry(job: { status: string; error: { code: string } | null }): boolean {
  if (job.status === 'cancelled') return true;
  if (job.status !== 'failed') return false;
  return !job.error || !FINAL_INPUT_ERRORS.has(job.error.code);
}
