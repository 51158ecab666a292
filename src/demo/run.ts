/**
 * `neqspin demo` pipeline (issue 5): Zhang & Chern's voltage-driven AFM|FM front, NEGF-LL versus
 * ML-LL, end to end, as five resumable stages in one output folder.
 *
 *   1 negf    for every μ: `dataset.trajectories` NEGF-LL training trajectories (float64 twin
 *             LLTwin + NEGF provider, src/dynamics/driven.ts) and one held-out trajectory from
 *             another initial state (other tilt and noise seed); snapshots (S, F, F⊥, n) every
 *             `dataset.every` steps go to the dataset `data-mu{m}/` (held-out trajectory = the
 *             test split), the held-out wall trace to `negf-mu{m}.json`. The trajectories of one
 *             μ run in lockstep: at every step their fields are solved together (`negfDevice`
 *             'cpu': float64 CpuNegfProvider, one after the other; 'gpu': GpuNegfProvider, one
 *             batch), so the GPU solver's batching is used; a μ is committed when all its
 *             trajectories are done. The trajectories are independent, so the numbers equal
 *             those of sequential runs.
 *   2 train   for every μ: the model on `data-mu{m}/` (src/cli/train.ts runTraining, default
 *             descriptor, SiLU; E alone or E and Φ, config.ts `train.potentials`) into `model-mu{m}/`. One model per μ: the descriptor has no
 *             electrode-potential input, a model is bound to its reservoirs like an NEGF provider.
 *   3 ml      for every μ: ML-LL on the GPU (src/dynamics/mlDriven.ts) from the held-out initial
 *             state, `compare.realisations` noise realisations (the first with the NEGF-LL run's
 *             noise seed), wall traces to `ml-mu{m}.json`.
 *   4 large   one model on a lattice ≥ 100× the training lattice (./large.ts): throughput and
 *             c_i maps (figures/large-t{step}.png) → `large.json`.
 *   5 report  metrics.json, report.md and SVG figures (./report.ts).
 *
 * Wall trace: x_DW (the zero of the column-averaged c_i at the front of the FM domain grown from the
 * right electrode, `rightFrontCrossing` in src/lattice/observables.ts: SPEC §3's zero crossing,
 * chosen so that a domain nucleated at the left electrode does not make it jump) every
 * `compare.sampleEvery` steps from step 0, and c_i maps at `compare.snapshots` evenly spaced steps
 * (multiples of sampleEvery, first 0, last `compare.steps`).
 *
 * Output and resume: everything is written into `<out>.partial/` (JobDir, src/io/job.ts) and the
 * folder is renamed to `<out>` only when the report is complete. Each unit of work is committed
 * atomically (dataset appends are journaled, JSON files written with writeFileAtomic, training
 * checkpoints every few epochs), and a unit is skipped on `resume` when its output exists, so a
 * killed run continues where it stopped; all numbers but the timings are deterministic functions of
 * the configuration and seed (float64 CPU NEGF or deterministic GPU NEGF kernels, deterministic GPU
 * ML kernels), so a resumed run reproduces an uninterrupted one (on the same adapter).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAuthorsDat } from '../io/authors-dat.js';
import { Lattice } from '../lattice/lattice.js';
import { neel, tilted } from '../lattice/textures.js';
import { neighbourCorrelation, rightFrontCrossing, columnAverages } from '../lattice/observables.js';
import { LLTwin } from '../dynamics/twin.js';
import { NegfDrivenLL } from '../dynamics/driven.js';
import { MlDrivenLL } from '../dynamics/mlDriven.js';
import type { LLSample } from '../dynamics/engine.js';
import type { LLParamsInput } from '../dynamics/params.js';
import { CpuNegfProvider, unitSpins, type FieldProvider, type FieldResult } from '../negf/provider.js';
import { GpuNegfProvider } from '../negf/gpuProvider.js';
import { appendSnapshots, concatSnapshots, emptySnapshots, readDataset, recoverDataset, writeDataset, type Snapshots } from '../io/dataset.js';
import { JobDir } from '../io/job.js';
import { writeFileAtomic } from '../io/atomic.js';
import { getGpu, type GpuContext, type GpuOptions } from '../gpu/context.js';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../model/train.js';
import { loadModel } from '../model/modelFile.js';
import { runTraining } from '../cli/train.js';
import { latticePng } from '../io/png.js';
import { realisationSeed, trajectorySeed, type DemoConfig } from './config.js';
import { autoLarge, runLarge, type LargeResult } from './large.js';
import { writeReport, type DemoMetrics } from './report.js';
import { divergingRgb } from './svg.js';

/** Wall-position trace and texture maps of one run (NEGF-LL or ML-LL). */
export interface Trace {
  /** sample steps (0, sampleEvery, …, steps) */
  steps: number[];
  /** x_DW at those steps (NaN where the column-averaged c_i has no zero) */
  x: number[];
  /** c_i maps (N values each) */
  textures: { step: number; c: number[] }[];
  /** wall-clock seconds per LL step (field evaluation + step) */
  secondsPerStep: number;
  /**
   * ML-LL only: x_DW at `steps` of every noise realisation from the held-out state (config.ts
   * `realisationSeed`); realisation 0 is this trace's own run (the NEGF-LL run's noise)
   */
  realisations?: { seed: number; x: number[] }[];
}

