/**
 * Training-set generation from NEGF (`neqspin dataset`): snapshots (S, F, F⊥, n) of
 *  - NEGF-driven LL trajectories (float64 twin LLTwin + CpuNegfProvider, the midpoint scheme of
 *    src/dynamics/driven.ts) from a tilted AFM|FM front, one snapshot every `every` steps
 *    (steps 0, every, 2·every, ... < steps; the field stored is the one that drives that step);
 *  - perturbed wall states: AFM|FM fronts with a random seed width in [2, Lx-2] and a random tilt
 *    in [0.05, 0.5] (one snapshot each);
 *  - random configurations (spins uniform on the sphere, one snapshot each);
 * for every electrode setting (μ, V) in mu × bias: muL = μ + V/2, muR = μ - V/2.
 *
 * Every unit of work (a trajectory or a single configuration) has its own trajectory id, assigned
 * in plan order (setting-major: for each setting, trajectories, then perturbed, then random), and
 * its own seed (base seed + id). The train/val/test split (10 % / 10 % by trajectory,
 * splitTrajectories) is fixed over all planned ids at the start, so it does not depend on
 * interruptions.
 *
 * Output and resume: the dataset is built in `<out>.partial/` (a valid dataset at all times,
 * created with count 0 and grown with appendSnapshots, one append per unit of work: a unit is
 * either entirely in the dataset or not at all) and renamed to `<out>` when complete. `resume`
 * continues a `<out>.partial/` whose meta.provenance.options equal the current options; the units
 * whose trajectory id is already present are skipped, so nothing is duplicated.
 */
import { existsSync, renameSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { Lattice } from '../lattice/lattice.js';
import { afmFmFront, random as randomTexture } from '../lattice/textures.js';
import { LLTwin } from '../dynamics/twin.js';
import { NegfDrivenLL } from '../dynamics/driven.js';
import { appendSnapshots, emptySnapshots, readDataset, recoverDataset, splitTrajectories, writeDataset, type DatasetInfo, type Snapshots, concatSnapshots } from '../io/dataset.js';
import { UserError } from '../io/errors.js';
import type { LeadsConfig } from '../io/config.js';
import type { NoiseKind } from '../dynamics/params.js';
import { CpuNegfProvider, type FieldResult } from './provider.js';

export interface GenerateOptions {
  lattice: { Lx: number; Ly: number; periodicY: boolean };
  model: { t: number; J: number };
  leads: LeadsConfig;
  /** electron temperature */
  temperature: number;
  dynamics: { alpha: number; dt: number; temperature: number; noise: NoiseKind };
  /** initial tilt of the AFM|FM front of the trajectories */
  tilt: number;
  mu: number[];
  bias: number[];
  trajectories: number;
  steps: number;
  every: number;
  perturbed: number;
  random: number;
  seed: number;
  /** name of the preset the options came from (provenance) */
  preset?: string;
}

export interface GenTask {
  id: number;
  kind: 'trajectory' | 'perturbed' | 'random';
  muL: number;
  muR: number;
  seed: number;
}

export function planTasks(o: GenerateOptions): GenTask[] {
  const tasks: GenTask[] = [];
  for (const mu of o.mu) {
    for (const V of o.bias) {
      const add = (kind: GenTask['kind'], count: number) => {
        for (let k = 0; k < count; k++) tasks.push({ id: tasks.length, kind, muL: mu + V / 2, muR: mu - V / 2, seed: o.seed + tasks.length });
      };
      add('trajectory', o.trajectories);
      add('perturbed', o.perturbed);
      add('random', o.random);
    }
  }
  return tasks;
}

/** Snapshots planned for one task. */
export function taskSnapshots(o: GenerateOptions, t: GenTask): number {
  return t.kind === 'trajectory' ? Math.ceil(o.steps / o.every) : 1;
}

/** Deterministic uniform numbers in [0, 1) from a seed (splitmix32). */
function uniforms(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 4294967296;
  };
}

function snapshot(spins: ArrayLike<number>, f: FieldResult, t: GenTask, T: number, step: number): Snapshots {
  return {
    spins: Float32Array.from(spins), field: Float32Array.from(f.F), fieldPerp: Float32Array.from(f.Fperp), density: Float32Array.from(f.density),
    params: Float64Array.of(t.muL, t.muR, T), trajectory: Int32Array.of(t.id), step: Int32Array.of(step),
  };
}

