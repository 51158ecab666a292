/**
 * Configuration of `neqspin demo` (issue 5): the voltage-driven AFM|FM front of Zhang & Chern
 * (SPEC §5), NEGF-LL versus ML-LL, on a reduced lattice.
 *
 * Physics and dynamics come from a preset (src/presets.ts; default `zhang-chern-small`: J = 3.79,
 * wide-band leads Γ = 2, electron T = 0.01, midpoint LL α = 0.55, dt = 0.5, authors' noise
 * kT = 0.0025). The demo replaces the preset's electrode potential by a list `mu` (muL = muR = μ)
 * below the coexistence value μ_c ≈ -2.94 and its initial state by a canted AFM|FM front: Néel
 * AFM along z with the right `seedWidth` columns ferromagnetic along (sin θ, 0, cos θ), θ =
 * `angle`, tilted by a Gaussian of std `tilt` per component (src/lattice/textures.ts `tilted`).
 * A collinear front (θ = 0) is a zero-torque fixed point and stays pinned on 16×8 even with tilt
 * 0.3 or kT = 0.01 (docs/negf-dynamics.md, docs/demo.md); a FM part perpendicular to the Néel
 * axis exerts a torque on the interface and the front moves at once.
 *
 * Preset `zhang-chern-2022` (`neqspin demo --preset zhang-chern-2022`, for GPU machines): the full
 * 32×24 set-up of SPEC §5 with the authors' dynamics, every trajectory starting from the authors'
 * snapshot c0.dat (`initialFile`, renormalised in f64) tilted by `front.tilt` with the trajectory's
 * seed, and the NEGF stage on the GPU solver (`negfDevice: 'gpu'`; the f64 CPU solver costs ~400 s
 * per 32×24 configuration).
 *
 * Large-lattice stage (`large`, src/demo/large.ts): lattice size and step count; absent = chosen
 * from the adapter (≥ 1e5 spins on a software adapter, ≥ 1e6 on a GPU).
 *
 * Seeds: every NEGF-LL trajectory (training or held-out) has its own seed, used both for the
 * tilt of its initial state and for its thermal noise: `seed + m·stride + k` for μ index m and
 * trajectory k (k = trajectories … is the held-out one), stride = trajectories + 1. The first ML-LL
 * run from a held-out state uses that state's seed, hence the same noise realisation as its NEGF-LL
 * reference; `compare.realisations - 1` more ML-LL runs from the same state use other noise streams
 * (`realisationSeed`), and the ML wall velocity is their mean. Why: the NEGF-LL front velocity
 * barely depends on the noise (16×8, μ = -3.25, eight noise seeds: -0.0371 … -0.0395, sd 2 %), but
 * a poorly trained model's ML-LL front can stall or recede in one realisation and not in another
 * (docs/demo.md), so one paired run is not a measurement of the model's velocity.
 */
import { UserError } from '../io/errors.js';
import { parseSimulateConfig, type LeadsConfig } from '../io/config.js';
import type { NoiseKind } from '../dynamics/params.js';
import { getPreset } from '../presets.js';
import { largeFor, type LargeConfig } from './large.js';

/** Embedded configurations (`--quick`, `--preset zhang-chern-2022`, else default). */
export const DEMO_CONFIGS = ['default', 'quick', 'zhang-chern-2022'] as const;
export type DemoConfigName = (typeof DEMO_CONFIGS)[number];

/** Potentials the demo's models fit: E alone (Φ ≡ 0) or E and Φ (`DemoConfig.train`). */
export const DEMO_POTENTIALS = ['E', 'two'] as const;
export type DemoPotentials = (typeof DEMO_POTENTIALS)[number];

/** NEGF solver of stage 1: float64 CPU RGF (deterministic) or the f32 batched GPU RGF. */
export type NegfDevice = 'cpu' | 'gpu';

