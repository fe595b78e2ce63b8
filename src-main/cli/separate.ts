/**
 * `stemdeck separate <inputs...>`: each input's stems go to <out>/<input name without its
 * extension>/<stem>.<ext> (".stem.mp4" counts as one extension). Inputs are done one after
 * another; a failing input prints a one-line error (stderr; with --json also a JSON line with
 * "error") and the others still get done; the exit code is 1 if any input failed, 2 for a usage or
 * model error (output.ts EXIT). An explicit --device that cannot be used gets a one-line notice.
 * On a terminal, a progress bar per file on stderr; otherwise no progress output.
 */
import fs from 'node:fs';
import path from 'node:path';
import { format } from 'node:util';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { EXIT, error, errorCode, errorMessage, isInteractive, isModelError, printJson, round, warn } from './output.js';
import type { MusicAnalysis } from '../engine/analysis/index.js';
import { parseNamePattern, patternFileName, DAW_NAME_PATTERN, type NamePattern } from '../engine/output/name-pattern.js';

export const FORMATS = ['wav', 'wav16', 'wav24', 'flac', 'flac16', 'mp3', 'mp3-v0'] as const;
export const DEVICES = ['auto', 'cpu', 'cuda', 'dml', 'coreml'] as const;

export interface SeparateCliOptions {
  model?: string;
  out: string;
  format: (typeof FORMATS)[number];
  stems?: string[];
  device: (typeof DEVICES)[number];
  overlap?: number;
  threads?: number;
  residual: boolean;
  json?: boolean;
  /** Stem file names, e.g. "{song} - {stem}[ - {bpm} BPM][ - {key}]" (engine/output/name-pattern.ts); default `<stem>`. */
  namePattern?: NamePattern;
}

/** "120 BPM, A minor" (or "no clear tempo" / "no clear key"). */
export function describeMusic(m: MusicAnalysis): string {
  return `${m.tempo ? `${m.tempo.bpm} BPM` : 'no clear tempo'}, ${m.key ? m.key.name : 'no clear key'}`;
}

/** "Song.flac" → "Song"; "Track.stem.mp4" → "Track". */
export function songFolderName(input: string): string {
  const base = path.basename(input);
  const stripped = base.replace(/\.stem\.mp4$/i, '');
  if (stripped !== base) return stripped;
  const ext = path.extname(base);
  return ext && ext !== base ? base.slice(0, -ext.length) : base;
}

function parseOverlap(v: string): number {
  const x = Number(v);
  if (!Number.isFinite(x) || x < 0 || x > 0.9) throw new InvalidArgumentError('--overlap must be a number from 0 to 0.9 (e.g. 0.25)');
  return x;
}

export function parseThreads(v: string): number {
  const x = Number(v);
  if (!Number.isInteger(x) || x < 1 || x > 256) throw new InvalidArgumentError('--threads must be a whole number ≥ 1');
  return x;
}

function parsePattern(v: string): NamePattern {
  try {
    return parseNamePattern(v);
  } catch (e) {
    throw new InvalidArgumentError(errorMessage(e));
  }
}

function parseStems(v: string): string[] {
  const list = v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  if (list.length === 0) throw new InvalidArgumentError('--stems needs stem names, e.g. --stems vocals,drums');
  return [...new Set(list)];
}

/** Minimal progress display: one cli-progress bar per file, on stderr, only on a terminal. */
class Progress {
  private multi: import('cli-progress').MultiBar | null = null;
  private bar: import('cli-progress').SingleBar | null = null;

  async start(name: string): Promise<void> {
    if (!isInteractive()) return;
    if (!this.multi) {
      const { MultiBar, Presets } = await import('cli-progress');
      this.multi = new MultiBar(
        {
          stream: process.stderr,
          format: ' {bar} {percentage}% | {stage} | ETA {etaText} | {name}',
          hideCursor: true,
          clearOnComplete: false,
          stopOnComplete: false,
          barsize: 30,
          autopadding: true,
          fps: 10,
        },
        Presets.shades_classic,
      );
    }
    const shown = name.length > 50 ? `…${name.slice(-49)}` : name;
    this.bar = this.multi.create(100, 0, { name: shown, stage: 'starting', etaText: '--' });
  }

  update(fraction: number, stage: string, eta: number | null): void {
    this.bar?.update(Math.round(fraction * 1000) / 10, { stage, etaText: eta === null ? '--' : `${Math.ceil(eta)}s` });
  }

  finish(stage: string): void {
    this.bar?.update(this.bar.getTotal(), { stage, etaText: '0s' });
    this.bar = null;
  }

  fail(): void {
    this.bar?.update({ stage: 'FAILED', etaText: '--' });
    this.bar = null;
  }

