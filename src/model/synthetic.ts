/**
 * Synthetic training data with a KNOWN answer: the target field is produced by a "teacher"
 * two-potential model (random MLP weights, same descriptor family) evaluated with the float64
 * twins (descriptorF64 → MlpTwin.inputGrad → assemblyForwardF64). A student of the same
 * architecture can fit it exactly, so training tests can demand near-zero loss; a teacher with a
 * Φ part makes the E-only ablation provably unable to fit it (its h has zero circulation).
 *
 * Configurations: trajectory k has a random reference direction m_k; snapshot s of it has spins
 * S_i = normalise(m_k + disorder·ξ_i) with independent Gaussian ξ_i (Philox, seeded), so
 * snapshots of one trajectory are correlated and the split by trajectory is meaningful.
 * The stored field is F = h (purely transverse), fieldPerp = h, density 1, params [0, 0, 0].
 */
import { normal4, seedKey } from '../gpu/rng.js';
import { Lattice } from '../lattice/lattice.js';
import { DescriptorLayout, computeNormalisation, descriptorF64, type DescriptorConfig } from './descriptor.js';
import { MlpTwin } from './mlpTwin.js';
import { initParams, type MlpArch, type Activation } from './weights.js';
import { predictF64, type TwinModel } from './trainTwin.js';
import { splitTrajectories, type DatasetInfo, type Snapshots } from '../io/dataset.js';

export interface SyntheticOptions {
  lattice: { Lx: number; Ly: number; periodicY: boolean };
  descriptor: DescriptorConfig;
  teacher: { hidden: number[]; activation: Activation; seed: number; useE: boolean; useP: boolean };
  trajectories: number;
  snapshotsPerTrajectory: number;
  /** spread of the spins around their trajectory's reference direction (Gaussian σ per component) */
  disorder: number;
  seed: number;
  split?: { val: number; test: number };
}

export interface SyntheticDataset {
  info: DatasetInfo;
  data: Snapshots;
  teacher: TwinModel;
}

function unitVectors(count: number, centre: number[] | null, sigma: number, key: [number, number], stream: number): Float64Array {
  const out = new Float64Array(3 * count);
  for (let j = 0; j < count; j++) {
    const g = normal4([j, stream, 0x53594e, 0], key); // counter: (site, stream, 'SYN', 0)
    const v = [0, 1, 2].map((k) => (centre ? centre[k] : 0) + sigma * g[k]);
    const n = Math.hypot(v[0], v[1], v[2]);
    for (let k = 0; k < 3; k++) out[3 * j + k] = v[k] / n;
  }
  return out;
}

export function makeSyntheticDataset(o: SyntheticOptions): SyntheticDataset {
  if (!(Number.isInteger(o.trajectories) && o.trajectories >= 1)) throw new Error(`synthetic.trajectories must be a positive integer, got ${o.trajectories}`);
  if (!(Number.isInteger(o.snapshotsPerTrajectory) && o.snapshotsPerTrajectory >= 1)) throw new Error(`synthetic.snapshotsPerTrajectory must be a positive integer, got ${o.snapshotsPerTrajectory}`);
  if (!(o.disorder >= 0 && Number.isFinite(o.disorder))) throw new Error(`synthetic.disorder must be a finite number >= 0, got ${o.disorder}`);
  const lat = new Lattice(o.lattice);
  const layout = DescriptorLayout.build(lat, o.descriptor);
  const N = lat.N, S = o.trajectories * o.snapshotsPerTrajectory;
  const key = seedKey(o.seed);
  const spins = new Float32Array(3 * N * S);
  const trajectory = new Int32Array(S), step = new Int32Array(S);
  for (let k = 0; k < o.trajectories; k++) {
    const m = unitVectors(1, null, 1, key, 2 * k);
    for (let s = 0; s < o.snapshotsPerTrajectory; s++) {
      const row = k * o.snapshotsPerTrajectory + s;
      spins.set(unitVectors(N, [m[0], m[1], m[2]], o.disorder, key, 2 * (row + o.trajectories) + 1), 3 * N * row);
      trajectory[row] = k;
      step[row] = s;
    }
  }
  // teacher normalisation from its own data (stored f32 spins: the targets are exact for what is stored)
  const Graw = new Float64Array(S * N * layout.D);
  for (let s = 0; s < S; s++) Graw.set(descriptorF64(layout, spins.subarray(3 * N * s, 3 * N * (s + 1))).G, s * N * layout.D);
  const arch: MlpArch = { inputDim: layout.D, hidden: o.teacher.hidden, activation: o.teacher.activation };
  const teacher: TwinModel = {
    layout,
    norm: computeNormalisation(Graw, layout.D),
    mlp: new MlpTwin(arch, initParams(arch, o.teacher.seed)),
    opts: { useE: o.teacher.useE, useP: o.teacher.useP },
  };
  const field = new Float32Array(3 * N * S);
  for (let s = 0; s < S; s++) field.set(predictF64(teacher, spins.subarray(3 * N * s, 3 * N * (s + 1))).h, 3 * N * s);
  const data: Snapshots = {
    spins,
    field,
    fieldPerp: field.slice(),
    density: new Float32Array(N * S).fill(1),
    params: new Float64Array(3 * S),
    trajectory,
    step,
  };
  const info: DatasetInfo = {
    lattice: { Lx: lat.Lx, Ly: lat.Ly, periodicY: lat.periodicY },
    model: { t: 1, J: 1 },
    leads: { kind: 'wide-band', gamma: 1 },
    provenance: { generator: 'neqspin synthetic teacher (src/model/synthetic.ts)', options: o },
    split: splitTrajectories(trajectory, o.split ?? { val: 0.2, test: 0.2 }, o.seed),
  };
  return { info, data, teacher };
}
