/**
 * `neqspin train` end to end on a tiny synthetic dataset (src/cli/train.ts): output folder contents,
 * the saved model reproduces the reported held-out metrics, resume through the CLI path, and
 * one-line errors (exit code 2, nothing written) for bad flags and bad datasets.
 */
import { describe, it, expect, afterAll, beforeAll } from 'vitest';
import { mkdtempSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { runTraining } from '../src/cli/train.js';
import { writeDataset } from '../src/io/dataset.js';
import { parseCsv } from '../src/io/csv.js';
import { descriptorPreset } from '../src/model/descriptor.js';
import { makeSyntheticDataset } from '../src/model/synthetic.js';
import { loadModel } from '../src/model/modelFile.js';
import { DEFAULT_TRAIN_CONFIG } from '../src/model/train.js';

const root = mkdtempSync(join(tmpdir(), 'neqspin-train-cli-'));
const data = join(root, 'data');
afterAll(() => rmSync(root, { recursive: true, force: true }));
beforeAll(async () => {
  const s = makeSyntheticDataset({
    lattice: { Lx: 6, Ly: 4, periodicY: true },
    descriptor: descriptorPreset('default'),
    teacher: { hidden: [8], activation: 'silu', seed: 2, useE: true, useP: true },
    trajectories: 5,
    snapshotsPerTrajectory: 2,
    disorder: 0.8,
    seed: 4,
  });
  await writeDataset(data, s.info, s.data);
});

/** code and stderr of `neqspin -q ...args` (stdout, the run summary, is not compared) */
async function run(args: string[]): Promise<{ code: number; err: string }> {
  const { code, err } = await runCli(['-q', ...args]);
  return { code, err };
}

describe('neqspin train', () => {
  it('writes model, history, evaluation and parity plot atomically', async () => {
    const out = join(root, 'model');
    const r = await run(['train', '--data', data, '--out', out, '--epochs', '4', '--batch', '2', '--hidden', '8,8', '--lr', '3e-3', '--seed', '1']);
    expect(r).toEqual({ code: 0, err: '' });
    for (const f of ['model.json', 'model.safetensors', 'history.csv', 'evaluation.json', 'parity.svg']) expect(existsSync(join(out, f))).toBe(true);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(existsSync(join(out, 'checkpoint.safetensors'))).toBe(false);
    const m = loadModel(out);
    expect(m.arch.hidden).toEqual([8, 8]);
    expect([m.useE, m.useP]).toEqual([true, true]);
    expect(parseCsv(readFileSync(join(out, 'history.csv'), 'utf8')).rows).toHaveLength(4);
    const ev = JSON.parse(readFileSync(join(out, 'evaluation.json'), 'utf8'));
    expect(Object.keys(ev.regions).sort()).toEqual(['all', 'bulk', 'left', 'right']);
    expect(readFileSync(join(out, 'parity.svg'), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
  });

  it('--no-phi trains the E-only ablation', async () => {
    const out = join(root, 'eonly');
    expect((await run(['train', '--data', data, '--out', out, '--epochs', '1', '--hidden', '4', '--no-phi'])).code).toBe(0);
    expect(loadModel(out).useP).toBe(false);
  });

  it('--torque trains a model with the bond-torque head', async () => {
    const out = join(root, 'torque');
    expect((await run(['train', '--data', data, '--out', out, '--epochs', '1', '--hidden', '4', '--torque'])).code).toBe(0);
    const m = loadModel(out);
    expect([m.useE, m.useP, m.arch.outputs]).toEqual([true, true, 10]);
    expect(m.weights['layers.1.weight']).toHaveLength(10 * 4);
  });

  it('a killed run resumes from its checkpoint to the same model as an uninterrupted one', async () => {
    const cfg = { ...DEFAULT_TRAIN_CONFIG, hidden: [8], epochs: 4, batch: 2, checkpointEvery: 1 };
    const ref = (await runTraining(data, join(root, 'ref'), cfg, { quiet: true }))!;
    const out = join(root, 'resumed');
    expect(await runTraining(data, out, cfg, { quiet: true, haltAfterEpoch: 2 })).toBeUndefined();
    expect(existsSync(join(`${out}.partial`, 'checkpoint.safetensors'))).toBe(true);
    const res = (await runTraining(data, out, cfg, { quiet: true, resume: true }))!;
    for (const [k, w] of Object.entries(ref.model.weights)) expect(Array.from(res.model.weights[k])).toEqual(Array.from(w));
  });

  const bad: [string, string[], RegExp][] = [
    ['non-numeric width', ['--hidden', '8,x'], /^neqspin: --hidden: must be an integer, got 'x'\n$/],
    ['bad activation', ['--activation', 'gelu'], /^neqspin: --activation: must be one of silu, tanh, relu, got 'gelu'\n$/],
    ['bad descriptor', ['--descriptor', 'huge'], /^neqspin: --descriptor: unknown preset 'huge'/],
    ['zero epochs', ['--epochs', '0'], /^neqspin: train\.epochs must be a positive integer, got 0\n$/],
    ['negative lr', ['--lr', '-1'], /^neqspin: train\.lr must be a positive number, got -1\n$/],
  ];
  for (const [name, args, msg] of bad) {
    it(`rejects ${name} with one line and exit code 2`, async () => {
      const out = join(root, `bad-${name.replace(/ /g, '-')}`);
      const r = await run(['train', '--data', data, '--out', out, ...args]);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(msg);
      expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
    });
  }

  it('rejects a missing dataset and a non-dataset folder', async () => {
    let r = await run(['train', '--data', join(root, 'nope'), '--out', join(root, 'x1')]);
    expect(r).toEqual({ code: 2, err: expect.stringMatching(/^neqspin: --data: .*nope does not exist\n$/) });
    r = await run(['train', '--data', root, '--out', join(root, 'x2')]);
    expect(r).toEqual({ code: 2, err: expect.stringMatching(/^neqspin: .*meta\.json: missing \(not a neqspin dataset folder\)\n$/) });
    expect(existsSync(join(root, 'x2'))).toBe(false);
  });
});
