/**
 * `stemdeck` command line (shell over the engine; no feature lives only here).
 * Each command is defined in its own file and registered below; heavy engine modules are
 * imported lazily inside the actions so that startup and `--help` stay fast.
 */
import { Command, CommanderError } from 'commander';
import { registerSeparateCommand } from './separate.js';
import { registerModelsCommand } from './models.js';
import { registerDoctorCommand } from './doctor.js';
import { registerEvalCommand } from './eval.js';
import { EXIT, error, errorMessage } from './output.js';

export const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('stemdeck')
    .description('Split songs into stems (vocals, drums, bass, other…) with ONNX models on your own CPU or GPU.')
    .version(VERSION, '-V, --version')
    .showHelpAfterError('(run `stemdeck --help` for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride(); // inherited by every subcommand defined after this line
  registerSeparateCommand(program);
  registerModelsCommand(program);
  registerDoctorCommand(program);
  registerEvalCommand(program);
  return program;
}

/** Runs the CLI; resolves to the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help / version print and exit 0; usage errors were already printed by commander
      return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    error(errorMessage(e));
    return EXIT.failed;
  }
}
