/**
 * `neqspin demo`: the Zhang & Chern voltage-driven AFM|FM front end to end (src/demo/run.ts):
 * NEGF-LL trajectories → potential models (E alone by default, `--potentials two` for E and Φ) → ML-LL vs NEGF-LL from held-out states → report
 * (report.md, figures/*.svg, metrics.json) in `--out` (default demo-out). `--quick` runs the tiny
 * configuration used by the tests; `--preset zhang-chern-2022` the full 32×24 set-up from the authors'
 * c0.dat with GPU NEGF; `--negf-device`, `--steps`, `--large` override parts of a configuration
 * (src/demo/config.ts resolveDemoConfig). `--scenario stt` runs the current-driven ferromagnetic wall instead
 * (src/demo/stt.ts, docs/demo-stt.md).
 */
import type { Command } from 'commander';
import { UserError } from '../io/errors.js';
import { resolveDemoConfig } from '../demo/config.js';
import { runDemo } from '../demo/run.js';
import { runSttDemo, sttConfig } from '../demo/stt.js';
import { globalOptions, gpuOptions } from './common.js';

interface DemoFlags {
  out: string;
  seed: string;
  resume?: boolean;
  force?: boolean;
  quick?: boolean;
  preset?: string;
  negfDevice?: string;
  large?: string;
  steps?: string;
  every?: string;
  potentials?: string;
  scenario: string;
}

export function register(program: Command): void {
  program
    .command('demo')
    .description('voltage-driven AFM|FM front: NEGF-LL data, potential model, ML-LL vs NEGF-LL, report')
    .option('--out <dir>', 'output folder (built as <dir>.partial/, renamed when complete)', 'demo-out')
    .option('--seed <n>', 'base seed (initial-state tilts, thermal noise, training)', '0')
    .option('--resume', 'continue a killed run from <out>.partial/')
    .option('--force', 'replace an existing output folder')
    .option('--quick', 'tiny configuration (8x4, seconds): a smoke test of the pipeline')
    .option('--preset <name>', "zhang-chern-2022: the full 32x24 set-up from the authors' c0.dat, GPU NEGF (for GPU machines)")
    .option('--negf-device <d>', 'NEGF solver of the training data: cpu (float64) or gpu (f32, batched)')
    .option('--large <LxxLy[xSTEPS]>', 'large-lattice ML-LL size (default 400x256x30 on software adapters, 1024x1024x2000 on GPUs)')
    .option('--steps <n>', 'NEGF-LL steps of every trajectory (training and held-out)')
    .option('--every <n>', 'steps between training snapshots (fewer snapshots for long runs, e.g. the full preset)')
    .option('--potentials <p>', 'E: conservative potential alone, Φ ≡ 0 (default; exact at muL = muR); two: E and Φ (docs/demo.md)')
    .option('--scenario <name>', 'afm-fm: the voltage-driven AFM|FM front; stt: current-driven FM wall, single vs two potentials (docs/demo-stt.md)', 'afm-fm')
    .action(async (o: DemoFlags, cmd: Command) => {
      if (!/^\s*\d+\s*$/.test(o.seed) || !Number.isSafeInteger(Number(o.seed))) throw new UserError(`--seed: must be a non-negative integer, got '${o.seed}'`);
      const g = globalOptions(cmd);
      const log = g.quiet ? undefined : (line: string) => process.stderr.write(line + '\n');
      if (o.scenario !== 'afm-fm' && o.scenario !== 'stt') throw new UserError(`--scenario: must be afm-fm or stt, got '${o.scenario}'`);
      if (o.scenario === 'stt') return runStt(o, { resume: o.resume, force: o.force, quiet: g.quiet, gpu: gpuOptions(cmd), log });
      if (o.preset !== undefined && o.preset !== 'zhang-chern-2022') throw new UserError(`--preset: only zhang-chern-2022 is a demo preset, got '${o.preset}'`);
      if (o.preset && o.quick) throw new UserError('--preset: cannot be combined with --quick');
      const config = resolveDemoConfig(o.preset ? 'zhang-chern-2022' : o.quick ? 'quick' : 'default', Number(o.seed), o);
      const m = (await runDemo(o.out, config, { resume: o.resume, force: o.force, quiet: g.quiet, gpu: gpuOptions(cmd), log }))!;
      const v = m.perMu.map((p) => `μ=${p.mu}: v_ML/v_NEGF ${p.velocity.ratio.toFixed(3)}`).join(', ');
      process.stdout.write(`demo: ${v}; speed-up ${m.timing.speedup.toFixed(0)}x; report in ${o.out}/report.md\n`);
    });
}

/** `--scenario stt`: src/demo/stt.ts (the AFM|FM-only flags are refused). */
async function runStt(o: DemoFlags, opts: Parameters<typeof runSttDemo>[2]): Promise<void> {
  for (const [flag, v] of [['--preset', o.preset], ['--negf-device', o.negfDevice], ['--large', o.large], ['--steps', o.steps], ['--every', o.every], ['--potentials', o.potentials]] as const) {
    if (v !== undefined) throw new UserError(`${flag}: not an option of --scenario stt`);
  }
  const m = (await runSttDemo(o.out, sttConfig(o.quick ? 'quick' : 'default', Number(o.seed)), opts))!;
  const f = (v: number) => (Number.isFinite(v) ? v.toPrecision(3) : 'n/a');
  const v = m.perBias.map((p) => `V=${p.V}: v_NEGF ${f(p.velocity.negf)}, two/NEGF ${f(p.velocity.ratio.two)}, single/NEGF ${f(p.velocity.ratio.single)}, two+torque/NEGF ${f(p.velocity.ratio.torque)}`).join('; ');
  const e = m.summary.meanFperpRmse;
  process.stdout.write(`demo stt: ${v}; held-out F⊥ RMSE two ${f(e.two)}, single ${f(e.single)}, two+torque ${f(e.torque)}; report in ${o.out}/report.md\n`);
}