/** Run one task and return its snapshots. */
export async function runTask(o: GenerateOptions, t: GenTask, provider: CpuNegfProvider): Promise<Snapshots> {
  const lat = new Lattice(o.lattice);
  if (t.kind === 'trajectory') {
    const twin = new LLTwin(lat, { ...o.dynamics, integrator: 'midpoint', seed: t.seed });
    twin.setSpins(afmFmFront(lat, { seedWidth: Math.min(3, lat.Lx), tilt: o.tilt, seed: t.seed }));
    const parts: Snapshots[] = [];
    await new NegfDrivenLL(twin, provider).run(o.steps, {
      onField: (step, s, f) => {
        if (step % o.every === 0) parts.push(snapshot(s, f, t, o.temperature, step));
      },
    });
    return concatSnapshots(parts);
  }
  const u = uniforms(t.seed);
  const s =
    t.kind === 'random'
      ? randomTexture(lat, t.seed)
      : afmFmFront(lat, { seedWidth: Math.min(lat.Lx, 2 + Math.floor(u() * Math.max(1, lat.Lx - 3))), tilt: 0.05 + 0.45 * u(), seed: t.seed });
  return snapshot(s, await provider.fields(s), t, o.temperature, 0);
}

/** One-line errors naming the option. */
export function checkGenerateOptions(o: GenerateOptions): void {
  const int = (v: number, name: string, min: number) => {
    if (!Number.isInteger(v) || v < min) throw new UserError(`--${name}: must be an integer >= ${min}, got ${v}`);
  };
  int(o.trajectories, 'trajectories', 0);
  int(o.steps, 'steps', 1);
  int(o.every, 'every', 1);
  int(o.perturbed, 'perturbed', 0);
  int(o.random, 'random', 0);
  int(o.seed, 'seed', 0);
  if (!o.mu.length || o.mu.some((v) => !Number.isFinite(v))) throw new UserError(`--mu: must be a comma-separated list of finite numbers, got ${o.mu.join(',')}`);
  if (!o.bias.length || o.bias.some((v) => !Number.isFinite(v))) throw new UserError(`--bias: must be a comma-separated list of finite numbers, got ${o.bias.join(',')}`);
  if (o.trajectories + o.perturbed + o.random === 0) throw new UserError('--trajectories: nothing to generate (trajectories, perturbed and random are all 0)');
}

export interface GenerateRunOptions {
  resume?: boolean;
  /** replace an existing finished `<out>` */
  force?: boolean;
  /** progress callback: snapshots done, total */
  progress?: (done: number, total: number) => void;
  /** stop (as if killed) after this many tasks of this run; for resume tests */
  haltAfter?: number;
}

export interface GenerateSummary {
  count: number;
  trajectories: number;
  seconds: number;
  /** tasks skipped because a previous run had finished them */
  skipped: number;
  complete: boolean;
}

export async function generateDataset(out: string, o: GenerateOptions, run: GenerateRunOptions = {}): Promise<GenerateSummary> {
  checkGenerateOptions(o);
  const target = resolve(out), partial = `${target}.partial`;
  if (existsSync(target) && !run.force) throw new UserError(`out: ${out} already exists (use --force to replace it)`);
  const tasks = planTasks(o);
  const options = JSON.parse(JSON.stringify(o)) as Record<string, unknown>;
  let done = new Set<number>();
  let count = 0;
  if (run.resume && existsSync(partial)) {
    recoverDataset(partial);
    const ds = readDataset(partial);
    if (JSON.stringify(ds.meta.provenance.options) !== JSON.stringify(options)) {
      throw new UserError(`resume: ${partial} was started with different options (remove it or drop --resume)`);
    }
    done = new Set(ds.data.trajectory);
    count = ds.meta.count;
  } else {
    rmSync(partial, { recursive: true, force: true });
    const info: DatasetInfo = {
      lattice: o.lattice, model: o.model, leads: o.leads,
      provenance: {
        generator: 'neqspin dataset', created: new Date().toISOString(), options,
        solver: 'CpuNegfProvider (float64 RGF, fixed grid, realPanels 2)',
        dynamics: 'NEGF-driven LL, midpoint (float64 twin), adiabatic electrons',
        tasks: 'ids in plan order: per (mu, bias): trajectories, perturbed walls, random',
      },
      split: splitTrajectories(tasks.map((t) => t.id)),
    };
    await writeDataset(partial, info, emptySnapshots());
  }
  const total = tasks.reduce((n, t) => n + taskSnapshots(o, t), 0);
  const skipped = done.size;
  run.progress?.(count, total);
  const providers = new Map<string, CpuNegfProvider>();
  const t0 = performance.now();
  let ran = 0;
  for (const t of tasks) {
    if (done.has(t.id)) continue;
    if (run.haltAfter !== undefined && ran >= run.haltAfter) {
      return { count, trajectories: done.size, seconds: (performance.now() - t0) / 1000, skipped, complete: false };
    }
    const key = `${t.muL},${t.muR}`;
    let p = providers.get(key);
    if (!p) providers.set(key, (p = new CpuNegfProvider({ lattice: o.lattice, model: o.model, leads: o.leads, muL: t.muL, muR: t.muR, temperature: o.temperature })));
    count = appendSnapshots(partial, await runTask(o, t, p));
    done.add(t.id);
    ran++;
    run.progress?.(count, total);
  }
  if (existsSync(target)) rmSync(target, { recursive: true, force: true });
  renameSync(partial, target);
  return { count, trajectories: done.size, seconds: (performance.now() - t0) / 1000, skipped, complete: true };
}
