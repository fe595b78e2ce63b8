/**
 * `stemdeck models …`. This file defines the `models` command and `models list`.
 *
 * `models install|import|remove` live in ./models-manager.ts (`addModelManagerCommands`), called
 * at the marked line in registerModelsCommand below. Use the helpers of ./output.js (printJson, error, errorMessage) so errors look the same.
 */
import type { Command } from 'commander';
import { EXIT, error, errorMessage, table, warn } from './output.js';
import { addModelManagerCommands, catalogueListEntries, printCatalogueTable } from './models-manager.js';

/** One entry of `models list --json`: the manifest plus where it comes from and the default flag. */
export interface ModelListEntry {
  id: string;
  name: string;
  architecture: string;
  io: string;
  stems: string[];
  params: number;
  sampleRate: number;
  trained: boolean;
  license: string;
  realtimeFactor?: number;
  default: boolean;
  origin: 'bundled' | 'user';
  dir: string;
  /**
   * Why the model cannot run now: a file outside its folder, not a regular file, missing or of the
   * wrong size; a cascade whose stage model is missing or unfit.
   */
  problem?: string;
  [key: string]: unknown;
}

export async function listModels(): Promise<{
  entries: ModelListEntry[];
  problems: { manifestPath: string; message: string }[];
  /** Why the default model cannot be used (its manifest broken or missing), or null. */
  defaultProblem: string | null;
}> {
  const { loadRegistry, modelProblem } = await import('../engine/registry.js');
  const registry = await loadRegistry();
  const entries = registry.list().map((m): ModelListEntry => {
    const problem = modelProblem(m, registry);
    return {
      ...m.manifest,
      default: m.manifest.id === registry.defaultId,
      origin: m.origin,
      dir: m.dir,
      ...(problem ? { problem } : {}),
    };
  });
  const brokenDefault = registry.defaultProblem && registry.defaultId ? registry.problemOf(registry.defaultId) : undefined;
  return { entries, problems: registry.problems.filter((p) => p !== brokenDefault), defaultProblem: registry.defaultProblem };
}

function formatParams(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(0)} k`;
  return String(n);
}

export function registerModelsCommand(program: Command): Command {
  const models = program.command('models').description('list and manage separation models');

  models
    .command('list')
    .description('list the installed models (bundled and your own) and the ones available to download; the default is marked')
    .option('--json', 'print a JSON array of the model manifests, then the catalogue entries (origin "catalogue")')
    .action(async (opts: { json?: boolean }) => {
      try {
        const { entries, problems, defaultProblem } = await listModels();
        if (opts.json) {
          process.stdout.write(`${JSON.stringify([...entries, ...(await catalogueListEntries())], null, 2)}\n`);
        } else if (entries.length === 0) {
          process.stdout.write('No models installed.\n');
        } else {
          const rows = [['', 'id', 'architecture', 'stems', 'params', 'trained', 'speed', 'origin']];
          for (const m of entries)
            rows.push([
              `${m.default ? '*' : ''}${m.problem ? '!' : ''}`,
              m.id,
              m.architecture,
              m.stems.join(','),
              formatParams(m.params),
              m.trained ? 'yes' : 'NO (untrained)',
              m.realtimeFactor ? `${m.realtimeFactor.toFixed(1)}× real time` : '-',
              m.origin,
            ]);
          const broken = entries.some((m) => m.problem);
          process.stdout.write(`${table(rows)}\n* default model${broken ? '  ! broken: cannot run (why: below)' : ''}\n`);
          for (const m of entries) if (m.problem) warn(`model "${m.id}" cannot run: ${m.problem}`);
        }
        if (!opts.json) await printCatalogueTable();
        if (defaultProblem) error(defaultProblem);
        for (const p of problems) error(`skipped invalid model manifest: ${p.message}`);
      } catch (e) {
        error(errorMessage(e));
        process.exitCode = EXIT.failed;
      }
    });

  addModelManagerCommands(models); // install/import/remove (./models-manager.ts)
  return models;
}
