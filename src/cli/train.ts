/**
 * `neqspin train`: fit the two-potential force model (SPEC §4) to a neqspin dataset on the GPU.
 *
 * Output folder (written as <out>.partial/, renamed to <out> when complete; `--resume` continues
 * a killed run from its last checkpoint, taken every --checkpoint-every epochs):
 *   model.safetensors, model.json   the model (src/model/modelFile.ts; best-validation weights)
 *   history.csv                     epoch, lr, trainLoss, valLoss, seconds
 *   evaluation.json                 RMSE per component and R² of F⊥ on the held-out set, by region
 *   parity.svg                      predicted vs reference F⊥ components, coloured by region
 */
import type { Command } from 'commander';
import { existsSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { getGpu, describe } from '../gpu/index.js';
import { readDataset } from '../io/dataset.js';
import { JobDir } from '../io/job.js';
import { formatCsv } from '../io/csv.js';
import { writeFileAtomic } from '../io/atomic.js';
import { UserError } from '../io/errors.js';
import { DESCRIPTOR_PRESETS, descriptorPreset } from '../model/descriptor.js';
import { ACTIVATIONS, type Activation } from '../model/weights.js';
import { DEFAULT_TRAIN_CONFIG, checkTrainConfig, trainModel, type TrainCheckpoint, type TrainConfig, type TrainResult } from '../model/train.js';
import { saveModel } from '../model/modelFile.js';
import { parityPlotSvg } from '../model/trainReport.js';
import { globalOptions, gpuOptions } from './common.js';
import { createProgress } from './progress.js';

export interface TrainRunOptions {
  force?: boolean;
  resume?: boolean;
  quiet?: boolean;
  gpu?: Parameters<typeof getGpu>[0];
  /** stop (as if killed) after this many epochs; for resume tests */
  haltAfterEpoch?: number;
}

/** Train on the dataset folder `data` and write the model folder `out` (undefined when halted). */
export async function runTraining(data: string, out: string, cfg: TrainConfig, opts: TrainRunOptions = {}): Promise<TrainResult | undefined> {
  checkTrainConfig(cfg);
  if (!existsSync(data)) throw new UserError(`--data: ${data} does not exist`);
  const ds = readDataset(data);
  const job = new JobDir<TrainCheckpoint>(out, { overwrite: opts.force, resume: opts.resume }, { data: resolve(data), count: ds.meta.count, cfg });
  const ctx = await getGpu(opts.gpu);
  const bar = createProgress({ total: cfg.epochs, label: 'train', quiet: opts.quiet });
  let r: TrainResult | undefined;
  try {
    r = await trainModel(ctx, ds, cfg, {
      job,
      haltAfterEpoch: opts.haltAfterEpoch,
      onEpoch: (e) => bar.update(e.epoch + 1, `loss ${e.trainLoss?.toExponential(3) ?? '–'}${e.valLoss !== null ? ` val ${e.valLoss.toExponential(3)}` : ''}`),
    });
  } finally {
    bar.stop();
  }
  if (!r) return undefined;
  r.model.dataset = { path: resolve(data), ...r.model.dataset };
  r.model.training = { ...r.model.training, device: describe(ctx.info) };
  saveModel(job.dir, r.model);
  const cols = ['epoch', 'lr', 'trainLoss', 'valLoss', 'seconds'];
  writeFileAtomic(job.path('history.csv'), formatCsv(cols, r.history.map((h) => [h.epoch, h.lr, h.trainLoss ?? NaN, h.valLoss ?? NaN, h.seconds])));
  writeFileAtomic(job.path('evaluation.json'), JSON.stringify({ set: r.evaluatedOn, bestEpoch: r.bestEpoch, regions: r.evaluation }, null, 2) + '\n');
  writeFileAtomic(job.path('parity.svg'), parityPlotSvg(r.predicted, r.reference, r.regions, { title: `F⊥ parity on the ${r.evaluatedOn} set (units t)` }));
  rmSync(job.path('checkpoint.safetensors'), { force: true });
  job.commit();
  return r;
}

function parseNumber(flag: string, v: string, integer: boolean): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new UserError(`${flag}: must be ${integer ? 'an integer' : 'a number'}, got '${v}'`);
  return n;
}

interface TrainFlags {
  data?: string;
  out?: string;
  epochs: string;
  batch: string;
  lr: string;
  hidden: string;
  activation: string;
  descriptor: string;
  phi: boolean;
  torque?: boolean;
  seed: string;
  schedule: string;
  patience: string;
  leadRange: string;
  leadWeight: string;
  checkpointEvery: string;
  evalEvery: string;
  normFloor: string;
  resume?: boolean;
  force?: boolean;
}

