/**
 * `neqspin dataset`: NEGF training sets (src/negf/datasetGen.ts) in the neqspin dataset format
 * (docs/dataset.md), or `--import-authors [DIR]` to convert the Zhang & Chern 2022 reference
 * snapshots (c0.dat, c200.dat, c500.dat; default: the reference folder found beside the checkout).
 * Physics and dynamics come from `--preset` (default zhang-chern-small); the sampling options
 * override the preset's dataset defaults.
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateDataset, planTasks, taskSnapshots, type GenerateOptions } from '../negf/datasetGen.js';
import { importAuthorsDat } from '../io/authors-dat.js';
import { writeDataset } from '../io/dataset.js';
import { zhangChernReferenceDir } from '../io/reference.js';
import { parseSimulateConfig } from '../io/config.js';
import { UserError } from '../io/errors.js';
import { getPreset } from '../presets.js';
import { globalOptions } from './common.js';
import { createProgress } from './progress.js';

interface DatasetFlags {
  out: string;
  preset: string;
  trajectories?: string;
  steps?: string;
  every?: string;
  mu?: string;
  bias?: string;
  perturbed?: string;
  random?: string;
  seed?: string;
  resume?: boolean;
  force?: boolean;
  importAuthors?: string | boolean;
}

function intFlag(v: string | undefined, name: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!/^\s*\d+\s*$/.test(v) || !Number.isSafeInteger(n)) throw new UserError(`--${name}: must be a non-negative integer, got ${v}`);
  return n;
}

function listFlag(v: string | undefined, name: string, dflt: number[]): number[] {
  if (v === undefined) return dflt;
  const parts = v.split(',').map((p) => p.trim());
  const out = parts.map(Number);
  if (parts.some((p) => p === '') || out.some((x) => !Number.isFinite(x))) throw new UserError(`--${name}: must be a comma-separated list of numbers, got ${v}`);
  return out;
}

/** Generation options from the flags and the preset. */
export function generateOptions(o: DatasetFlags): GenerateOptions {
  const p = getPreset(o.preset);
  const cfg = parseSimulateConfig(p.simulate);
  if (cfg.force.kind !== 'negf') throw new UserError(`--preset: ${o.preset} has no NEGF force`);
  const d = p.dataset, dyn = cfg.dynamics;
  return {
    lattice: cfg.lattice, model: { t: cfg.force.model.t, J: cfg.force.model.J }, leads: cfg.force.leads, temperature: cfg.force.temperature,
    dynamics: { alpha: dyn.alpha, dt: dyn.dt, temperature: dyn.temperature, noise: dyn.noise },
    tilt: (cfg.initial.kind === 'afm-fm' ? cfg.initial.tilt : undefined) ?? 0.05,
    mu: listFlag(o.mu, 'mu', d.mu), bias: listFlag(o.bias, 'bias', d.bias),
    trajectories: intFlag(o.trajectories, 'trajectories', d.trajectories), steps: intFlag(o.steps, 'steps', d.steps), every: intFlag(o.every, 'every', d.every),
    perturbed: intFlag(o.perturbed, 'perturbed', d.perturbed), random: intFlag(o.random, 'random', d.random), seed: intFlag(o.seed, 'seed', 0),
    preset: p.name,
  };
}

async function importAuthors(dirFlag: string | true, out: string, force: boolean): Promise<number> {
  const dir = dirFlag === true ? zhangChernReferenceDir() : dirFlag;
  if (!dir) throw new UserError('--import-authors: reference folder not found (give it: --import-authors DIR, or set NEQSPIN_REFERENCE)');
  const files = ['c0.dat', 'c200.dat', 'c500.dat'].map((f) => join(dir, f)).filter((f) => existsSync(f));
  if (!files.length) throw new UserError(`--import-authors: no c*.dat files in ${dir}`);
  const { info, data } = importAuthorsDat(files);
  // the snapshots are steps of one trajectory (id 0): it goes to train whole
  await writeDataset(out, { ...info, split: { train: [0], val: [], test: [] } }, data, { overwrite: force });
  return data.trajectory.length;
}

export function register(program: Command): void {
  program
    .command('dataset')
    .description('NEGF training set: snapshots along NEGF-driven LL trajectories, perturbed walls, random states')
    .requiredOption('--out <dir>', 'output dataset folder')
    .option('--preset <name>', 'physics and dynamics (zhang-chern-small, zhang-chern-2022)', 'zhang-chern-small')
    .option('--trajectories <k>', 'NEGF-driven LL trajectories per electrode setting')
    .option('--steps <s>', 'steps per trajectory')
    .option('--every <e>', 'snapshot every e steps')
    .option('--mu <list>', 'muL = muR values, comma-separated (e.g. -3.25,-3.1,-3.0)')
    .option('--bias <list>', 'biases V = muL - muR applied around each mu (default 0)')
    .option('--perturbed <n>', 'perturbed AFM|FM wall states per electrode setting')
    .option('--random <n>', 'random configurations per electrode setting')
    .option('--seed <n>', 'base seed', '0')
    .option('--resume', 'continue an interrupted generation from <out>.partial/')
    .option('--force', 'replace an existing output folder')
    .option('--import-authors [dir]', "import the authors' c*.dat snapshots instead of generating")
    .action(async (o: DatasetFlags, cmd: Command) => {
      const g = globalOptions(cmd);
      if (o.importAuthors !== undefined && o.importAuthors !== false) {
        const n = await importAuthors(o.importAuthors, o.out, !!o.force);
        process.stdout.write(`dataset: imported ${n} authors' snapshots into ${o.out}/\n`);
        return;
      }
      const opts = generateOptions(o);
      const total = planTasks(opts).reduce((n, t) => n + taskSnapshots(opts, t), 0);
      const bar = createProgress({ total, label: 'dataset', quiet: g.quiet });
      const s = await generateDataset(o.out, opts, { resume: o.resume, force: o.force, progress: (done) => bar.update(done) });
      bar.stop();
      process.stdout.write(`dataset: ${s.count} snapshots in ${s.trajectories} trajectories (${s.skipped} resumed) in ${s.seconds.toFixed(1)} s -> ${o.out}/\n`);
    });
}
