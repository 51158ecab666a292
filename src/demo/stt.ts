/**
 * `neqspin demo --scenario stt` (issue 5, beyond the paper): a current-driven ferromagnetic domain
 * wall. A metallic ferromagnetic strip (s-d model, SPEC §1) with a Néel (or Bloch) wall between
 * wide-band electrodes at muL = mu0 + V/2, muR = mu0 - V/2; the conduction electrons, fully
 * spin-polarised (half-metal: mu0 lies between the majority and minority band edges), exert a
 * spin-transfer torque on the wall. docs/demo-stt.md gives the set-up, its justification and the
 * measured numbers.
 *
 * Physics of the driving (SPEC conventions). The local spins follow dS/dt = -S × H (SPEC §3), the
 * magnetisation convention: for a spin of angular momentum L the quantum equation is dL/dt = L × F
 * (F = -∂H/∂L), so a local spin here carries angular momentum -S (ħ = 1) and the conserved total
 * is Σ σ/2 - Σ S. With the torque sum rule Σ S × F = (I_s,L + I_s,R)/2 (SPEC §2) the spin current
 * absorbed by the wall changes Σ S_z at the rate -τ_z, τ_z = e·Σ S_i × F_i, and a wall whose
 * profile translates rigidly by dX changes Σ S·e by -2 L_y dX (+e domain on the left). Hence the
 * wall moves at v_J = -τ_z/(2 L_y) when it absorbs the current's spin without loss: majority
 * electrons (σ ∥ S for J > 0) flowing L → R turn from +e to -e, τ_z > 0, and the wall moves
 * AGAINST the electron flow (towards the left electrode for V > 0). In materials, where the
 * majority spin is antiparallel to the moment, the same conservation law moves the wall along the
 * electron flow; only the convention differs.
 *
 * Why the nonconservative potential is needed (collective coordinates X, φ of a rigid wall, φ the
 * rotation angle about the easy axis e, a zero mode: the electrons have no spin-orbit coupling and
 * K⊥ = 0). For a model field h the generalised forces are Q_k = Σ_i h_i·∂_k S_i:
 *   - E-only (single potential): Q_φ = -∂E/∂φ = 0 exactly, because E is invariant under global
 *     rotations; equivalently Σ_i S_i × h_i = 0 for every configuration. The adiabatic
 *     spin-transfer torque is precisely a force on φ (τ_z = Q_φ): the single-potential model
 *     cannot represent it, and its wall moves only through the non-adiabatic (β-like) force on X.
 *   - Φ (second potential): h = -S × ∂Φ/∂S gives Q_φ = Δ ∂Φ/∂X (Walker profile, width Δ) and
 *     Q_X = -(1/Δ) ∂Φ/∂φ = 0; E gives Q_X = -∂E/∂X. A bulk force needs potentials that change
 *     linearly with the wall position, so the descriptor must carry the column index (the authors'
 *     `column` lead feature, STT_DESCRIPTOR below): a translation-invariant local descriptor
 *     (`clipped`, `onehot`) gives Q_X = Q_φ = 0 in the bulk for both models.
 * Even with the column index, Φ can only mimic the torque through its collective effect: the local
 * adiabatic STT field -u S × ∂ₓS is not -S × ∂Φ/∂S for any Φ (src/model/torque.ts), and the
 * two-potential fit stays poor. The third model adds the bond-torque head, which represents it.
 * The loop work W = ∮ Σ_i F_i·dS_i along the wall-rotation loop S(φ) = R_e(φ) S, φ ∈ [0, 2π),
 * measures this: W = 2π τ_z for NEGF (π (I_s,L + I_s,R)·e by the sum rule), 0 at V = 0 and for
 * every single-potential model, whatever its training.
 *
 * Pipeline (resumable stages in one output folder, JobDir; as src/demo/run.ts):
 *   1 negf    per V: NEGF-LL trajectories (float64 LLTwin + CpuNegfProvider) from walls at
 *             `wall.train[k]` (training) and `wall.heldOut` (held-out = test split, another
 *             position, tilt and noise seed), snapshots (S, F, F⊥, n) to `data-v{m}/`, the held-out
 *             wall trace to `negf-v{m}.json`, the NEGF loop work and spin currents of the held-out
 *             initial state to `loop-v{m}.json`;
 *   2 train   per V: the two-potential model, the single-potential model (Φ off) and the
 *             two-potential model with the bond-torque head (src/model/torque.ts), same data,
 *             descriptor, network and seed, into `model-v{m}-{two,single,torque}/`. One model set
 *             per V: the descriptor has no bias input, a model is bound to its reservoirs;
 *   3 ml      per V and model: ML-LL on the GPU from the held-out initial state, same noise seed;
 *             then the largest V's torque model on a strip long.factor times longer (long.json);
 *   4 report  held-out torques and loop works of the models (float64 twins), metrics.json,
 *             report.md, figures (./sttReport.ts).
 * Seeds: trajectory k at bias index m uses seed + m·(K+1) + k (K training trajectories, k = K the
 * held-out one) for its initial tilt and its thermal noise; ML-LL reuses the held-out seed.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Lattice } from '../lattice/lattice.js';
import { domainWall, tilted } from '../lattice/textures.js';
import { columnAverages, zeroCrossing } from '../lattice/observables.js';
import { LLTwin } from '../dynamics/twin.js';
import { NegfDrivenLL } from '../dynamics/driven.js';
import type { LLParamsInput, NoiseKind, Vec3 } from '../dynamics/params.js';
import { CpuNegfProvider } from '../negf/provider.js';
import { appendSnapshots, concatSnapshots, emptySnapshots, readDataset, recoverDataset, writeDataset, type Snapshots } from '../io/dataset.js';
import { JobDir } from '../io/job.js';
import { writeFileAtomic } from '../io/atomic.js';
import { UserError } from '../io/errors.js';
import { getGpu, type GpuOptions } from '../gpu/context.js';
import { DEFAULT_TRAIN_CONFIG, type TrainConfig } from '../model/train.js';
import { DESCRIPTOR_PRESETS, type DescriptorConfig } from '../model/descriptor.js';
import { loadModel } from '../model/modelFile.js';
import { mlFieldF64, mlFieldTwin } from '../model/field.js';
import { runTraining } from '../cli/train.js';
import { writeSttReport, type SttMetrics, type SttRun } from './sttReport.js';
import { mlRun, readTrace, stageRunner, textureSteps, type DemoCheckpoint, type DemoRunOptions } from './run.js';

/** Rotation-invariant descriptor of radius 2 with the raw column index (see the module doc). */
export const STT_DESCRIPTOR: DescriptorConfig = { rc: 2, rp: 1.5, lead: { kind: 'column' } };

