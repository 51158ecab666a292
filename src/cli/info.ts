/** `neqspin info [--json]`: the WebGPU adapter neqspin would use. */
import type { Command } from 'commander';
import { describe, getGpu, type AdapterReport } from '../gpu/context.js';
import { gpuOptions } from './common.js';
import { VERSION } from './version.js';

export function formatInfo(info: AdapterReport): string {
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const width = Math.max(...Object.keys(info.limits).map((k) => k.length));
  return [
    `adapter:      ${describe(info)}`,
    `vendor:       ${info.vendor || '?'}`,
    `architecture: ${info.architecture || '?'}`,
    `device:       ${info.device || '?'}`,
    `description:  ${info.description || '?'}`,
    `backend:      ${info.backend || '?'}`,
    `software:     ${yes(info.software)}`,
    `features:     ${info.features.join(', ') || '(none)'}`,
    'limits:',
    ...Object.entries(info.limits)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `  ${k.padEnd(width)}  ${v}`),
  ].join('\n');
}

export function register(program: Command): void {
  program
    .command('info')
    .description('print the WebGPU adapter (driver, backend, software flag, features, limits)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const ctx = await getGpu(gpuOptions(cmd));
      if (opts.json) {
        process.stdout.write(JSON.stringify({ neqspin: VERSION, node: process.version, adapter: ctx.info }, null, 2) + '\n');
      } else {
        process.stdout.write(`neqspin ${VERSION} (node ${process.version})\n${formatInfo(ctx.info)}\n`);
      }
    });
}
