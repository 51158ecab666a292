/**
 * `neqspin demo`: the Zhang & Chern voltage-driven AFM|FM front end to end (src/demo/run.ts):
 * NEGF-LL trajectories → two-potential models → ML-LL vs NEGF-LL from held-out states → report
 * (report.md, figures/*.svg, metrics.json) in `--out` (default demo-out). `--quick` runs the tiny
 * configuration used by the tests.
 */
import type { Command } from 'commander';
import { UserError } from '../io/errors.js';
import { demoConfig } from '../demo/config.js';
import { runDemo } from '../demo/run.js';
import { globalOptions, gpuOptions } from './common.js';

interface DemoFlags {
  out: string;
  seed: string;
  resume?: boolean;
  force?: boolean;
  quick?: boolean;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('voltage-driven AFM|FM front: NEGF-LL data, two-potential model, ML-LL vs NEGF-LL, report')
    .option('--out <dir>', 'output folder (built as <dir>.partial/, renamed when complete)', 'demo-out')
    .option('--seed <n>', 'base seed (initial-state tilts, thermal noise, training)', '0')
    .option('--resume', 'continue a killed run from <out>.partial/')
    .option('--force', 'replace an existing output folder')
    .option('--quick', 'tiny configuration (8x4, seconds): a smoke test of the pipeline')
    .action(async (o: DemoFlags, cmd: Command) => {
      if (!/^\s*\d+\s*$/.test(o.seed) || !Number.isSafeInteger(Number(o.seed))) throw new UserError(`--seed: must be a non-negative integer, got '${o.seed}'`);
      const g = globalOptions(cmd);
      const log = g.quiet ? undefined : (line: string) => process.stderr.write(line + '\n');
      const m = (await runDemo(o.out, demoConfig(o.quick ? 'quick' : 'default', Number(o.seed)), { resume: o.resume, force: o.force, quiet: g.quiet, gpu: gpuOptions(cmd), log }))!;
      const v = m.perMu.map((p) => `μ=${p.mu}: v_ML/v_NEGF ${p.velocity.ratio.toFixed(3)}`).join(', ');
      process.stdout.write(`demo: ${v}; speed-up ${m.timing.speedup.toFixed(0)}x; report in ${o.out}/report.md\n`);
    });
}
