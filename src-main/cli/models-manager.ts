/**
 * `stemdeck models install|import|remove` (the model manager) and the catalogue part of
 * `models list`. Hooked into E2's `models` command (./models.ts) by addModelManagerCommands.
 *
 *   stemdeck models install <id> [--accept-terms] [--json]   download + verify + install
 *   stemdeck models import <file.onnx> [--id …] [--n-fft N --compensate X --primary stem]
 *                                      [--stems a,b,c] [--license …] [--replace] [--json]
 *   stemdeck models import <cascade.json> [--id …] [--name …] [--license …] [--replace] [--json]
 *   stemdeck models remove <id> [--force] [--json]   (--force: even if a cascade uses it as a stage)
 *
 * Ctrl-C during an install pauses it (the partial download is kept); running the same install
 * again resumes it with an HTTP Range request.
 */
import type { Command } from 'commander';
import { createInterface } from 'node:readline/promises';
import { EXIT, error, errorCode, errorMessage, isInteractive, printJson, table, warn } from './output.js';

/** A catalogue entry as listed by `models list --json` (beside the installed models). */
export interface CatalogueListEntry {
  id: string;
  name: string;
  architecture: string;
  io: string;
  stems: string[];
  sampleRate: number;
  trained: true;
  params: number;
  default: false;
  origin: 'catalogue';
  installed: boolean;
  url: string;
  sha256: string;
  bytes: number;
  license: string;
  terms: string;
  partialBytes: number;
  [key: string]: unknown;
}

export async function catalogueListEntries(): Promise<CatalogueListEntry[]> {
  const { listCatalogue } = await import('../engine/models/manager.js');
  const { loadCatalogue } = await import('../engine/models/catalogue.js');
  const contracts = new Map(loadCatalogue().models.map((m) => [m.id, m.contract]));
  return (await listCatalogue()).map((m) => ({
    id: m.id,
    name: m.name,
    architecture: m.architecture,
    io: contracts.get(m.id)?.io ?? m.architecture,
    stems: m.stems,
    sampleRate: contracts.get(m.id)?.sampleRate ?? 44100,
    trained: true,
    params: 0,
    default: false,
    origin: 'catalogue',
    installed: m.installed,
    url: m.url,
    sha256: m.sha256,
    bytes: m.bytes,
    license: m.license,
    terms: m.terms,
    partialBytes: m.partialBytes,
    description: m.description,
  }));
}

const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;

/** Human table of the downloadable models (printed under `models list`). */
export async function printCatalogueTable(): Promise<void> {
  const entries = await catalogueListEntries();
  if (entries.length === 0) return;
  const rows = [['', 'id', 'architecture', 'stems', 'size', 'licence']];
  for (const m of entries)
    rows.push([m.installed ? 'installed' : m.partialBytes ? 'partial' : '', m.id, m.architecture, m.stems.join(','), mb(m.bytes), m.license]);
  process.stdout.write(`\nAvailable to download (stemdeck models install <id>):\n${table(rows)}\n`);
}

/** Exit code 1: the operation failed (the message says why); 2 for a bad option value (usage). */
function fail(e: unknown, json: boolean | undefined, exitCode: number = EXIT.failed): void {
  if (json) printJson({ error: errorCode(e), message: errorMessage(e) });
  error(errorMessage(e));
  process.exitCode = exitCode;
}

async function askTerms(name: string, terms: string): Promise<boolean> {
  if (!process.stdin.isTTY || !process.stderr.isTTY) return false;
  process.stderr.write(`\n${name}: terms of use\n${terms}\n\n`);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question('Accept these terms and download? [y/N] ');
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}

