/**
 * Tokens that mark temp files and folders with their writer: `<pid>-<hex8>`. A sweep removes what
 * a token's writer left only once that writer is gone: its process no longer runs, or it is this
 * process (a restarted app or engine host can get the pid of the one that was killed) and the
 * token is not one this process handed out and still uses.
 */
import crypto from 'node:crypto';

const inUse = new Set<string>();

/** A fresh token of this process, in use until released. */
export function newToken(): string {
  const token = `${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
  inUse.add(token);
  return token;
}

export function releaseToken(token: string): void {
  inUse.delete(token);
}

/** Matches a token inside a name (one capture group: the token). */
export const TOKEN_PATTERN = '(\\d+-[0-9a-f]{8})';

/** Whether process `pid` runs (EPERM: it runs under another user). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True when the writer that made `token` can no longer be using what it marks. */
export function isStale(token: string): boolean {
  const pid = Number(token.split('-')[0]);
  if (pid === process.pid) return !inUse.has(token);
  return !processAlive(pid);
}