export interface DemoConfig {
  /** name of the embedded configuration (DEMO_CONFIGS) */
  name: string;
  /** preset providing the physics and the dynamics */
  preset: string;
  lattice: { Lx: number; Ly: number; periodicY: boolean };
  model: { t: number; J: number };
  leads: LeadsConfig;
  /** electron temperature */
  temperature: number;
  dynamics: { alpha: number; dt: number; temperature: number; noise: NoiseKind };
  /** electrode potentials muL = muR = μ, one NEGF dataset, model and comparison each */
  mu: number[];
  /** initial AFM|FM front: FM columns at the right electrode, FM angle from the Néel axis z, tilt amplitude */
  front: { seedWidth: number; angle: number; tilt: number };
  /** NEGF-LL training trajectories per μ: count, steps, snapshot interval */
  dataset: { trajectories: number; steps: number; every: number };
  /**
   * held-out comparison runs: steps, wall-position sample interval, texture snapshots per run, and
   * ML-LL noise realisations from the held-out state (the first with the NEGF-LL run's own noise)
   */
  compare: { steps: number; sampleEvery: number; snapshots: number; realisations: number };
  /**
   * model training (default descriptor, SiLU). `potentials`: 'E' trains the conservative potential
   * alone (Φ ≡ 0), 'two' both E and Φ. The demo's electrodes share one potential (muL = muR = μ), so
   * the electrons are in equilibrium with a single reservoir and the NEGF field is exactly
   * conservative, F = -∂Ω/∂S (tests/negf-physics.test.ts): the generalized potential theory's Φ
   * vanishes. A fitted Φ is then pure error, and a nonconservative torque on a slow front can stall
   * or reverse it (docs/demo.md, "Which potentials"), so the default is 'E'.
   */
  train: { hidden: number[]; epochs: number; batch: number; lr: number; potentials: DemoPotentials };
  seed: number;
  /** NEGF solver of stage 1 (default 'cpu'); with 'gpu' the trajectories of one μ are solved as one batch per step */
  negfDevice: NegfDevice;
  /** authors' snapshot (.dat, SPEC §5) every trajectory starts from, tilted by front.tilt; absent: the generated front */
  initialFile?: string;
  /** large-lattice ML-LL stage; absent: chosen from the adapter (src/demo/large.ts `autoLarge`) */
  large?: LargeConfig;
}

/** The preset's physics and dynamics, with the demo's sampling choices. */
type Sampling = Omit<DemoConfig, 'preset' | 'model' | 'leads' | 'temperature' | 'dynamics' | 'lattice' | 'negfDevice'> & { lattice?: DemoConfig['lattice']; negfDevice?: NegfDevice };

function fromPreset(name: string, rest: Sampling): DemoConfig {
  const cfg = parseSimulateConfig(getPreset(name).simulate);
  if (cfg.force.kind !== 'negf') throw new UserError(`preset: ${name} has no NEGF force`);
  const d = cfg.dynamics;
  return {
    negfDevice: 'cpu',
    ...rest,
    preset: name,
    lattice: rest.lattice ?? cfg.lattice,
    model: { t: cfg.force.model.t, J: cfg.force.model.J },
    leads: cfg.force.leads,
    temperature: cfg.force.temperature,
    dynamics: { alpha: d.alpha, dt: d.dt, temperature: d.temperature, noise: d.noise },
  };
}

/**
 * Embedded configurations: `default` (16×8, < 10 min on 2 cores with lavapipe), `quick` (tests)
 * and `zhang-chern-2022` (32×24 from c0.dat, GPU NEGF; needs the reference folder, io/reference.ts).
 */
export function demoConfig(name: DemoConfigName, seed: number): DemoConfig {
  if (name === 'zhang-chern-2022') {
    const ini = parseSimulateConfig(getPreset('zhang-chern-2022-c0').simulate).initial;
    if (ini.kind !== 'file') throw new Error('preset: zhang-chern-2022-c0 must start from a file');
    return fromPreset('zhang-chern-2022', {
      name,
      mu: [-3.4, -3.25, -3.1],
      // front: the large-lattice stage's generated seed (the NEGF trajectories start from c0.dat, tilted by `tilt`)
      front: { seedWidth: 3, angle: Math.PI / 2, tilt: 0.02 },
      dataset: { trajectories: 2, steps: 40, every: 4 },
      compare: { steps: 40, sampleEvery: 4, snapshots: 5, realisations: 8 },
      train: { hidden: [32, 32], epochs: 120, batch: 1, lr: 2e-2, potentials: 'E' },
      seed,
      negfDevice: 'gpu',
      initialFile: ini.path,
    });
  }
  if (name === 'quick') {
    return fromPreset('zhang-chern-small', {
      name,
      lattice: { Lx: 8, Ly: 4, periodicY: true },
      mu: [-3.5, -3.25],
      front: { seedWidth: 4, angle: Math.PI / 2, tilt: 0.05 },
      dataset: { trajectories: 1, steps: 30, every: 3 },
      compare: { steps: 30, sampleEvery: 3, snapshots: 3, realisations: 2 },
      train: { hidden: [16], epochs: 6, batch: 4, lr: 3e-3, potentials: 'E' },
      seed,
      large: { Lx: 48, Ly: 32, steps: 6, snapshots: 3, nucleusRadius: 3, nucleusPitch: 16, muIndex: 0 },
    });
  }
  return fromPreset('zhang-chern-small', {
    name,
    mu: [-3.5, -3.4, -3.25],
    front: { seedWidth: 8, angle: Math.PI / 2, tilt: 0.05 },
    dataset: { trajectories: 3, steps: 160, every: 4 },
    compare: { steps: 160, sampleEvery: 4, snapshots: 5, realisations: 8 },
    train: { hidden: [32, 32], epochs: 80, batch: 1, lr: 2e-2, potentials: 'E' },
    seed,
  });
}

