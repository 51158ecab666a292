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
 * Seeds: every NEGF-LL trajectory (training or held-out) has its own seed, used both for the
 * tilt of its initial state and for its thermal noise: `seed + m·stride + k` for μ index m and
 * trajectory k (k = trajectories … is the held-out one), stride = trajectories + 1. The ML-LL run
 * from a held-out state uses that state's seed, hence the same noise realisation as its NEGF-LL
 * reference.
 */
import { UserError } from '../io/errors.js';
import { parseSimulateConfig, type LeadsConfig } from '../io/config.js';
import type { NoiseKind } from '../dynamics/params.js';
import { getPreset } from '../presets.js';

export interface DemoConfig {
  /** name of the embedded configuration ('default' or 'quick') */
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
  /** held-out comparison runs: steps, wall-position sample interval, texture snapshots per run */
  compare: { steps: number; sampleEvery: number; snapshots: number };
  /** two-potential model training (default descriptor, SiLU) */
  train: { hidden: number[]; epochs: number; batch: number; lr: number };
  seed: number;
}

/** The preset's physics and dynamics, with the demo's sampling choices. */
function fromPreset(name: string, rest: Omit<DemoConfig, 'preset' | 'model' | 'leads' | 'temperature' | 'dynamics' | 'lattice'> & { lattice?: DemoConfig['lattice'] }): DemoConfig {
  const cfg = parseSimulateConfig(getPreset(name).simulate);
  if (cfg.force.kind !== 'negf') throw new UserError(`preset: ${name} has no NEGF force`);
  const d = cfg.dynamics;
  return {
    ...rest,
    preset: name,
    lattice: rest.lattice ?? cfg.lattice,
    model: { t: cfg.force.model.t, J: cfg.force.model.J },
    leads: cfg.force.leads,
    temperature: cfg.force.temperature,
    dynamics: { alpha: d.alpha, dt: d.dt, temperature: d.temperature, noise: d.noise },
  };
}

/** Embedded configurations: `default` (16×8, < 10 min on 2 cores with lavapipe) and `quick` (tests). */
export function demoConfig(name: 'default' | 'quick', seed: number): DemoConfig {
  if (name === 'quick') {
    return fromPreset('zhang-chern-small', {
      name,
      lattice: { Lx: 8, Ly: 4, periodicY: true },
      mu: [-3.5, -3.25],
      front: { seedWidth: 4, angle: Math.PI / 2, tilt: 0.05 },
      dataset: { trajectories: 1, steps: 30, every: 3 },
      compare: { steps: 30, sampleEvery: 3, snapshots: 3 },
      train: { hidden: [16], epochs: 6, batch: 4, lr: 3e-3 },
      seed,
    });
  }
  return fromPreset('zhang-chern-small', {
    name,
    mu: [-3.5, -3.4, -3.25],
    front: { seedWidth: 8, angle: Math.PI / 2, tilt: 0.05 },
    dataset: { trajectories: 2, steps: 160, every: 4 },
    compare: { steps: 160, sampleEvery: 4, snapshots: 5 },
    train: { hidden: [32, 32], epochs: 120, batch: 1, lr: 1e-2 },
    seed,
  });
}

/** Seed of trajectory k (k = trajectories: the held-out one) at μ index m. */
export function trajectorySeed(c: DemoConfig, m: number, k: number): number {
  return c.seed + m * (c.dataset.trajectories + 1) + k;
}