/**
 * Descriptor of the bond-torque model: translation invariant (the default preset: rc 2, lead
 * distance clipped at 4 columns). The head represents the torque locally, so it needs no column
 * index, and the model applies to strips of any length (stage 3's long strip).
 */
export const STT_TORQUE_DESCRIPTOR: DescriptorConfig = DESCRIPTOR_PRESETS.default;

/** two potentials (SPEC §4), E only (ablation), two potentials + bond-torque head (src/model/torque.ts) */
export type ModelKind = 'two' | 'single' | 'torque';
export const MODEL_KINDS: readonly ModelKind[] = ['two', 'single', 'torque'];
export const MODEL_LABEL: Record<ModelKind, string> = { two: 'two-potential', single: 'single-potential', torque: 'two-potential + bond torque' };

export interface SttConfig {
  name: 'default' | 'quick';
  lattice: { Lx: number; Ly: number; periodicY: boolean };
  model: { t: number; J: number };
  leads: { kind: 'wide-band'; gamma: number };
  /** electron temperature */
  temperature: number;
  /** mean electrode potential: muL = mu0 + V/2, muR = mu0 - V/2 */
  mu0: number;
  /** biases V = muL - muR, one dataset, model pair and comparison each */
  biases: number[];
  /** GK15 panels per bias-window sub-interval of the fixed NEGF grid (src/negf/provider.ts) */
  realPanels: number;
  /** midpoint LL; local terms: Heisenberg J_H between local spins, easy axis z with constant K */
  dynamics: { alpha: number; dt: number; temperature: number; noise: NoiseKind; JH: number; K: number };
  /** initial walls (+z left, -z right): type, width Δ, centres of the training and held-out walls, tilt */
  wall: { type: 'neel' | 'bloch'; width: number; train: number[]; heldOut: number; tilt: number };
  /** NEGF-LL training trajectories (one per wall.train entry): steps, snapshot interval */
  dataset: { steps: number; every: number };
  /** held-out comparison: steps, wall-position sample interval, S_z maps per run */
  compare: { steps: number; sampleEvery: number; snapshots: number };
  /** all models: STT_DESCRIPTOR (torque: STT_TORQUE_DESCRIPTOR), SiLU, these widths and optimiser settings */
  train: { hidden: number[]; epochs: number; batch: number; lr: number };
  /** beyond NEGF's reach: ML-LL of the largest bias's torque model on a strip `factor` times longer */
  long: { factor: number; steps: number; sampleEvery: number };
  /** points of the wall-rotation loop (periodic trapezoid rule) */
  loopPoints: number;
  seed: number;
}