/** Seed of trajectory k (k = trajectories: the held-out one) at μ index m. */
export function trajectorySeed(c: DemoConfig, m: number, k: number): number {
  return c.seed + m * (c.dataset.trajectories + 1) + k;
}

/** offset between the noise seeds of the ML-LL realisations of one held-out state (far above every trajectory seed) */
export const REALISATION_SEED_STRIDE = 1_000_003;

/**
 * Noise seed of ML-LL realisation j at μ index m: j = 0 is the held-out NEGF-LL run's own seed
 * (paired comparison), j ≥ 1 are other noise streams from the same initial state.
 */
export function realisationSeed(c: DemoConfig, m: number, j: number): number {
  return trajectorySeed(c, m, c.dataset.trajectories) + j * REALISATION_SEED_STRIDE;
}

/** Command-line choices on top of an embedded configuration (src/cli/demo.ts). */
export interface DemoOverrides {
  negfDevice?: string;
  /** `LxxLy` or `LxxLyxSTEPS` (e.g. 1024x1024x2000) */
  large?: string;
  /** NEGF-LL steps of every trajectory (training and held-out) */
  steps?: string;
  /** snapshot interval of the training data (steps); long runs train on fewer snapshots */
  every?: string;
  /** potentials of the models: E or two */
  potentials?: string;
}

/** `demoConfig(name, seed)` with command-line overrides; bad values throw a UserError naming the flag. */
export function resolveDemoConfig(name: DemoConfigName, seed: number, o: DemoOverrides): DemoConfig {
  const c = demoConfig(name, seed);
  if (o.negfDevice !== undefined) {
    if (o.negfDevice !== 'cpu' && o.negfDevice !== 'gpu') throw new UserError(`--negf-device: must be cpu or gpu, got '${o.negfDevice}'`);
    c.negfDevice = o.negfDevice;
  }
  if (o.potentials !== undefined) {
    const v = DEMO_POTENTIALS.find((p) => p.toLowerCase() === o.potentials!.trim().toLowerCase());
    if (!v) throw new UserError(`--potentials: must be E (conservative potential alone) or two (E and Φ), got '${o.potentials}'`);
    c.train.potentials = v;
  }
  const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
  const lcm = () => (c.compare.sampleEvery * c.dataset.every) / gcd(c.compare.sampleEvery, c.dataset.every);
  if (o.every !== undefined) {
    const n = Number(o.every);
    if (!/^\s*\d+\s*$/.test(o.every) || !(n > 0)) throw new UserError(`--every: must be a positive integer (steps between training snapshots), got '${o.every}'`);
    c.dataset.every = n;
    if (o.steps === undefined && c.dataset.steps % lcm() !== 0) {
      throw new UserError(`--every: ${n} does not divide the run into whole sample intervals (${c.dataset.steps} steps, wall samples every ${c.compare.sampleEvery}); pass --steps as a multiple of ${lcm()}`);
    }
  }
  if (o.steps !== undefined) {
    const n = Number(o.steps);
    const q = lcm();
    if (!/^\s*\d+\s*$/.test(o.steps) || !(n > 0) || n % q !== 0) throw new UserError(`--steps: must be a positive multiple of ${q} (sample intervals), got '${o.steps}'`);
    c.dataset.steps = n;
    c.compare.steps = n;
  }
  if (o.large !== undefined) {
    const m = /^\s*(\d+)x(\d+)(?:x(\d+))?\s*$/.exec(o.large);
    if (!m) throw new UserError(`--large: expected LxxLy or LxxLyxSTEPS (e.g. 1024x1024x2000), got '${o.large}'`);
    try {
      c.large = largeFor(Number(m[1]), Number(m[2]), m[3] !== undefined ? Number(m[3]) : (c.large?.steps ?? 30));
    } catch (e) {
      throw new UserError(`--large: ${(e as Error).message}`);
    }
  }
  return c;
}