  /** Prints a line above the bars (or plainly to stderr when there are none). */
  log(line: string): void {
    if (this.multi) this.multi.log(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  }

  stop(): void {
    this.multi?.stop();
    this.multi = null;
  }
}

export async function runSeparate(inputs: string[], opts: SeparateCliOptions): Promise<number> {
  const [{ separateFile }, { loadRegistry, isCascadeModel, cascadeStages, verifyModel }, { StemdeckError }] = await Promise.all([
    import('../engine/separate.js'),
    import('../engine/registry.js'),
    import('../engine/errors.js'),
  ]);

  // Resolve the model once: a bad model fails every input the same way, so say it once and stop.
  let model: import('../engine/registry.js').InstalledModel;
  try {
    const registry = await loadRegistry();
    const id = opts.model ?? registry.defaultId;
    if (!id) throw new StemdeckError('model-unknown', 'No model is installed. Reinstall Stemdeck or add one with the model manager (`stemdeck models list`).');
    try {
      model = registry.get(id);
    } catch (e) {
      // a bare .onnx without a manifest: detect its contract (HTDemucs / UVR MDX-Net) in memory.
      if (!/\.onnx$/i.test(id) || !(await import('node:fs')).existsSync(id)) throw e;
      model = await (await import('../engine/models/import.js')).modelForOnnxFile(id);
    }
    // a cascade: its stage models must be installed and fit (a clear error before any work)
    if (isCascadeModel(model)) cascadeStages(model, registry);
    // its files (inside its folder, regular, right size, checksum; cached): a damaged model stops here
    await verifyModel(model, registry);
  } catch (e) {
    const msg = errorMessage(e);
    error(msg);
    if (opts.json) for (const input of inputs) printJson({ input, error: msg, code: errorCode(e) });
    return EXIT.usage;
  }
  const m = model.manifest;
  if (!m.trained)
    warn(`model "${m.id}" is untrained ("trained": false): its stems are placeholders, not real separations. Pick a trained model with --model (see \`stemdeck models list\`).`);
  if (opts.stems) {
    const unknown = opts.stems.filter((s) => !m.stems.includes(s));
    if (unknown.length) {
      const msg = `model "${m.id}" has no stem ${unknown.map((s) => `"${s}"`).join(', ')}; its stems are ${m.stems.join(', ')}. Fix --stems.`;
      error(msg);
      if (opts.json) for (const input of inputs) printJson({ input, error: msg, code: 'invalid-request' });
      return EXIT.usage;
    }
  }
  // An explicit --device this machine cannot use runs on the CPU: say so (once) before the work.
  let deviceNoticed = false;
  const noticeDevice = (reason: string): void => {
    if (deviceNoticed) return;
    deviceNoticed = true;
    warn(`--device ${opts.device} cannot be used here, so ONNX Runtime runs on the CPU (${reason}). Run \`stemdeck doctor\` to see what this machine can use.`);
  };
  const explicitDevice = opts.device !== 'auto' && opts.device !== 'cpu';
  if (explicitDevice) {
    const { availableProviders } = await import('../engine/onnx.js');
    const p = availableProviders().find((x) => x.name === opts.device);
    if (!p?.available) noticeDevice(p?.note ?? 'not available');
  }

  const controller = new AbortController();
  const onSigint = (): void => {
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
    process.stderr.write('\nstemdeck: cancelling… (press Ctrl-C again to quit at once)\n');
  };
  process.on('SIGINT', onSigint);

  const progress = new Progress();
  // Engine notes (console.warn, e.g. the execution-provider fallback) go above the bars, not through them.
  const consoleWarn = console.warn;
  console.warn = (...args: unknown[]): void => progress.log(format(...args));
  const usedDirs = new Map<string, number>();
  let failed = 0;
  let modelFailed = false;
  try {
    for (const input of inputs) {
      if (controller.signal.aborted) {
        failed++;
        if (opts.json) printJson({ input, error: 'Cancelled before it started.', code: 'cancelled' });
        continue;
      }
      // Two inputs with the same name in one call get "name", "name (2)", … folders.
      const name = songFolderName(input);
      const key = path.resolve(opts.out, name);
      const n = (usedDirs.get(key) ?? 0) + 1;
      usedDirs.set(key, n);
      const outDir = n === 1 ? key : `${key} (${n})`;
      await progress.start(path.basename(input));
      try {
        const r = await separateFile({
          input,
          outDir,
          model,
          format: opts.format,
          stems: opts.stems,
          device: opts.device,
          threads: opts.threads,
          overlap: opts.overlap,
          residual: opts.residual === false ? false : undefined,
          ortWorker: process.env.STEMDECK_ORT_WORKER !== '0', // diagnostics: ONNX Runtime on the main thread
          signal: controller.signal,
          // tempo and key from the mixture the separation decodes (no second decode): printed, and in the WAV stems
          analyze: true,
          ...(opts.namePattern
            ? {
                stemFileName: (stem: string, ext: string, music: MusicAnalysis | null) =>
                  patternFileName(opts.namePattern!, { song: name, stem, tempo: music?.tempo?.bpm, key: music?.key?.name, model: m.id }, `.${ext}`),
              }
            : {}),
          onProgress: (p) => progress.update(p.fraction, p.stage, p.etaSeconds),
        });
        progress.finish(`done in ${r.seconds.toFixed(1)}s, ${r.realtimeFactor.toFixed(1)}× real time`);
        // the requested provider may fail only when its session is created (e.g. no GPU driver)
        if (r.deviceFallback) noticeDevice(r.deviceFallback);
        // the input was separated, but something was wrong with it (NaN samples, a damaged spot, …)
        for (const w of r.warnings) progress.log(`stemdeck: warning: ${w.message}`);
        const music: MusicAnalysis = r.music ?? { tempo: null, key: null };
        if (isInteractive() && !opts.json) progress.log(`${path.basename(input)}: ${describeMusic(music)}`);
        if (opts.json) {
          printJson({
            input,
            model: r.model,
            outputs: r.outputs,
            seconds: round(r.seconds, 3),
            realtimeFactor: round(r.realtimeFactor, 2),
            provider: r.provider,
            ...(r.deviceFallback ? { providerFallback: r.deviceFallback } : {}),
            warnings: r.warnings,
            tempo: music.tempo?.bpm ?? null,
            firstDownbeatSeconds: music.tempo?.firstDownbeatSeconds == null ? null : round(music.tempo.firstDownbeatSeconds, 3),
            key: music.key?.name ?? null,
          });
        } else if (!isInteractive()) {
          process.stdout.write(
            `${input} → ${outDir} (${Object.keys(r.outputs).join(', ')}; ${r.seconds.toFixed(1)} s, ${r.realtimeFactor.toFixed(1)}× real time; ${describeMusic(music)})\n`,
          );
        }
      } catch (e) {
        failed++;
        if (isModelError(e)) modelFailed = true; // e.g. ONNX Runtime cannot load the model's file
        progress.fail();
        const msg = errorMessage(e);
        progress.log(`stemdeck: ${input}: ${msg}`);
        if (opts.json) printJson({ input, error: msg, code: errorCode(e) });
      }
    }
  } finally {
    progress.stop();
    console.warn = consoleWarn;
    process.off('SIGINT', onSigint);
  }
  if (isInteractive() && !opts.json)
    process.stderr.write(`${inputs.length - failed} of ${inputs.length} done; stems in ${path.resolve(opts.out)}\n`);
  if (controller.signal.aborted) return EXIT.cancelled;
  return modelFailed ? EXIT.usage : failed > 0 ? EXIT.failed : EXIT.ok;
}

export function registerSeparateCommand(program: Command): Command {
  return program
    .command('separate')
    .description('split audio files into stems: <out>/<song>/<stem>.<ext>')
    .argument('<inputs...>', 'audio or video files (wav, flac, mp3, m4a, ogg, opus, aiff, .stem.mp4, …)')
    .option('-m, --model <id|path>', 'model id (see `stemdeck models list`) or path to a model manifest/.onnx (default: the default model)')
    .option('-o, --out <dir>', 'output folder', 'stems')
    .addOption(new Option('-f, --format <format>', 'output format: wav = 32-bit float, flac = 24-bit, mp3 = 320 kbit/s').choices(FORMATS).default('wav'))
    .option('--stems <list>', 'only these stems, comma-separated (e.g. vocals,drums)', parseStems)
    .addOption(new Option('--device <device>', 'ONNX Runtime execution provider (auto falls back to CPU)').choices(DEVICES).default('auto'))
    .option('--overlap <fraction>', "segment overlap 0–0.9 (default: the model's, usually 0.25)", parseOverlap)
    .option('--threads <n>', 'CPU threads for ONNX Runtime (default: all cores, at most 8)', parseThreads)
    .option('--no-residual', 'do not derive the residual stem as mixture − the others')
    .option(
      '--name-pattern <pattern>',
      `stem file names from {song} {stem} {bpm} {key} {model}; [ ] drops text whose token is unknown (e.g. "${DAW_NAME_PATTERN}"; default: <stem>)`,
      parsePattern,
    )
    .option('--json', 'print one JSON line per input: {"input","model","outputs","seconds","realtimeFactor","provider","warnings","tempo","firstDownbeatSeconds","key"} (tempo: BPM or null, firstDownbeatSeconds: the first bar\'s start or null, key: e.g. "A minor" or null)')
    .addHelpText(
      'after',
      `
Examples:
  stemdeck separate song.mp3
  stemdeck separate *.flac --out ~/Stems --format flac --json
  stemdeck separate song.wav --model ${'<id>'} --stems vocals --device cpu --threads 2
  stemdeck separate song.mp3 --name-pattern "${DAW_NAME_PATTERN}"   # Song - Vocals - 120 BPM - A min.wav`,
    )
    .action(async (inputs: string[], opts: SeparateCliOptions) => {
      if (opts.out && fs.existsSync(opts.out) && !fs.statSync(opts.out).isDirectory()) {
        error(`--out "${opts.out}" is a file, not a folder. Pick a folder for the stems.`);
        process.exitCode = EXIT.usage;
        return;
      }
      process.exitCode = await runSeparate(inputs, opts);
    });
}
