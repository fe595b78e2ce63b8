/**
 * Where Stemdeck keeps its files. Everything can be moved with environment
 * variables (tests point STEMDECK_HOME at a temp folder):
 * - STEMDECK_HOME     app data (default: $XDG_DATA_HOME/stemdeck, ~/Library/Application Support/Stemdeck, %APPDATA%\Stemdeck)
 * - STEMDECK_LIBRARY  the song library (default: <home>/library)
 * - STEMDECK_MODELS   downloaded and imported models (default: <home>/models)
 */
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export function appDataDir(): string {
  if (process.env.STEMDECK_HOME) return path.resolve(process.env.STEMDECK_HOME);
  const home = os.homedir();
  if (process.platform === 'darwin') return path.join(home, 'Library', 'Application Support', 'Stemdeck');
  if (process.platform === 'win32') return path.join(process.env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Stemdeck');
  return path.join(process.env.XDG_DATA_HOME ?? path.join(home, '.local', 'share'), 'stemdeck');
}

export function libraryDir(): string {
  return process.env.STEMDECK_LIBRARY ? path.resolve(process.env.STEMDECK_LIBRARY) : path.join(appDataDir(), 'library');
}

export function userModelsDir(): string {
  return process.env.STEMDECK_MODELS ? path.resolve(process.env.STEMDECK_MODELS) : path.join(appDataDir(), 'models');
}

/** The repository (or packaged app) root: resources/ lives under it. */
export function appRoot(): string {
  return path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
}

export function bundledModelsDir(): string {
  return process.env.STEMDECK_BUNDLED_MODELS
    ? path.resolve(process.env.STEMDECK_BUNDLED_MODELS)
    : path.join(appRoot(), 'resources', 'models');
}
