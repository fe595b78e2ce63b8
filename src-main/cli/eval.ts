/**
 * `stemdeck eval --dataset PATH [--model ID|none] [--json]`: a model's SDR / cSDR / SI-SDR per stem
 * on real multitrack music, beside the oracle ideal-ratio-mask ceiling and the mixture floor
 * (src-main/engine/eval.ts has the definitions).
 */
import { Option, type Command } from 'commander';
import { EXIT, error, errorMessage, isInteractive, isModelError, printJson, round, table, warn } from './output.js';
import { DEVICES, parseThreads } from './separate.js';

interface EvalCliOptions {
  dataset: string;
  model?: string;
  json?: boolean;
  device: (typeof DEVICES)[number];
  threads?: number;
  perTrack?: boolean;
  bss?: boolean;
}

function fmt(x: number | null): string {
  if (x === null) return '-';
  if (!Number.isFinite(x)) return String(x);
  return x.toFixed(2);
}

export async function runEval(opts: EvalCliOptions): Promise<number> {
  const { evaluateDataset } = await import('../engine/eval.js');
  let separate: import('../engine/eval.js').SeparateFn | undefined;
  let modelId: string | null = null;
  let modelStems: string[] | undefined;
  if (opts.model !== 'none') {
    const [{ loadRegistry, isCascadeModel, cascadeStages }, { separateFile }] = await Promise.all([
      import('../engine/registry.js'),
      import('../engine/separate.js'),
    ]);
    const registry = await loadRegistry();
    const id = opts.model ?? registry.defaultId;
    if (!id) throw new (await import('../engine/errors.js')).StemdeckError('model-unknown', 'No model is installed; pass --model ID, or --model none for the oracle and floor only.');
    const model = registry.get(id);
    if (isCascadeModel(model)) cascadeStages(model, registry); // a missing stage model: say so before any work
    modelId = model.manifest.id;
    modelStems = model.manifest.stems;
    if (!model.manifest.trained) warn(`model "${modelId}" is untrained ("trained": false): expect figures near or below the floor.`);
    separate = async (input, outDir, signal) => {
      if (input.stream !== 0) throw new Error('internal: the mixture must be the first audio stream');
      const r = await separateFile({
        input: input.file,
        outDir,
        model,
        format: 'wav',
        device: opts.device,
        threads: opts.threads,
        ortWorker: process.env.STEMDECK_ORT_WORKER !== '0', // diagnostics: ONNX Runtime on the main thread
        signal,
      });
      return { model: r.model, outputs: r.outputs };
    };
  }
  const interactive = isInteractive();
  const report = await evaluateDataset({
    dataset: opts.dataset,
    separate,
    modelId,
    modelStems,
    bss: opts.bss,
    onTrack: (e) => {
      if (interactive && e.stage !== 'done') process.stderr.write(`\r\x1b[K[${e.index + 1}/${e.total}] ${e.stage}: ${e.name}`);
      if (interactive && e.stage === 'done' && e.index + 1 === e.total) process.stderr.write('\r\x1b[K');
    },
  });
  const r4 = (x: number | null): number | null => (x === null ? null : round(x, 4));
  const scores = (s: import('../engine/eval.js').StemScores): Record<string, number | null | boolean> => {
    const o: Record<string, number | null | boolean> = { sdr: r4(s.sdr), csdr: r4(s.csdr), sisdr: r4(s.sisdr), oracle: r4(s.oracle), floor: r4(s.floor) };
    for (const k of ['isr', 'sir', 'sar'] as const) if (s[k] !== undefined) o[k] = r4(s[k] ?? null);
    if (s.silent) o.silent = true;
    return o;
  };
  const stems = Object.fromEntries(Object.entries(report.stems).map(([k, s]) => [k, scores(s)]));
  if (opts.json) {
    const out: Record<string, unknown> = { model: report.model, tracks: report.tracks, stems };
    if (opts.perTrack)
      out.perTrack = report.perTrack.map((t) => ({
        name: t.name,
        seconds: t.seconds === undefined ? undefined : round(t.seconds, 3),
        stems: Object.fromEntries(Object.entries(t.stems).map(([k, s]) => [k, scores(s)])),
      }));
    printJson(out);
  } else {
    process.stdout.write(`model: ${report.model ?? '(none: oracle and floor only)'} · tracks: ${report.tracks} · dB\n`);
    const bss = Object.values(report.stems).some((s) => s.sir !== undefined);
    const rows = [['stem', 'sdr', 'csdr', 'sisdr', 'oracle', 'floor', ...(bss ? ['isr', 'sir', 'sar'] : [])]];
    for (const [k, s] of Object.entries(report.stems))
      rows.push([k, fmt(s.sdr), fmt(s.csdr), fmt(s.sisdr), fmt(s.oracle), fmt(s.floor), ...(bss ? [fmt(s.isr ?? null), fmt(s.sir ?? null), fmt(s.sar ?? null)] : [])]);
    process.stdout.write(`${table(rows)}\n`);
    process.stdout.write('sdr: whole-track SDR (MDX), mean over tracks · csdr: museval v4 median of 1-s frames, median over tracks\n');
    process.stdout.write('oracle: ideal ratio mask (STFT 4096/1024) · floor: the mixture as the estimate\n');
    process.stdout.write('a stem silent in a track (below −80 dBFS) is left out of that stem\'s means\n');
  }
  return 0;
}

export function registerEvalCommand(program: Command): Command {
  return program
    .command('eval')
    .description('measure a model on real multitrack music (MUSDB-style .stem.mp4 files or track folders)')
    .requiredOption('--dataset <path>', 'folder of .stem.mp4 files (streams: mixture, drums, bass, other, vocals) or of track folders (mixture.wav + vocals.wav, …)')
    .option('-m, --model <id|path|none>', "model to evaluate (default: the default model); 'none' = oracle and floor only")
    .option('--json', 'print {"model","tracks","stems":{"vocals":{"sdr","csdr","sisdr","oracle","floor"},…}}')
    .option('--per-track', 'with --json: add per-track figures')
    .option('--bss', "also report museval's isr, sir, sar (512-tap distortion filters; slow: minutes per track)")
    .addOption(new Option('--device <device>', 'ONNX Runtime execution provider').choices(DEVICES).default('auto'))
    .option('--threads <n>', 'CPU threads for ONNX Runtime', parseThreads)
    .action(async (opts: EvalCliOptions) => {
      try {
        process.exitCode = await runEval(opts);
      } catch (e) {
        error(errorMessage(e));
        if (opts.json) printJson({ error: errorMessage(e) });
        process.exitCode = isModelError(e) ? EXIT.usage : EXIT.failed; // an unusable model: nothing was measured
      }
    });
}