/** The easy axis of the scenario (walls rotate from +e to -e along x). */
export const EASY_AXIS: Vec3 = [0, 0, 1];

/** Embedded configurations: `default` (24×4, docs/demo-stt.md) and `quick` (tests, seconds). */
export function sttConfig(name: 'default' | 'quick', seed: number): SttConfig {
  const physics = {
    model: { t: 1, J: 2 },
    leads: { kind: 'wide-band' as const, gamma: 2 },
    temperature: 0.02,
    mu0: -3,
    realPanels: 1,
    dynamics: { alpha: 0.3, dt: 0.5, temperature: 2e-4, noise: 'fdt' as const, JH: 0.2, K: 0.025 },
    seed,
  };
  if (name === 'quick') {
    return {
      ...physics,
      name,
      lattice: { Lx: 10, Ly: 3, periodicY: true },
      biases: [0, 1],
      wall: { type: 'neel', width: 1.5, train: [6], heldOut: 5.5, tilt: 0.05 },
      dataset: { steps: 18, every: 3 },
      compare: { steps: 18, sampleEvery: 3, snapshots: 3 },
      train: { hidden: [8], epochs: 4, batch: 4, lr: 3e-3 },
      long: { factor: 4, steps: 6, sampleEvery: 3 },
      loopPoints: 4,
    };
  }
  return {
    ...physics,
    name,
    lattice: { Lx: 24, Ly: 4, periodicY: true },
    biases: [0, 0.4, 0.8, 1.2],
    wall: { type: 'neel', width: 2, train: [17, 14], heldOut: 15.5, tilt: 0.05 },
    dataset: { steps: 160, every: 4 },
    compare: { steps: 160, sampleEvery: 4, snapshots: 5 },
    train: { hidden: [32, 32], epochs: 60, batch: 1, lr: 3e-3 },
    long: { factor: 100, steps: 200, sampleEvery: 10 },
    loopPoints: 8,
  };
}

// ---------------------------------------------------------------- observables and loop work

/** Column profile of the easy-axis component, p(x) = e·(column mean of S)(x). */
export function easyAxisProfile(col: { sx: ArrayLike<number>; sy: ArrayLike<number>; sz: ArrayLike<number> }, e: Vec3 = EASY_AXIS): Float64Array {
  const p = new Float64Array(col.sz.length);
  for (let x = 0; x < p.length; x++) p[x] = e[0] * col.sx[x] + e[1] * col.sy[x] + e[2] * col.sz[x];
  return p;
}

/**
 * Position of a ferromagnetic wall (SPEC §3): the first zero crossing, linearly interpolated
 * between column centres, of the column-averaged easy-axis component; NaN when it has no sign
 * change. Accepts host column averages or an LL sample.
 */
export function fmWallPosition(col: { sx: ArrayLike<number>; sy: ArrayLike<number>; sz: ArrayLike<number> }, e: Vec3 = EASY_AXIS): number {
  return zeroCrossing(easyAxisProfile(col, e));
}

