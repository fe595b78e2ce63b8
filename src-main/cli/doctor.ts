/**
 * `stemdeck doctor [--json] [--install-cuda]`: what this installation can use — ffmpeg,
 * ONNX Runtime and its execution providers, Electron, the folders, the bundled models.
 * `--install-cuda` fetches onnxruntime-node's CUDA provider libraries on demand (its own
 * install script with ONNXRUNTIME_NODE_INSTALL=1; npm install skips them, see .npmrc).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { Command } from 'commander';
import { error, errorMessage, printJson, table, warn } from './output.js';
import { appDataDir, bundledModelsDir, libraryDir, userModelsDir } from '../engine/paths.js';

const require = createRequire(import.meta.url);

export interface DoctorReport {
  ok: boolean;
  node: string;
  platform: string;
  cpus: number;
  ffmpeg: { path: string; source: string; version: string | null } | { error: string };
  onnxruntime: {
    version: string | null;
    providers: { name: string; available: boolean; note: string }[];
    error?: string;
  };
  electron: { present: boolean; version: string | null; binary: string | null; note: string };
  folders: Record<'appData' | 'library' | 'userModels' | 'bundledModels', { path: string; exists: boolean }>;
  models: {
    default: string | null;
    /** Why the default model cannot be used (broken or missing manifest, damaged file, missing stage); absent when it can. */
    defaultProblem?: string;
    bundled: { id: string; architecture: string; trained: boolean; problem?: string }[];
    user: { id: string; architecture: string; trained: boolean; problem?: string }[];
    problems: string[];
  };
}

function ffmpegVersion(file: string): string | null {
  const r = spawnSync(file, ['-hide_banner', '-version'], { encoding: 'utf8', timeout: 15000 });
  const first = (r.stdout ?? '').split('\n')[0]?.trim();
  const m = /^ffmpeg version (\S+)/.exec(first ?? '');
  return m ? m[1] : first || null;
}

