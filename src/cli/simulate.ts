/** Placeholder: the lead replaces this module (it must keep exporting `register(program)`). */
import type { Command } from 'commander';
import { UserError } from '../io/errors.js';

export function register(program: Command): void {
  program
    .command('simulate')
    .description('Landau-Lifshitz spin dynamics (not implemented yet)')
    .option('--config <file>', 'simulate configuration (JSON)')
    .option('--out <dir>', 'output folder')
    .action(() => {
      throw new UserError('simulate: not implemented yet');
    });
}