/** Net torque along e: τ_e = e·Σ_i S_i × F_i (the generalised force on the wall-rotation angle). */
export function netTorque(spins: ArrayLike<number>, field: ArrayLike<number>, e: Vec3 = EASY_AXIS): number {
  let t = 0;
  for (let i = 0; i < spins.length / 3; i++) {
    const [sx, sy, sz] = [spins[3 * i], spins[3 * i + 1], spins[3 * i + 2]];
    const [fx, fy, fz] = [field[3 * i], field[3 * i + 1], field[3 * i + 2]];
    t += e[0] * (sy * fz - sz * fy) + e[1] * (sz * fx - sx * fz) + e[2] * (sx * fy - sy * fx);
  }
  return t;
}

/** A closed loop φ ∈ [0, 2π) ↦ spins(φ) with its tangent dS/dφ (both 3N). */
export interface SpinLoop {
  at(phi: number): Float64Array;
  tangent(phi: number): Float64Array;
}

/** Rotate v about the unit axis e by φ (Rodrigues). */
function rotate(v: Vec3, e: Vec3, phi: number): Vec3 {
  const c = Math.cos(phi), s = Math.sin(phi), d = (e[0] * v[0] + e[1] * v[1] + e[2] * v[2]) * (1 - c);
  return [v[0] * c + (e[1] * v[2] - e[2] * v[1]) * s + e[0] * d, v[1] * c + (e[2] * v[0] - e[0] * v[2]) * s + e[1] * d, v[2] * c + (e[0] * v[1] - e[1] * v[0]) * s + e[2] * d];
}

/**
 * The loop that rotates the spins of `sites` (default: all, the wall-rotation loop) about the unit
 * axis `axis` by φ, the others fixed: S_i(φ) = R(φ) S_i, dS_i/dφ = axis × S_i(φ).
 */
export function rotationLoop(s0: ArrayLike<number>, axis: Vec3 = EASY_AXIS, sites?: number[]): SpinLoop {
  const n = Math.hypot(...axis);
  if (!(n > 0)) throw new Error('loop.axis must be a non-zero vector');
  const e: Vec3 = [axis[0] / n, axis[1] / n, axis[2] / n];
  const N = s0.length / 3;
  const moving = sites ?? Array.from({ length: N }, (_, i) => i);
  for (const i of moving) if (!Number.isInteger(i) || i < 0 || i >= N) throw new Error(`loop.sites: ${i} is not a site index in [0, ${N})`);
  const spin = (i: number): Vec3 => [s0[3 * i], s0[3 * i + 1], s0[3 * i + 2]];
  return {
    at(phi) {
      const s = Float64Array.from(s0);
      for (const i of moving) s.set(rotate(spin(i), e, phi), 3 * i);
      return s;
    },
    tangent(phi) {
      const t = new Float64Array(3 * N);
      for (const i of moving) {
        const r = rotate(spin(i), e, phi);
        t.set([e[1] * r[2] - e[2] * r[1], e[2] * r[0] - e[0] * r[2], e[0] * r[1] - e[1] * r[0]], 3 * i);
      }
      return t;
    },
  };
}

/**
 * Work of a field along a closed loop, W = ∮ Σ_i F_i·dS_i, by the periodic trapezoid rule with
 * `points` nodes (spectrally accurate for a smooth field). Zero for a conservative field
 * F = -∂Ω/∂S; nonzero W proves a nonconservative part.
 */
export async function loopWork(field: (spins: Float64Array) => ArrayLike<number> | Promise<ArrayLike<number>>, loop: SpinLoop, points: number): Promise<number> {
  if (!Number.isInteger(points) || points < 2) throw new Error(`loop.points must be an integer ≥ 2, got ${points}`);
  let w = 0;
  for (let k = 0; k < points; k++) {
    const phi = (2 * Math.PI * k) / points;
    const f = await field(loop.at(phi)), t = loop.tangent(phi);
    for (let p = 0; p < t.length; p++) w += f[p] * t[p];
  }
  return (w * 2 * Math.PI) / points;
}

// ---------------------------------------------------------------- pipeline

