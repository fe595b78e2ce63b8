/**
 * `npm run metrics` — measures bundled models on a real multitrack set and records the figures in
 * their manifests' `metrics` (what the Models page and the model cards show). Not part of `npm test`.
 *
 *   npm run metrics -- [--dataset ../shared/eval/musdb18-7s] [--models a,b] [--dry-run]
 *
 * Each model runs through the CLI's own `stemdeck eval --json` in a child process (the same path a
 * user runs). Writes `metrics[<dataset folder name>] = { sdr: {stem: dB}, csdr: {stem: dB} }`.
 * The evaluation set is for reporting only: nothing may be trained, selected or tuned on it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const modelsDir = path.join(root, 'resources', 'models');

interface Args {
  dataset: string;
  models: string[] | null;
  dryRun: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { dataset: path.resolve(root, '..', 'shared', 'eval', 'musdb18-7s'), models: null, dryRun: false };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if (k === '--dataset') a.dataset = path.resolve(argv[++i] ?? '');
    else if (k === '--models') a.models = (argv[++i] ?? '').split(',').filter(Boolean);
    else if (k === '--dry-run') a.dryRun = true;
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

/** Bundled model ids: every folder of resources/models with a manifest.json. */
function bundledIds(): string[] {
  return fs
    .readdirSync(modelsDir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(modelsDir, d.name, 'manifest.json')))
    .map((d) => d.name)
    .sort();
}

type Figures = Record<string, Record<string, number>>;

function evaluate(id: string, dataset: string): Figures {
  const r = spawnSync(process.execPath, [path.join(root, 'bin', 'stemdeck.js'), 'eval', '--dataset', dataset, '--model', id, '--json'], {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 16 << 20,
  });
  if (r.status !== 0) throw new Error(`eval of ${id} failed (exit ${r.status}): ${r.stderr.trim().split('\n').pop()}`);
  const line = r.stdout.trim().split('\n').pop() ?? '';
  const report = JSON.parse(line) as { stems: Record<string, { sdr: number | null; csdr: number | null }> };
  const out: Figures = { sdr: {}, csdr: {} };
  for (const [stem, s] of Object.entries(report.stems)) {
    if (typeof s.sdr === 'number') out.sdr[stem] = Math.round(s.sdr * 100) / 100;
    if (typeof s.csdr === 'number') out.csdr[stem] = Math.round(s.csdr * 100) / 100;
  }
  return out;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const key = path.basename(args.dataset);
  for (const id of args.models ?? bundledIds()) {
    const file = path.join(modelsDir, id, 'manifest.json');
    const figures = evaluate(id, args.dataset);
    process.stdout.write(`${id}: ${JSON.stringify(figures)}\n`);
    if (args.dryRun) continue;
    const manifest = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
    manifest.metrics = { ...((manifest.metrics as object) ?? {}), [key]: figures };
    fs.writeFileSync(file, JSON.stringify(manifest, null, 2) + '\n');
  }
}

main();
