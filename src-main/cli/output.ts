/**
 * Console output shared by the CLI commands. Conventions:
 * - stdout carries results only (JSON lines with --json, short summaries otherwise);
 * - stderr carries errors (`stemdeck: …`, one line), warnings and progress bars;
 * - progress bars only when stderr is a terminal (nothing is drawn into logs or pipes).
 */
import { isStemdeckError } from '../engine/errors.js';

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function warn(message: string): void {
  process.stderr.write(`stemdeck: warning: ${message}\n`);
}

export function error(message: string): void {
  process.stderr.write(`stemdeck: ${message}\n`);
}

/** A user-facing one-line message for any error (StemdeckError messages already say what to do). */
export function errorMessage(e: unknown): string {
  if (isStemdeckError(e)) return oneLine(e.message);
  const msg = e instanceof Error ? e.message : String(e);
  return `${oneLine(msg)} (unexpected error; please report it with the command you ran)`;
}

export function errorCode(e: unknown): string {
  return isStemdeckError(e) ? e.code : 'internal';
}

/**
 * The CLI's exit codes (README, "Command line"): 0 done; 1 an input failed (or, for `models`,
 * `eval` and `doctor`, the work did); 2 a usage error or an unusable model (nothing was done);
 * 130 cancelled with Ctrl-C.
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 130 } as const;

/** A model that cannot be used (unknown, damaged, wrong contract): the same for every input. */
export function isModelError(e: unknown): boolean {
  return isStemdeckError(e) && e.code.startsWith('model-');
}

export function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ').trim();
}

export function isInteractive(): boolean {
  return Boolean(process.stderr.isTTY) && process.env.TERM !== 'dumb' && !process.env.CI;
}

/** Fixed decimals as a number (for JSON). */
export function round(x: number, digits = 4): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Pads a table of strings into aligned columns. */
export function table(rows: string[][]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, [...c].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c + ' '.repeat(widths[i] - [...c].length))).join('  ')).join('\n');
}