export interface DemoRunOptions {
  resume?: boolean;
  force?: boolean;
  quiet?: boolean;
  gpu?: GpuOptions;
  /** progress messages (one line each) */
  log?: (line: string) => void;
  /** stop (as if killed) after this stage (1-4) has completed; for resume tests */
  haltAfterStage?: number;
}

export interface DemoCheckpoint {
  stagesDone: number;
}

/**
 * The numbered, resumable stages of a demo in `job`: `stage(n, name, body)` runs `body` unless the
 * checkpoint says stage n is done, then records it (its outputs must already be written
 * atomically); it returns true when the run is to halt after stage n (`haltAfterStage`).
 */
export function stageRunner(job: JobDir<DemoCheckpoint>, o: DemoRunOptions, label: string): (n: number, name: string, body: () => Promise<void>) => Promise<boolean> {
  const state: DemoCheckpoint = job.resumed ?? { stagesDone: 0 };
  const log = o.log ?? (() => {});
  return async (n, name, body) => {
    if (state.stagesDone < n) {
      const t0 = performance.now();
      await body();
      state.stagesDone = n;
      job.checkpoint(state);
      log(`${label}: stage ${n} (${name}) done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    return o.haltAfterStage === n;
  };
}

/** Steps at which texture maps are taken: evenly spaced multiples of sampleEvery, 0 and steps included. */
export function textureSteps(c: { compare: Pick<DemoConfig['compare'], 'steps' | 'sampleEvery' | 'snapshots'> }): number[] {
  const { steps, sampleEvery, snapshots } = c.compare;
  const out = new Set<number>();
  for (let j = 0; j < snapshots; j++) out.add(j === snapshots - 1 ? steps : Math.round((j * steps) / (snapshots - 1) / sampleEvery) * sampleEvery);
  return [...out].sort((a, b) => a - b);
}

function llParams(c: DemoConfig, seed: number) {
  return { integrator: 'midpoint' as const, ...c.dynamics, seed };
}

/** Spins of an authors' snapshot (SPEC §5 .dat format) on `lat`, renormalised in float64. */
export function authorsSpins(path: string, lat: Lattice): Float64Array {
  return unitSpins(parseAuthorsDat(readFileSync(path, 'utf8'), lat.Lx, lat.Ly, path).spins, lat.N);
}

/**
 * Initial state of a trajectory (config.ts): the canted AFM|FM front (Néel AFM along z, FM columns
 * along (sin θ, 0, cos θ)) or the `initialFile` snapshot, tilted by front.tilt with `seed`.
 */
export function initialState(c: DemoConfig, lat: Lattice, seed: number): Float64Array {
  const { seedWidth, angle, tilt } = c.front;
  let s: Float64Array;
  if (c.initialFile) s = authorsSpins(c.initialFile, lat);
  else {
    s = neel(lat);
    for (let i = 0; i < lat.N; i++) if (lat.xOf(i) >= lat.Lx - seedWidth) s.set([Math.sin(angle), 0, Math.cos(angle)], 3 * i);
  }
  return tilt > 0 ? tilted(s, tilt, seed) : s;
}

/**
 * A field provider shared by trajectories that run concurrently in lockstep: every member's
 * `fields(s)` waits until each active member has asked, then all requests are solved by one
 * `solveAll` call (one GPU batch). A member that finishes or fails calls `leave()`; after a failure
 * further requests are rejected, so no member waits for ever.
 */
class Lockstep {
  private waiting: { s: Float64Array | Float32Array; resolve: (r: FieldResult) => void; reject: (e: unknown) => void }[] = [];
  private failure: unknown;

  constructor(
    readonly N: number,
    private active: number,
    private readonly solveAll: (s: (Float64Array | Float32Array)[]) => Promise<FieldResult[]>,
  ) {}

  member(): FieldProvider {
    return { N: this.N, fields: (s) => new Promise((resolve, reject) => (this.failure !== undefined ? reject(this.failure) : (this.waiting.push({ s, resolve, reject }), this.flush()))) };
  }

  leave(failure?: unknown): void {
    this.active--;
    if (failure !== undefined && this.failure === undefined) this.failure = failure;
    this.flush();
  }

  private flush(): void {
    if (!this.waiting.length || (this.waiting.length < this.active && this.failure === undefined)) return;
    const batch = this.waiting;
    this.waiting = [];
    if (this.failure !== undefined) return batch.forEach((w) => w.reject(this.failure));
    this.solveAll(batch.map((w) => w.s)).then(
      (r) => batch.forEach((w, k) => w.resolve(r[k])),
      (e) => batch.forEach((w) => w.reject(e)),
    );
  }
}

/** The stage-1 NEGF solver at μ: `solveAll` of a lockstep batch, and its release. */
async function negfSolver(c: DemoConfig, mu: number, gpu: GpuOptions | undefined): Promise<{ N: number; solveAll: (s: (Float64Array | Float32Array)[]) => Promise<FieldResult[]>; destroy: () => void }> {
  const setup = { lattice: c.lattice, model: c.model, leads: c.leads, muL: mu, muR: mu, temperature: c.temperature };
  if (c.negfDevice === 'gpu') {
    const p = await GpuNegfProvider.create(await getGpu(gpu), setup, { maxBatch: c.dataset.trajectories + 1 });
    return { N: p.N, solveAll: (s) => p.fieldsBatch(s), destroy: () => p.destroy() };
  }
  const p = new CpuNegfProvider(setup);
  return {
    N: p.N,
    solveAll: async (s) => {
      const out: FieldResult[] = [];
      for (const x of s) out.push(await p.fields(x));
      return out;
    },
    destroy: () => {},
  };
}

function wallX(lat: Lattice, s: ArrayLike<number>): number {
  return rightFrontCrossing(columnAverages(lat, s).c);
}

/**
 * One NEGF-LL trajectory of `steps` steps at μ index m, trajectory k: snapshots every `every`
 * steps (dataset format, trajectory id k) and the wall trace when `trace` is requested.
 */
async function negfTrajectory(c: DemoConfig, provider: FieldProvider, mu: number, m: number, k: number, steps: number, every: number, trace: boolean): Promise<{ snapshots: Snapshots; trace: Trace }> {
  const lat = new Lattice(c.lattice);
  const seed = trajectorySeed(c, m, k);
  const twin = new LLTwin(lat, llParams(c, seed));
  twin.setSpins(initialState(c, lat, seed));
  const parts: Snapshots[] = [];
  const tr: Trace = { steps: [], x: [], textures: [], secondsPerStep: 0 };
  const maps = new Set(trace ? textureSteps(c) : []);
  const observe = (step: number, s: ArrayLike<number>) => {
    if (!trace) return;
    if (step % c.compare.sampleEvery === 0) tr.steps.push(step), tr.x.push(wallX(lat, s));
    if (maps.has(step)) tr.textures.push({ step, c: Array.from(neighbourCorrelation(lat, s)) });
  };
  await new NegfDrivenLL(twin, provider).run(steps, {
    onField: (step, s, f) => {
      observe(step, s);
      if (step % every !== 0) return;
      parts.push({
        spins: Float32Array.from(s), field: Float32Array.from(f.F), fieldPerp: Float32Array.from(f.Fperp), density: Float32Array.from(f.density),
        params: Float64Array.of(mu, mu, c.temperature), trajectory: Int32Array.of(k), step: Int32Array.of(step),
      });
    },
  });
  observe(steps, twin.getSpins());
  return { snapshots: concatSnapshots(parts), trace: tr };
}

/**
 * ML-LL on the GPU from `s0` for `compare.steps` steps, observed every `sampleEvery` steps
 * (position: from the GPU column sample, or from the spins at step 0) and mapped at textureSteps;
 * the pipelines are compiled before the timed run. Shared by the afm-fm and stt demos.
 */
export async function mlRun<M>(
  ctx: GpuContext, lat: Lattice, modelDir: string, params: LLParamsInput, s0: Float64Array, c: { compare: Pick<DemoConfig['compare'], 'steps' | 'sampleEvery' | 'snapshots'> },
  observe: { position(sample: LLSample): number; initialPosition(s: Float64Array): number; map(s: Float64Array | Float32Array): M },
): Promise<{ steps: number[]; x: number[]; maps: { step: number; map: M }[]; secondsPerStep: number }> {
  const ml = await MlDrivenLL.create(ctx, lat, loadModel(modelDir), params);
  try {
    ml.setSpins(s0, 0);
    await ml.run(2); // compile the pipelines outside the timed run
    ml.setSpins(s0, 0);
    const out = { steps: [0], x: [observe.initialPosition(s0)], maps: [{ step: 0, map: observe.map(s0) }], secondsPerStep: 0 };
    let timed = 0;
    for (const target of textureSteps(c).filter((s) => s > 0)) {
      const t0 = performance.now();
      const { samples } = await ml.run(target - ml.step, { sampleEvery: c.compare.sampleEvery });
      const s = await ml.getSpins();
      timed += performance.now() - t0;
      for (const smp of samples) out.steps.push(smp.step), out.x.push(observe.position(smp));
      out.maps.push({ step: target, map: observe.map(s) });
    }
    out.secondsPerStep = timed / 1000 / c.compare.steps;
    return out;
  } finally {
    ml.destroy();
  }
}

/**
 * ML-LL on the GPU from the held-out initial state of μ index m: `compare.realisations` runs with
 * the noise seeds `realisationSeed(c, m, j)`; run 0 (the NEGF-LL run's own noise) gives the trace
 * and its texture maps, every run its wall positions (`realisations`).
 */
async function mlTrajectory(c: DemoConfig, modelDir: string, m: number, gpu: GpuOptions | undefined): Promise<Trace> {
  const lat = new Lattice(c.lattice);
  const ctx = await getGpu(gpu);
  const s0 = initialState(c, lat, trajectorySeed(c, m, c.dataset.trajectories));
  let trace: Trace | undefined;
  const realisations: { seed: number; x: number[] }[] = [];
  for (let j = 0; j < c.compare.realisations; j++) {
    const seed = realisationSeed(c, m, j);
    const r = await mlRun(ctx, lat, modelDir, llParams(c, seed), s0, c, {
      position: (smp) => rightFrontCrossing(smp.c),
      initialPosition: (s) => wallX(lat, s),
      map: (s) => (j === 0 ? Array.from(neighbourCorrelation(lat, s)) : []),
    });
    trace ??= { steps: r.steps, x: r.x, textures: r.maps.map(({ step, map }) => ({ step, c: map })), secondsPerStep: r.secondsPerStep };
    realisations.push({ seed, x: r.x });
  }
  return { ...trace!, realisations };
}

/** Training configuration of the demo's models. */
export function demoTrainConfig(c: DemoConfig): TrainConfig {
  const { hidden, epochs, batch, lr, potentials } = c.train;
  return { ...DEFAULT_TRAIN_CONFIG, hidden, epochs, batch, lr, useP: potentials === 'two', seed: c.seed, checkpointEvery: 5 };
}

const file = {
  data: (m: number) => `data-mu${m}`,
  model: (m: number) => `model-mu${m}`,
  negf: (m: number) => `negf-mu${m}.json`,
  ml: (m: number) => `ml-mu${m}.json`,
  large: 'large.json',
};

/** A wall trace written by writeFileAtomic(JSON): JSON turned the NaN positions into null. */
export function readTrace<T extends { x: number[] } = Trace>(path: string): T {
  const t = JSON.parse(readFileSync(path, 'utf8')) as T;
  t.x = t.x.map((v) => (v === null ? NaN : v));
  return t;
}

/** Run (or resume) the demo into `out`; returns the metrics, or undefined when halted. */
export async function runDemo(out: string, c: DemoConfig, o: DemoRunOptions = {}): Promise<DemoMetrics | undefined> {
  const started = performance.now();
  if (c.compare.steps % c.compare.sampleEvery !== 0) throw new Error(`compare.steps (${c.compare.steps}) must be a multiple of compare.sampleEvery (${c.compare.sampleEvery})`);
  const job = new JobDir<DemoCheckpoint>(out, { overwrite: o.force, resume: o.resume }, c);
  const log = o.log ?? (() => {});
  const K = c.dataset.trajectories;
  const stage = stageRunner(job, o, 'demo');

  if (await stage(1, 'NEGF-LL trajectories', async () => {
    for (const [m, mu] of c.mu.entries()) {
      const dir = job.path(file.data(m));
      if (existsSync(dir)) recoverDataset(dir);
      else {
        const split = { train: Array.from({ length: K }, (_, k) => k), val: [], test: [K] };
        const solver = c.negfDevice === 'gpu' ? 'GPU f32 batched RGF (GpuNegfProvider)' : 'float64 CPU RGF (CpuNegfProvider)';
        const provenance = { generator: 'neqspin demo', config: c, mu, dynamics: `NEGF-driven LL, midpoint (float64 twin), adiabatic electrons, ${solver}` };
        await writeDataset(dir, { lattice: c.lattice, model: c.model, leads: c.leads, provenance, split }, emptySnapshots());
      }
      const done = new Set(readDataset(dir).data.trajectory);
      const todo = Array.from({ length: K + 1 }, (_, k) => k).filter((k) => !done.has(k));
      if (!todo.length) continue;
      const steps = (k: number) => (k === K ? c.compare.steps : c.dataset.steps);
      log(`demo: μ = ${mu}: NEGF-LL trajectories ${todo.join(', ')} in lockstep (${c.negfDevice} NEGF; ${todo.map(steps).join(', ')} steps; ${K} = held-out)`);
      const solver = await negfSolver(c, mu, o.gpu);
      const lock = new Lockstep(solver.N, todo.length, solver.solveAll);
      const t0 = performance.now();
      let results: { snapshots: Snapshots; trace: Trace }[];
      try {
        results = await Promise.all(
          todo.map(async (k) => {
            try {
              const r = await negfTrajectory(c, lock.member(), mu, m, k, steps(k), c.dataset.every, k === K);
              lock.leave();
              return r;
            } catch (e) {
              lock.leave(e);
              throw e;
            }
          }),
        );
      } finally {
        solver.destroy();
      }
      // amortised wall time per NEGF-LL step of this μ's trajectories
      const perStep = (performance.now() - t0) / 1000 / todo.reduce((a, k) => a + steps(k), 0);
      todo.forEach((k, j) => {
        if (k !== K) return;
        results[j].trace.secondsPerStep = perStep;
        writeFileAtomic(job.path(file.negf(m)), JSON.stringify(results[j].trace));
      });
      for (const r of results) appendSnapshots(dir, r.snapshots);
    }
  })) return undefined;

  if (await stage(2, 'training', async () => {
    for (const [m, mu] of c.mu.entries()) {
      if (existsSync(job.path(file.model(m)))) continue;
      log(`demo: μ = ${mu}: training the model (${c.train.potentials === 'two' ? 'E and Φ' : 'E alone, Φ ≡ 0'})`);
      await runTraining(job.path(file.data(m)), job.path(file.model(m)), demoTrainConfig(c), { resume: true, quiet: o.quiet, gpu: o.gpu });
    }
  })) return undefined;

  if (await stage(3, 'ML-LL', async () => {
    for (const [m, mu] of c.mu.entries()) {
      if (existsSync(job.path(file.ml(m)))) continue;
      log(`demo: μ = ${mu}: ML-LL from the held-out state`);
      writeFileAtomic(job.path(file.ml(m)), JSON.stringify(await mlTrajectory(c, job.path(file.model(m)), m, o.gpu)));
    }
  })) return undefined;

  if (await stage(4, 'large-lattice ML-LL', async () => {
    if (existsSync(job.path(file.large))) return;
    const ctx = await getGpu(o.gpu);
    const l = c.large ?? autoLarge(ctx.info);
    const m = l.muIndex;
    log(`demo: μ = ${c.mu[m]}: ML-LL on ${l.Lx}×${l.Ly} (${l.Lx * l.Ly} spins, ${l.steps} steps)`);
    const image = (name: string, v: Float64Array, Lx: number, Ly: number) => writeFileAtomic(job.path(name), latticePng(v, Lx, Ly, divergingRgb).png);
    const r = await runLarge(ctx, c, l, loadModel(job.path(file.model(m))), trajectorySeed(c, m, K), image);
    log(`demo: large lattice: ${r.timing.spinStepsPerSecond.toExponential(3)} spin-steps/s (${(r.timing.secondsPerStep * 1e3).toFixed(1)} ms per step)`);
    writeFileAtomic(job.path(file.large), JSON.stringify(r));
  })) return undefined;

  const large = JSON.parse(readFileSync(job.path(file.large), 'utf8')) as LargeResult;
  const runs = c.mu.map((mu, m) => {
    const ev = JSON.parse(readFileSync(join(job.path(file.model(m)), 'evaluation.json'), 'utf8'));
    return { mu, negf: readTrace(job.path(file.negf(m))), ml: readTrace(job.path(file.ml(m))), evaluation: ev, parity: join(file.model(m), 'parity.svg') };
  });
  const metrics = writeReport(job.dir, c, runs, large, { seconds: (performance.now() - started) / 1000, resumed: !!job.resumed });
  job.commit();
  return metrics;
}