/** TrainConfig from the command-line flags (one-line errors naming the flag). */
export function configFromFlags(o: TrainFlags): TrainConfig {
  if (!o.data) throw new UserError('--data: required (a dataset folder)');
  if (!o.out) throw new UserError('--out: required (the model folder to write)');
  if (!ACTIVATIONS.includes(o.activation as Activation)) throw new UserError(`--activation: must be one of ${ACTIVATIONS.join(', ')}, got '${o.activation}'`);
  if (!(o.descriptor in DESCRIPTOR_PRESETS)) throw new UserError(`--descriptor: unknown preset '${o.descriptor}' (have: ${Object.keys(DESCRIPTOR_PRESETS).join(', ')})`);
  const hidden = o.hidden.split(',').map((w) => parseNumber('--hidden', w, true));
  if (hidden.some((w) => w < 1)) throw new UserError(`--hidden: widths must be positive integers, got '${o.hidden}'`);
  const schedules: Record<string, TrainConfig['schedule']> = { cosine: { kind: 'cosine', minFactor: 0.01 }, step: { kind: 'step', every: 50, gamma: 0.5 }, constant: { kind: 'constant' } };
  if (!(o.schedule in schedules)) throw new UserError(`--schedule: must be cosine, step or constant, got '${o.schedule}'`);
  const cfg: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    descriptor: descriptorPreset(o.descriptor),
    hidden,
    activation: o.activation as Activation,
    useP: o.phi,
    torque: o.torque ?? false,
    epochs: parseNumber('--epochs', o.epochs, true),
    batch: parseNumber('--batch', o.batch, true),
    lr: parseNumber('--lr', o.lr, false),
    schedule: schedules[o.schedule],
    seed: parseNumber('--seed', o.seed, true),
    patience: parseNumber('--patience', o.patience, true),
    leadRange: parseNumber('--lead-range', o.leadRange, true),
    leadWeight: parseNumber('--lead-weight', o.leadWeight, false),
    checkpointEvery: parseNumber('--checkpoint-every', o.checkpointEvery, true),
    evalEvery: parseNumber('--eval-every', o.evalEvery, true),
    normFloor: parseNumber('--norm-floor', o.normFloor, false),
  };
  checkTrainConfig(cfg);
  return cfg;
}

export function register(program: Command): void {
  const d = DEFAULT_TRAIN_CONFIG;
  program
    .command('train')
    .description('train the two-potential ML force model (E and Φ) on a neqspin dataset')
    .option('--data <dir>', 'dataset folder (spins.npy, fieldPerp.npy, meta.json, ...)')
    .option('--out <dir>', 'model folder to write')
    .option('--epochs <n>', 'epochs', String(d.epochs))
    .option('--batch <n>', 'snapshots per mini-batch', String(d.batch))
    .option('--lr <x>', 'Adam learning rate', String(d.lr))
    .option('--hidden <w,w,...>', 'hidden layer widths', d.hidden.join(','))
    .option('--activation <name>', `activation: ${ACTIVATIONS.join(', ')}`, d.activation)
    .option('--descriptor <preset>', `descriptor preset: ${Object.keys(DESCRIPTOR_PRESETS).join(', ')}`, 'default')
    .option('--no-phi', 'E only: switch the nonconservative potential off (ablation)')
    .option('--torque', 'add the bond-torque head (h += S×Σ a_k S_k + (Σ b_k S_k)⊥ over the 4 nearest bonds; beyond the two-potential ansatz, e.g. for spin-transfer torques)')
    .option('--schedule <kind>', 'learning-rate schedule: cosine, step (×0.5 every 50 epochs), constant', d.schedule.kind)
    .option('--patience <n>', 'early stopping after n epochs without validation improvement (0 = off)', String(d.patience))
    .option('--lead-range <n>', 'columns next to each lead counted as "near the lead"', String(d.leadRange))
    .option('--lead-weight <x>', 'loss weight of near-lead sites (bulk = 1)', String(d.leadWeight))
    .option('--checkpoint-every <n>', 'epochs between checkpoints', String(d.checkpointEvery))
    .option('--norm-floor <s>', 'features with a standard deviation below s are centred, not scaled', String(d.normFloor))
    .option('--eval-every <n>', 'epochs between evaluations of the monitored loss (best weights, early stopping)', String(d.evalEvery))
    .option('--seed <n>', 'seed (initialisation, shuffling, default split)', String(d.seed))
    .option('--force', 'replace an existing output folder')
    .option('--resume', 'continue a killed run from <out>.partial/')
    .action(async (o: TrainFlags, cmd: Command) => {
      const cfg = configFromFlags(o);
      const g = globalOptions(cmd);
      const r = (await runTraining(o.data!, o.out!, cfg, { force: o.force, resume: o.resume, quiet: g.quiet, gpu: gpuOptions(cmd) }))!;
      const a = r.evaluation.all;
      process.stdout.write(
        `train: ${r.history.length} epochs (best ${r.bestEpoch}${r.stoppedEarly ? ', stopped early' : ''}); ${r.evaluatedOn} set: RMSE ${a.rmseTotal.toPrecision(4)} t, R² ${a.r2.toFixed(4)}\n` +
          `model in ${o.out}/\n`,
      );
    });
}