/** Wall trace of one run (NEGF-LL or ML-LL) from the held-out initial state. */
export interface WallTrace {
  /** sample steps 0, sampleEvery, …, compare.steps */
  steps: number[];
  /** wall position (fmWallPosition) at those steps; NaN where the profile has no zero */
  x: number[];
  /** easy-axis component S_i·e of every site at the map steps */
  maps: { step: number; values: number[] }[];
  /** wall-clock seconds per LL step */
  secondsPerStep: number;
}

/** NEGF quantities of the held-out initial state (stage 1). */
export interface NegfLoop {
  /** W = ∮ F·dS along the wall-rotation loop (loopPoints nodes) */
  work: number;
  /** e·(I_s,L + I_s,R), the spin current absorbed; W = π times this by the sum rule */
  spinCurrent: number;
  /** particle current from the left electrode */
  current: number;
}

/** Options of runSttDemo: those of runDemo (`haltAfterStage` 1-3 here). */
export type SttRunOptions = DemoRunOptions;

const K = (c: SttConfig) => c.wall.train.length;
const seedOf = (c: SttConfig, m: number, k: number) => c.seed + m * (K(c) + 1) + k;
const muOf = (c: SttConfig, V: number) => ({ muL: c.mu0 + V / 2, muR: c.mu0 - V / 2 });

function llParams(c: SttConfig, seed: number): LLParamsInput {
  const { alpha, dt, temperature, noise, JH, K: aniso } = c.dynamics;
  return { integrator: 'midpoint', alpha, dt, temperature, noise, JH, K: aniso, easyAxis: EASY_AXIS, seed };
}

/** Initial wall of trajectory k at bias index m (k = K: the held-out one), tilted with its seed. */
export function initialWall(c: SttConfig, lat: Lattice, m: number, k: number): Float64Array {
  return wallAt(c, lat, k < K(c) ? c.wall.train[k] : c.wall.heldOut, seedOf(c, m, k));
}

/** The configured wall (type, width) centred at x0, tilted with `seed`. */
function wallAt(c: SttConfig, lat: Lattice, x0: number, seed: number): Float64Array {
  const s = domainWall(lat, c.wall.type, { x0, width: c.wall.width });
  return c.wall.tilt > 0 ? tilted(s, c.wall.tilt, seed) : s;
}

function provider(c: SttConfig, V: number): CpuNegfProvider {
  return new CpuNegfProvider({ lattice: c.lattice, model: c.model, leads: c.leads, ...muOf(c, V), temperature: c.temperature }, { realPanels: c.realPanels });
}

const easyComponent = (s: ArrayLike<number>) => Array.from({ length: s.length / 3 }, (_, i) => EASY_AXIS[0] * s[3 * i] + EASY_AXIS[1] * s[3 * i + 1] + EASY_AXIS[2] * s[3 * i + 2]);

/** One NEGF-LL trajectory: dataset snapshots every dataset.every steps, and the wall trace. */
async function negfTrajectory(c: SttConfig, p: CpuNegfProvider, m: number, k: number): Promise<{ snapshots: Snapshots; trace: WallTrace }> {
  const lat = new Lattice(c.lattice);
  const held = k === K(c);
  const steps = held ? c.compare.steps : c.dataset.steps;
  const twin = new LLTwin(lat, llParams(c, seedOf(c, m, k)));
  twin.setSpins(initialWall(c, lat, m, k));
  const parts: Snapshots[] = [];
  const tr: WallTrace = { steps: [], x: [], maps: [], secondsPerStep: 0 };
  const maps = new Set(textureSteps(c));
  const observe = (step: number, s: ArrayLike<number>) => {
    if (step % c.compare.sampleEvery === 0) tr.steps.push(step), tr.x.push(fmWallPosition(columnAverages(lat, s)));
    if (maps.has(step)) tr.maps.push({ step, values: easyComponent(s) });
  };
  const t0 = performance.now();
  await new NegfDrivenLL(twin, p).run(steps, {
    onField: (step, s, f) => {
      observe(step, s);
      if (step % c.dataset.every !== 0) return;
      parts.push({
        spins: Float32Array.from(s), field: Float32Array.from(f.F), fieldPerp: Float32Array.from(f.Fperp), density: Float32Array.from(f.density),
        params: Float64Array.of(p.setup.muL, p.setup.muR, c.temperature), trajectory: Int32Array.of(k), step: Int32Array.of(step),
      });
    },
  });
  tr.secondsPerStep = (performance.now() - t0) / 1000 / steps;
  observe(steps, twin.getSpins());
  return { snapshots: concatSnapshots(parts), trace: tr };
}

