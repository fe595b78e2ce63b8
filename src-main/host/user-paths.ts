/**
 * Messages name the user's file, never Stemdeck's copy of it: the browser shell uploads a dropped
 * file to `<app data>/imports/<12 hex>/<name>`, and errors from the engine or the model manager
 * name that path (issue 14.7). `hideImportFolders` leaves only `<name>`.
 */
import fs from 'node:fs';
import path from 'node:path';

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const UPLOAD_FOLDER = String.raw`[\\/][0-9a-f]{12}[\\/]`;
/** Any path ending in imports/<12 hex>/ up to a space or quote (app-data folders without spaces). */
const ANY_IMPORTS = new RegExp(String.raw`(?:file://)?(?:[A-Za-z]:)?[^\s"'\`(]*[\\/]imports` + UPLOAD_FOLDER, 'g');

export function importFolderPattern(importsDir: string): RegExp {
  let real = importsDir;
  try {
    real = fs.realpathSync(importsDir);
  } catch {
    /* not created yet */
  }
  const dirs = [...new Set([importsDir, real, path.resolve(importsDir)])].map(escape).join('|');
  return new RegExp(`(?:file://)?(?:${dirs})${UPLOAD_FOLDER}`, 'g');
}

export function hideImportFolders(text: string, pattern: RegExp): string {
  return text.replace(pattern, '').replace(ANY_IMPORTS, '');
}