function electronInfo(): DoctorReport['electron'] {
  let version: string | null = null;
  try {
    version = (JSON.parse(fs.readFileSync(require.resolve('electron/package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return {
      present: false,
      version: null,
      binary: null,
      note: 'the electron package is not installed (optional): the app opens in your browser instead (npm start); run `npm install electron` with internet access for the desktop window',
    };
  }
  try {
    const bin = require('electron') as unknown;
    if (typeof bin === 'string' && fs.existsSync(bin)) return { present: true, version, binary: bin, note: 'Electron binary present' };
  } catch {
    // electron's index.js throws when its binary was never downloaded
  }
  return {
    present: false,
    version,
    binary: null,
    note: 'the electron package is installed but its binary was not downloaded (npm skipped its install script): run `node node_modules/electron/install.js` with internet access; without it the app opens in your browser',
  };
}

function folder(p: string): { path: string; exists: boolean } {
  return { path: p, exists: fs.existsSync(p) };
}

export async function collectDoctorReport(): Promise<DoctorReport> {
  let ffmpeg: DoctorReport['ffmpeg'];
  try {
    const { locateFfmpeg } = await import('../engine/ffmpeg.js');
    const loc = locateFfmpeg();
    ffmpeg = { path: loc.path, source: loc.source, version: ffmpegVersion(loc.path) };
  } catch (e) {
    ffmpeg = { error: errorMessage(e) };
  }

  let onnxruntime: DoctorReport['onnxruntime'];
  try {
    const { ort, availableProviders } = await import('../engine/onnx.js');
    onnxruntime = { version: ort.env.versions?.node ?? ort.env.versions?.common ?? null, providers: availableProviders() };
  } catch (e) {
    onnxruntime = {
      version: null,
      providers: [],
      error: `ONNX Runtime (onnxruntime-node) cannot be loaded: ${errorMessage(e)}. Run \`npm install\` again.`,
    };
  }

  const models: DoctorReport['models'] = { default: null, bundled: [], user: [], problems: [] };
  try {
    const { loadRegistry, modelProblem } = await import('../engine/registry.js');
    const reg = await loadRegistry();
    models.default = reg.defaultId;
    const cannotRun: string[] = [];
    let defaultProblem = reg.defaultProblem;
    for (const m of reg.list()) {
      // a model whose file is outside its folder, damaged or missing, or a cascade whose stage
      // model is missing or unfit, is listed with why it cannot run
      const problem = modelProblem(m, reg);
      const e = { id: m.manifest.id, architecture: m.manifest.architecture, trained: m.manifest.trained, ...(problem ? { problem } : {}) };
      (m.origin === 'bundled' ? models.bundled : models.user).push(e);
      if (problem && m.manifest.id === reg.defaultId) defaultProblem = `The default model "${m.manifest.id}" cannot be used: ${problem}`;
      else if (problem) cannotRun.push(problem);
    }
    if (defaultProblem) models.defaultProblem = defaultProblem;
    // the default's own broken manifest is said once, by defaultProblem
    const brokenDefault = reg.defaultProblem && reg.defaultId ? reg.problemOf(reg.defaultId) : undefined;
    models.problems = [...reg.problems.filter((p) => p !== brokenDefault).map((p) => p.message), ...cannotRun];
  } catch (e) {
    models.problems.push(errorMessage(e));
  }

  const report: DoctorReport = {
    ok: false,
    node: process.version,
    platform: `${process.platform}/${process.arch}`,
    cpus: typeof os.availableParallelism === 'function' ? os.availableParallelism() : os.cpus().length,
    ffmpeg,
    onnxruntime,
    electron: electronInfo(),
    folders: {
      appData: folder(appDataDir()),
      library: folder(libraryDir()),
      userModels: folder(userModelsDir()),
      bundledModels: folder(bundledModelsDir()),
    },
    models,
  };
  report.ok = !('error' in ffmpeg) && !onnxruntime.error && models.bundled.length + models.user.length > 0 && !models.defaultProblem;
  return report;
}

function printReport(r: DoctorReport): void {
  const lines: string[][] = [];
  lines.push(['node', `${r.node} on ${r.platform}, ${r.cpus} cores`]);
  if ('error' in r.ffmpeg) lines.push(['ffmpeg', `MISSING: ${r.ffmpeg.error}`]);
  else lines.push(['ffmpeg', `${r.ffmpeg.version ?? '?'} (${r.ffmpeg.source}) ${r.ffmpeg.path}`]);
  if (r.onnxruntime.error) lines.push(['onnxruntime', `MISSING: ${r.onnxruntime.error}`]);
  else {
    lines.push(['onnxruntime', `onnxruntime-node ${r.onnxruntime.version ?? '?'}`]);
    for (const p of r.onnxruntime.providers) lines.push([`  ${p.name}`, `${p.available ? 'available' : 'not available'} — ${p.note}`]);
  }
  lines.push(['electron', r.electron.present ? `${r.electron.version} ${r.electron.binary}` : `absent — ${r.electron.note}`]);
  lines.push(['app data', `${r.folders.appData.path}${r.folders.appData.exists ? '' : ' (not created yet)'}`]);
  lines.push(['song library', `${r.folders.library.path}${r.folders.library.exists ? '' : ' (not created yet)'}`]);
  lines.push(['your models', `${r.folders.userModels.path}${r.folders.userModels.exists ? '' : ' (not created yet)'}`]);
  lines.push(['bundled models', r.folders.bundledModels.path]);
  const fmt = (m: { id: string; trained: boolean }): string => `${m.id}${m.id === r.models.default ? ' (default)' : ''}${m.trained ? '' : ' [untrained]'}`;
  lines.push(['  bundled', r.models.bundled.map(fmt).join(', ') || 'none']);
  lines.push(['  yours', r.models.user.map(fmt).join(', ') || 'none']);
  if (r.models.defaultProblem) lines.push(['default model', `BROKEN: ${r.models.defaultProblem}`]);
  else if (r.models.bundled.length + r.models.user.length === 0) lines.push(['models', 'MISSING: no model is installed; reinstall Stemdeck']);
  process.stdout.write(`${table(lines)}\n`);
  for (const p of r.models.problems) warn(p);
  const cuda = r.onnxruntime.providers.find((p) => p.name === 'cuda');
  if (r.platform === 'linux/x64' && cuda && !cuda.available)
    process.stdout.write('GPU: with an NVIDIA GPU (CUDA 12, cuDNN 9), run `stemdeck doctor --install-cuda` to fetch the CUDA provider.\n');
  process.stdout.write(r.ok ? 'All set: `stemdeck separate <song>` will work.\n' : 'Not ready: fix the MISSING or BROKEN items above.\n');
}

function ortRoot(): string {
  return path.dirname(require.resolve('onnxruntime-node/package.json'));
}

/** Runs onnxruntime-node's own install script for the CUDA 12 provider; resolves to an exit code. */
export async function installCuda(): Promise<number> {
  const platform = `${process.platform}/${process.arch}`;
  if (platform !== 'linux/x64') {
    error(
      `--install-cuda is for Linux x64: onnxruntime-node ships no downloadable CUDA provider for ${platform}` +
        (process.platform === 'win32' ? ' (use --device dml for DirectML on Windows).' : '.'),
    );
    return 1;
  }
  const root = ortRoot();
  const script = path.join(root, 'script', 'install.js');
  process.stderr.write(
    'Fetching the ONNX Runtime CUDA 12 provider (Microsoft.ML.OnnxRuntime.Gpu.Linux from api.nuget.org, a few hundred MB)…\n' +
      'It needs internet access, an NVIDIA GPU driver, CUDA 12 and cuDNN 9 to be used.\n',
  );
  // The script logs "Downloading …" / "Extracting …" on stdout (shown); failures end in an
  // unhandled rejection with a stack trace on stderr (kept, and reduced to its error line).
  let errText = '';
  const code = await new Promise<number>((resolve) => {
    const child = spawn(process.execPath, [script], {
      cwd: root,
      // '1' = force-install this platform's extra files (CUDA 12 on linux/x64), overriding .npmrc's "skip".
      // (Not 'cuda12': onnxruntime-node 1.30's parseInstallFlag returns undefined for named values.)
      env: { ...process.env, ONNXRUNTIME_NODE_INSTALL: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (d: Buffer) => process.stderr.write(d));
    child.stderr.on('data', (d: Buffer) => {
      errText = (errText + d.toString('utf8')).slice(-8000);
    });
    child.on('error', (e) => {
      errText += `\nError: ${e.message}`;
      resolve(1);
    });
    child.on('close', (c) => resolve(c ?? 1));
  });
  const lib = path.join(root, 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so');
  if (code === 0 && fs.existsSync(lib)) {
    process.stderr.write(`CUDA provider installed: ${lib}\nUse it with \`stemdeck separate --device cuda …\` (or auto).\n`);
    return 0;
  }
  const errorLine = /^\w*Error: .*$/m.exec(errText)?.[0] ?? errText.trim().split('\n').pop() ?? '';
  const network = /ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ENETUNREACH|EHOSTUNREACH|getaddrinfo|socket hang up|proxy/i.test(errText);
  error(
    network
      ? `could not fetch the CUDA provider: no connection to api.nuget.org (${errorLine.trim()}). ` +
          'It needs internet access; CPU separation keeps working. Connect and run `stemdeck doctor --install-cuda` again.'
      : `could not install the CUDA provider (${errorLine.trim() || `install script exit code ${code}`}). ` +
          'CPU separation keeps working; run `stemdeck doctor --install-cuda` again, or reinstall with `npm install`.',
  );
  return 1;
}

export function registerDoctorCommand(program: Command): Command {
  return program
    .command('doctor')
    .description('check ffmpeg, ONNX Runtime (execution providers), Electron, folders and models')
    .option('--json', 'print the report as JSON')
    .option('--install-cuda', "fetch ONNX Runtime's CUDA provider now (needs internet; Linux x64)")
    .action(async (opts: { json?: boolean; installCuda?: boolean }) => {
      try {
        if (opts.installCuda) {
          process.exitCode = await installCuda();
          return;
        }
        const report = await collectDoctorReport();
        if (opts.json) printJson(report);
        else printReport(report);
        process.exitCode = report.ok ? 0 : 1;
      } catch (e) {
        error(errorMessage(e));
        process.exitCode = 1;
      }
    });
}