/** ML-LL on the GPU from the held-out initial state of bias index m (same noise seed as NEGF-LL). */
async function mlTrajectory(c: SttConfig, modelDir: string, m: number, gpu: GpuOptions | undefined): Promise<WallTrace> {
  const lat = new Lattice(c.lattice);
  const r = await mlRun(await getGpu(gpu), lat, modelDir, llParams(c, seedOf(c, m, K(c))), initialWall(c, lat, m, K(c)), c, {
    position: (smp) => fmWallPosition(smp),
    initialPosition: (s) => fmWallPosition(columnAverages(lat, s)),
    map: easyComponent,
  });
  return { steps: r.steps, x: r.x, maps: r.maps.map(({ step, map }) => ({ step, values: map })), secondsPerStep: r.secondsPerStep };
}

/** ML-LL on the long strip (stage 3). */
export interface LongRun {
  V: number;
  lattice: { Lx: number; Ly: number; periodicY: boolean };
  spins: number;
  /** the wall starts at the strip's centre */
  x0: number;
  steps: number[];
  x: number[];
  /** wall-clock seconds per LL step (field + step, GPU) */
  secondsPerStep: number;
}

/**
 * ML-LL of the torque model of bias index m on a strip c.long.factor times longer than the NEGF
 * lattice (same Ly, same leads at its ends), from a tilted wall at its centre; noise seed of the
 * held-out trajectory. No NEGF comparison exists at this size: the report compares the velocity
 * with the NEGF-LL one of the short strip at the same V (ballistic half-metal: same current).
 */
async function longRun(c: SttConfig, modelDir: string, m: number, gpu: GpuOptions | undefined): Promise<LongRun> {
  const lattice = { ...c.lattice, Lx: c.long.factor * c.lattice.Lx };
  const lat = new Lattice(lattice);
  const x0 = (lattice.Lx - 1) / 2;
  const s0 = wallAt(c, lat, x0, seedOf(c, m, K(c)));
  const { steps, sampleEvery } = c.long;
  const r = await mlRun(await getGpu(gpu), lat, modelDir, llParams(c, seedOf(c, m, K(c))), s0, { compare: { steps, sampleEvery, snapshots: 2 } }, {
    position: (smp) => fmWallPosition(smp),
    initialPosition: (s) => fmWallPosition(columnAverages(lat, s)),
    map: () => null,
  });
  return { V: c.biases[m], lattice, spins: lat.N, x0, steps: r.steps, x: r.x, secondsPerStep: r.secondsPerStep };
}

/** Training configuration of model `kind` (identical but for Φ and the bond-torque head). */
export function sttTrainConfig(c: SttConfig, kind: ModelKind): TrainConfig {
  const { hidden, epochs, batch, lr } = c.train;
  const descriptor = kind === 'torque' ? STT_TORQUE_DESCRIPTOR : STT_DESCRIPTOR;
  return { ...DEFAULT_TRAIN_CONFIG, descriptor, hidden, epochs, batch, lr, useP: kind !== 'single', torque: kind === 'torque', seed: c.seed, checkpointEvery: 5, normFloor: 1 };
}

/** {kind: f(kind)} over MODEL_KINDS */
export function perModel<T>(f: (kind: ModelKind) => T): Record<ModelKind, T> {
  return Object.fromEntries(MODEL_KINDS.map((k) => [k, f(k)])) as Record<ModelKind, T>;
}

