/**
 * Named parameter sets (SPEC §5). Each preset is a raw `simulate` configuration (validated by
 * parseSimulateConfig like a config file) plus the defaults of `neqspin dataset`.
 *
 * zhang-chern-2022: reconstructed from the authors' public data (values fitted, not quoted):
 *   32×24, periodic y, t = 1, J = 3.79, wide-band leads Γ = 2, muL = muR = -3.25, electron
 *   T = 0.01; LL: midpoint, α = 0.55, dt = 0.5, kT = 0.0025 with the authors' noise amplitude,
 *   5000 steps; initial state: Néel AFM along z with a FM seed in columns 29-31, tilted by a
 *   Gaussian of std 0.05 per component (the authors' c0.dat has transverse components ~0.05).
 *   μ = -3.25 is below the AFM/FM coexistence value μ_c ≈ -2.94: the FM metal grows, the AFM|FM
 *   wall moves towards the left electrode.
 * zhang-chern-2022-c0: the same, starting from the authors' snapshot c0.dat (SPEC §5 reference
 *   folder, found as in io/reference.ts), whose canted seed starts the front at once. A generated
 *   collinear seed (the default preset) sits at a zero-torque fixed point: the small tilt relaxes
 *   and the front stays pinned until the FM phase nucleates elsewhere (docs/negf-dynamics.md).
 * zhang-chern-small: the same physics on 16×8 (seed columns 13-15), 1500 steps (~3 min at
 *   0.12 s per step): long enough to see the AFM → FM conversion, which on this small lattice
 *   nucleates at the left electrode after ~550 steps (the collinear seed stays pinned).
 */
import { join } from 'node:path';
import { UserError } from './io/errors.js';
import { zhangChernReferenceDir } from './io/reference.js';

export interface DatasetDefaults {
  /** NEGF-driven LL trajectories per electrode setting */
  trajectories: number;
  steps: number;
  /** snapshot every this many steps */
  every: number;
  /** muL = muR = μ values (before the bias is applied) */
  mu: number[];
  /** biases V = muL - muR (muL = μ + V/2, muR = μ - V/2) */
  bias: number[];
  /** perturbed AFM|FM wall states per electrode setting (single snapshots) */
  perturbed: number;
  /** random configurations per electrode setting (single snapshots) */
  random: number;
}

export interface Preset {
  name: string;
  description: string;
  /** raw simulate configuration (parse with parseSimulateConfig) */
  simulate: Record<string, unknown>;
  dataset: DatasetDefaults;
}

function zhangChern(Lx: number, Ly: number, steps: number, initial: Record<string, unknown> = { kind: 'afm-fm', seedWidth: 3, tilt: 0.05, seed: 0 }): Record<string, unknown> {
  const physics = { t: 1, J: 3.79 };
  return {
    lattice: { Lx, Ly, periodicY: true },
    initial,
    force: { kind: 'negf', model: physics, leads: { kind: 'wide-band', gamma: 2 }, muL: -3.25, muR: -3.25, temperature: 0.01 },
    dynamics: { integrator: 'midpoint', alpha: 0.55, dt: 0.5, steps, temperature: 0.0025, noise: 'authors', seed: 0, sampleEvery: 10, snapshotEvery: 0 },
    output: { ovf: 'binary4', npy: true },
  };
}

export const PRESETS: Record<string, Preset> = {
  'zhang-chern-2022': {
    name: 'zhang-chern-2022',
    description: 'Zhang & Chern 2022 AFM|FM front, 32x24, 5000 steps (SPEC §5)',
    simulate: zhangChern(32, 24, 5000),
    dataset: { trajectories: 4, steps: 2000, every: 50, mu: [-3.25], bias: [0], perturbed: 16, random: 8 },
  },
  'zhang-chern-small': {
    name: 'zhang-chern-small',
    description: 'the zhang-chern-2022 physics on 16x8, 1500 steps',
    simulate: zhangChern(16, 8, 1500),
    dataset: { trajectories: 2, steps: 200, every: 10, mu: [-3.25, -3.1, -3.0], bias: [0], perturbed: 4, random: 4 },
  },
};

const C0 = 'zhang-chern-2022-c0';

export function getPreset(name: string): Preset {
  if (name === C0) {
    const dir = zhangChernReferenceDir();
    if (!dir) throw new UserError(`--preset: ${C0} needs the reference folder with c0.dat (set NEQSPIN_REFERENCE)`);
    const base = getPreset('zhang-chern-2022');
    return { ...base, name, description: "zhang-chern-2022 from the authors' c0.dat", simulate: zhangChern(32, 24, 5000, { kind: 'file', path: join(dir, 'c0.dat') }) };
  }
  const p = PRESETS[name];
  if (!p) throw new UserError(`--preset: unknown preset "${name}" (known: ${[...Object.keys(PRESETS), C0].join(', ')})`);
  return structuredClone(p);
}