function formatEta(s: number | null): string {
  if (s === null || !Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  return `${m}:${String(Math.round(s % 60)).padStart(2, '0')}`;
}

export function addModelManagerCommands(models: Command): void {
  models
    .command('install <id>')
    .description('download a model from the catalogue (verified by sha256) into your models folder')
    .option('--accept-terms', "accept the model's terms of use (shown otherwise)")
    .option('--replace', 'replace the model if it is already installed')
    .option('--json', 'print the result as one JSON line')
    .action(async (id: string, opts: { acceptTerms?: boolean; replace?: boolean; json?: boolean }) => {
      const { findCatalogueEntry } = await import('../engine/models/catalogue.js');
      const { installModel } = await import('../engine/models/manager.js');
      try {
        const entry = findCatalogueEntry(id);
        let accepted = opts.acceptTerms === true;
        if (!accepted) accepted = await askTerms(entry.name, entry.terms);
        if (!accepted) {
          fail(
            new (await import('../engine/errors.js')).StemdeckError(
              'invalid-request',
              `${entry.name} has terms you must accept first: ${entry.terms} Run again with --accept-terms to accept them.`,
            ),
            opts.json,
          );
          return;
        }
        const ac = new AbortController();
        const onSigint = (): void => ac.abort('pause');
        process.once('SIGINT', onSigint);
        const tty = isInteractive();
        try {
          const r = await installModel(id, {
            acceptTerms: true,
            replace: opts.replace,
            signal: ac.signal,
            onProgress: (p) => {
              if (!tty) return;
              const pct = (p.fraction * 100).toFixed(1).padStart(5);
              const speed = p.bytesPerSecond > 0 ? `${mb(p.bytesPerSecond)}/s` : '';
              process.stderr.write(`\r${p.stage.padEnd(11)} ${pct}%  ${mb(p.receivedBytes)} / ${mb(p.totalBytes)}  ${speed.padEnd(12)} ETA ${formatEta(p.etaSeconds)}   `);
            },
          });
          if (tty) process.stderr.write('\n');
          if (opts.json) printJson({ id: r.id, dir: r.dir, bytes: r.bytes, seconds: r.seconds, resumed: r.resumed });
          else process.stdout.write(`Installed ${entry.name} (${r.id}) in ${r.dir}\n`);
        } finally {
          process.removeListener('SIGINT', onSigint);
        }
      } catch (e) {
        if (isInteractive()) process.stderr.write('\n');
        fail(e, opts.json);
        // Ctrl-C: paused, the partial download is kept; exit like an interrupted command.
        if ((e as { code?: string }).code === 'cancelled') process.exitCode = EXIT.cancelled;
      }
    });

  models
    .command('import <file>')
    .description('import a local .onnx model (its contract is detected from its shapes, UVR MDX-Net files by their hash) or a cascade manifest .json')
    .option('--id <id>', 'model id (default: from the file name)')
    .option('--name <name>', 'display name')
    .option('--n-fft <n>', 'MDX-Net: the STFT size (e.g. 6144, 7680), when the file is not in UVR\'s table', (v) => Number(v))
    .option('--compensate <x>', 'MDX-Net: the primary stem gain (UVR "compensate", default 1)', (v) => Number(v))
    .option('--primary <stem>', 'MDX-Net: the stem the model outputs (default vocals)')
    .option('--secondary <stem>', 'MDX-Net: the name of the rest (default derived)')
    .option('--stems <list>', 'Demucs-style: stem names in output order, comma-separated')
    .option('--license <text>', 'licence of the model, shown in the app')
    .option('--replace', 'replace an installed model with the same id')
    .option('--json', 'print the result as one JSON line')
    .action(
      async (
        file: string,
        opts: {
          id?: string;
          name?: string;
          nFft?: number;
          compensate?: number;
          primary?: string;
          secondary?: string;
          stems?: string;
          license?: string;
          replace?: boolean;
          json?: boolean;
        },
      ) => {
        try {
          const { importCascade, importModel, isCascadeFile, ImportParamsSchema } = await import('../engine/models/import.js');
          const { StemdeckError } = await import('../engine/errors.js');
          const parsed = ImportParamsSchema.safeParse({
            id: opts.id,
            name: opts.name,
            nFft: opts.nFft,
            compensate: opts.compensate,
            primary: opts.primary,
            secondary: opts.secondary,
            stems: opts.stems ? opts.stems.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
            license: opts.license,
          });
          if (!parsed.success) {
            const i = parsed.error.issues[0];
            const usage = new StemdeckError('invalid-request', `Invalid --${String(i?.path[0] ?? '')}: ${i?.message ?? ''}`);
            fail(usage, opts.json, EXIT.usage);
            return;
          }
          if (isCascadeFile(file)) {
            const c = await importCascade(file, { params: parsed.data, replace: opts.replace });
            const stages = c.manifest.cascade.stages.map((s) => ({ model: s.model, keep: s.keep }));
            if (opts.json) printJson({ id: c.id, dir: c.dir, io: c.manifest.io, stems: c.manifest.stems, stages });
            else
              process.stdout.write(
                `Imported the cascade ${c.manifest.name} as "${c.id}" (${stages.map((s) => `${s.model} [${s.keep.join(', ')}]`).join(' → ')}) in ${c.dir}\n`,
              );
            return;
          }
          const r = await importModel(file, { params: parsed.data, replace: opts.replace });
          if (opts.json)
            printJson({ id: r.id, dir: r.dir, io: r.manifest.io, stems: r.manifest.stems, detectedBy: r.detectedBy, uvrHash: r.uvrHash, mdx: r.manifest.mdx ?? null });
          else
            process.stdout.write(
              `Imported ${r.manifest.name} as "${r.id}" (${r.manifest.io}, stems ${r.manifest.stems.join(', ')}; detected by ${r.detectedBy}) in ${r.dir}\n`,
            );
        } catch (e) {
          fail(e, opts.json);
        }
      },
    );

  models
    .command('remove <id>')
    .description('remove a downloaded or imported model (bundled models stay); a stage model of a cascade only with --force')
    .option('--force', 'remove it even if an installed cascade uses it as a stage (the cascade then cannot run)')
    .option('--json', 'print the result as one JSON line')
    .action(async (id: string, opts: { force?: boolean; json?: boolean }) => {
      try {
        const { removeModel } = await import('../engine/models/manager.js');
        const r = await removeModel(id, undefined, { force: opts.force });
        if (r.stageOf.length)
          warn(`the cascade${r.stageOf.length > 1 ? 's' : ''} ${r.stageOf.map((c) => `"${c}"`).join(', ')} cannot run until "${id}" is installed again.`);
        if (opts.json) printJson(r);
        else process.stdout.write(`Removed ${id}\n`);
      } catch (e) {
        fail(e, opts.json);
      }
    });
}