const file = {
  data: (m: number) => `data-v${m}`,
  model: (m: number, kind: ModelKind) => `model-v${m}-${kind}`,
  negf: (m: number) => `negf-v${m}.json`,
  loop: (m: number) => `loop-v${m}.json`,
  ml: (m: number, kind: ModelKind) => `ml-v${m}-${kind}.json`,
  long: 'long.json',
};

function readJson<T>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T;
}


function checkConfig(c: SttConfig): void {
  const { Lx } = c.lattice;
  if (c.compare.steps % c.compare.sampleEvery !== 0) throw new UserError(`stt.compare.steps (${c.compare.steps}) must be a multiple of compare.sampleEvery (${c.compare.sampleEvery})`);
  if (c.wall.train.length < 1) throw new UserError('stt.wall.train must list at least one training wall');
  for (const x0 of [...c.wall.train, c.wall.heldOut]) if (!(x0 > 0 && x0 < Lx - 1)) throw new UserError(`stt.wall: centre ${x0} must lie inside (0, ${Lx - 1})`);
  if (c.biases.length < 1 || c.biases.some((v) => !Number.isFinite(v))) throw new UserError('stt.biases must be a non-empty list of finite numbers');
  const { factor, steps, sampleEvery } = c.long;
  if (!(Number.isInteger(factor) && factor >= 1)) throw new UserError(`stt.long.factor must be a positive integer, got ${factor}`);
  if (!(Number.isInteger(sampleEvery) && sampleEvery >= 1 && Number.isInteger(steps) && steps % sampleEvery === 0)) {
    throw new UserError(`stt.long.steps (${steps}) must be a multiple of long.sampleEvery (${sampleEvery})`);
  }
}

/**
 * Held-out quantities of bias index m computed from the stored data: per held-out snapshot the net
 * torque τ_z of NEGF (from F⊥; S × F = S × F⊥) and of each model (float64 twin), and each model's
 * wall-rotation loop work at the held-out initial state.
 */
async function heldOutTorques(c: SttConfig, dir: string, m: number, modelDir: (kind: ModelKind) => string) {
  const lat = new Lattice(c.lattice);
  const ds = readDataset(dir);
  const N = lat.N;
  const rows = Array.from(ds.data.trajectory.keys()).filter((r) => ds.data.trajectory[r] === K(c)).sort((a, b) => ds.data.step[a] - ds.data.step[b]);
  const spinsOf = (r: number) => Float64Array.from(ds.data.spins.subarray(3 * N * r, 3 * N * (r + 1)));
  const twins = perModel((kind) => mlFieldTwin(loadModel(modelDir(kind)), lat));
  const torque = {
    steps: rows.map((r) => ds.data.step[r]),
    negf: rows.map((r) => netTorque(spinsOf(r), ds.data.fieldPerp.subarray(3 * N * r, 3 * N * (r + 1)))),
    ...perModel((kind) => rows.map((r) => netTorque(spinsOf(r), mlFieldF64(twins[kind], spinsOf(r))))),
  };
  const loop = rotationLoop(initialWall(c, lat, m, K(c)));
  const work = {} as Record<ModelKind, number>;
  for (const kind of MODEL_KINDS) work[kind] = await loopWork((s) => mlFieldF64(twins[kind], s), loop, c.loopPoints);
  return { torque, work };
}

