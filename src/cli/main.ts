/**
 * neqspin command line. `main(argv)` parses user arguments (without `node script`), runs the
 * sub-command and returns the exit code: 0 success, 2 user error (bad config/arguments/input
 * files: one line `neqspin: <message>` on stderr, nothing written), 1 unexpected error.
 *
 * Sub-commands live in modules exporting `register(program: Command)`.
 */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError } from 'commander';
import { closeGpu, GpuUnavailableError } from '../gpu/context.js';
import { UserError, RunError } from '../io/errors.js';
import { register as registerInfo } from './info.js';
import { register as registerSimulate } from './simulate.js';
import { register as registerNegf } from './negf.js';
import { register as registerTrain } from './train.js';
import { register as registerDataset } from './dataset.js';
import { register as registerDemo } from './demo.js';
import { VERSION } from './version.js';

export const EXIT_OK = 0;
export const EXIT_INTERNAL = 1;
export const EXIT_USER = 2;

export function buildProgram(): Command {
  const program = new Command('neqspin')
    .description('GPU-native NEGF, two-potential ML forces and Landau-Lifshitz dynamics for driven itinerant magnets')
    .version(VERSION)
    .option('--adapter <name>', 'WebGPU adapter name substring (env NEQSPIN_ADAPTER)')
    .option('--backend <name>', 'Dawn backend: vulkan, metal, d3d12, ... (env NEQSPIN_BACKEND)')
    .option('-q, --quiet', 'no progress output')
    .exitOverride()
    .configureOutput({
      outputError: (str, write) => write(`neqspin: ${str.replace(/^error:\s*/, '')}`),
    });
  for (const register of [registerInfo, registerSimulate, registerNegf, registerTrain, registerDataset, registerDemo]) register(program);
  for (const cmd of program.commands) cmd.exitOverride();
  return program;
}

export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return EXIT_OK;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version exit 0; usage errors were already printed by commander
      return e.exitCode === 0 ? EXIT_OK : EXIT_USER;
    }
    if (e instanceof UserError) {
      process.stderr.write(`neqspin: ${e.message}\n`);
      return EXIT_USER;
    }
    if (e instanceof GpuUnavailableError || e instanceof RunError) {
      process.stderr.write(`neqspin: ${e.message}\n`);
      return EXIT_INTERNAL;
    }
    const err = e as Error;
    process.stderr.write(`neqspin: internal error: ${err?.message ?? String(e)}\n${err?.stack ?? ''}\n`);
    return EXIT_INTERNAL;
  } finally {
    closeGpu();
  }
}

// `node dist/cli.js …` runs the CLI directly; bin/neqspin.js and the tests import `main` instead
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) process.exitCode = await main();
