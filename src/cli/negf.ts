/** Placeholder: the lead replaces this module (it must keep exporting `register(program)`). */
import type { Command } from 'commander';
import { UserError } from '../io/errors.js';

export function register(program: Command): void {
  program
    .command('negf')
    .description('nonequilibrium steady state of one configuration (not implemented yet)')
    .option('--config <file>', 'CASE.json (SPEC §6)')
    .option('--out <file>', 'RESULT.json')
    .action(() => {
      throw new UserError('negf: not implemented yet');
    });
}