/** Run (or resume) the STT demo into `out`; returns the metrics, or undefined when halted. */
export async function runSttDemo(out: string, c: SttConfig, o: SttRunOptions = {}): Promise<SttMetrics | undefined> {
  const started = performance.now();
  checkConfig(c);
  const job = new JobDir<DemoCheckpoint>(out, { overwrite: o.force, resume: o.resume }, { scenario: 'stt', config: c });
  const log = o.log ?? (() => {});
  const stage = stageRunner(job, o, 'demo stt');

  if (await stage(1, 'NEGF-LL trajectories', async () => {
    for (const [m, V] of c.biases.entries()) {
      const dir = job.path(file.data(m));
      const p = provider(c, V);
      if (existsSync(dir)) recoverDataset(dir);
      else {
        const split = { train: Array.from({ length: K(c) }, (_, k) => k), val: [], test: [K(c)] };
        const provenance = { generator: 'neqspin demo --scenario stt', config: c, V, dynamics: 'NEGF-driven LL, midpoint (float64 twin), adiabatic electrons' };
        await writeDataset(dir, { lattice: c.lattice, model: c.model, leads: c.leads, provenance, split }, emptySnapshots());
      }
      const done = new Set(readDataset(dir).data.trajectory);
      for (let k = 0; k <= K(c); k++) {
        if (done.has(k)) continue;
        log(`demo stt: V = ${V}: NEGF-LL ${k === K(c) ? 'held-out' : 'training'} trajectory ${k}`);
        const r = await negfTrajectory(c, p, m, k);
        if (k === K(c)) writeFileAtomic(job.path(file.negf(m)), JSON.stringify(r.trace));
        appendSnapshots(dir, r.snapshots);
      }
      if (!existsSync(job.path(file.loop(m)))) {
        const s0 = initialWall(c, new Lattice(c.lattice), m, K(c));
        const res = p.solve(s0);
        const e = EASY_AXIS, sc = (v: ArrayLike<number>) => e[0] * v[0] + e[1] * v[1] + e[2] * v[2];
        const loop: NegfLoop = {
          work: await loopWork(async (s) => (await p.fields(s)).F, rotationLoop(s0), c.loopPoints),
          spinCurrent: sc(res.spinCurrentL) + sc(res.spinCurrentR),
          current: res.currentL,
        };
        writeFileAtomic(job.path(file.loop(m)), JSON.stringify(loop));
      }
    }
  })) return undefined;

  if (await stage(2, 'training', async () => {
    for (const [m, V] of c.biases.entries()) {
      for (const kind of MODEL_KINDS) {
        if (existsSync(job.path(file.model(m, kind)))) continue;
        log(`demo stt: V = ${V}: training the ${MODEL_LABEL[kind]} model`);
        await runTraining(job.path(file.data(m)), job.path(file.model(m, kind)), sttTrainConfig(c, kind), { resume: true, quiet: o.quiet, gpu: o.gpu });
      }
    }
  })) return undefined;

  if (await stage(3, 'ML-LL', async () => {
    for (const [m, V] of c.biases.entries()) {
      for (const kind of MODEL_KINDS) {
        if (existsSync(job.path(file.ml(m, kind)))) continue;
        log(`demo stt: V = ${V}: ML-LL (${kind}) from the held-out state`);
        writeFileAtomic(job.path(file.ml(m, kind)), JSON.stringify(await mlTrajectory(c, job.path(file.model(m, kind)), m, o.gpu)));
      }
    }
    if (!existsSync(job.path(file.long))) {
      const m = c.biases.length - 1;
      log(`demo stt: V = ${c.biases[m]}: ML-LL (torque) on a ${c.long.factor * c.lattice.Lx}×${c.lattice.Ly} strip`);
      writeFileAtomic(job.path(file.long), JSON.stringify(await longRun(c, job.path(file.model(m, 'torque')), m, o.gpu)));
    }
  })) return undefined;

  const runs: SttRun[] = [];
  for (const [m, V] of c.biases.entries()) {
    const model = (kind: ModelKind) => job.path(file.model(m, kind));
    const held = await heldOutTorques(c, job.path(file.data(m)), m, model);
    const negfLoop = readJson<NegfLoop>(job.path(file.loop(m)));
    runs.push({
      V,
      ...muOf(c, V),
      negf: readTrace<WallTrace>(job.path(file.negf(m))),
      ml: perModel((kind) => readTrace<WallTrace>(job.path(file.ml(m, kind)))),
      evaluation: perModel((kind) => readJson(join(model(kind), 'evaluation.json'))),
      parity: perModel((kind) => join(file.model(m, kind), 'parity.svg')),
      torque: held.torque,
      loop: { negf: negfLoop.work, ...held.work, spinCurrent: negfLoop.spinCurrent, current: negfLoop.current },
    });
  }
  const long = readTrace<LongRun>(job.path(file.long));
  const metrics = writeSttReport(job.dir, c, runs, long, { seconds: (performance.now() - started) / 1000, resumed: !!job.resumed });
  job.commit();
  return metrics;
}
