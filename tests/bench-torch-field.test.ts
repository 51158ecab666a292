/**
 * The PyTorch full-field baseline (scripts/baselines/field_torch.py, run by `torchField` in
 * src/bench/mlp.ts) computes the same h = -(∂E/∂S)⊥ - S×∂Φ/∂S as neqspin: in its float64 check mode
 * it must agree with the f64 twin mlFieldF64 on tiny lattices, for clipped, one-hot (open y: missing
 * neighbours and transverse site features) and column lead features. Skipped when no python3 with
 * torch is found (findPython, src/bench/python.ts).
 */
import { describe, expect, it } from 'vitest';
import { Lattice } from '../src/lattice/lattice.js';
import { descriptorPreset, type DescriptorConfig } from '../src/model/descriptor.js';
import { mlFieldF64, mlFieldTwin, randomFieldModel, randomUnitSpins, type MlFieldModel } from '../src/model/field.js';
import type { Activation } from '../src/model/weights.js';
import { findPython } from '../src/bench/python.js';
import { torchField } from '../src/bench/mlp.js';

const py = findPython('torch');
const suite = py ? describe : describe.skip;

interface Case {
  name: string;
  descriptor: DescriptorConfig;
  periodicY: boolean;
  hidden: number[];
  activation: Activation;
  /** configurations in one call (exercises the batch axis) */
  B: number;
}

const CASES: Case[] = [
  { name: 'clipped (default preset), periodic y, SiLU', descriptor: descriptorPreset('default'), periodicY: true, hidden: [16, 16], activation: 'silu', B: 2 },
  { name: 'onehot, open y, tanh', descriptor: { rc: 2, rp: 1.5, lead: { kind: 'onehot', range: 2 } }, periodicY: false, hidden: [12], activation: 'tanh', B: 1 },
  { name: 'column, periodic y, ReLU', descriptor: { rc: 1.5, rp: 1, lead: { kind: 'column' } }, periodicY: true, hidden: [16, 8], activation: 'relu', B: 1 },
];

const maxAbs = (a: ArrayLike<number>) => Array.from(a).reduce((m, v) => Math.max(m, Math.abs(v)), 0);

suite(`field_torch.py (float64) vs mlFieldF64${py ? '' : ' — skipped: no python3 with torch (set NEQSPIN_PYTHON or run scripts/setup-bench.sh)'}`, () => {
  for (const c of CASES) {
    it(c.name, () => {
      const lattice = new Lattice({ Lx: 8, Ly: 6, periodicY: c.periodicY });
      const model = randomFieldModel({ lattice, descriptor: c.descriptor, hidden: c.hidden, activation: c.activation, seed: 5, fieldScale: 1 });
      const N = lattice.N;
      const spins = new Float64Array(3 * N * c.B);
      for (let b = 0; b < c.B; b++) spins.set(randomUnitSpins(N, 20 + b), 3 * N * b);
      const { h } = torchField(py!, model, lattice, spins, 'check');
      expect(h!.length).toBe(3 * N * c.B);

      // Both potentials must contribute a sizeable part of h, so that an error in either term
      // (e.g. the sign of S × ∂Φ/∂S) is far above the tolerance.
      const only = (m: Partial<MlFieldModel>) => mlFieldF64(mlFieldTwin({ ...model, ...m }, lattice), spins.subarray(0, 3 * N));
      const hMax0 = maxAbs(only({}));
      expect(maxAbs(only({ useP: false }))).toBeGreaterThan(0.1 * hMax0);
      expect(maxAbs(only({ useE: false }))).toBeGreaterThan(0.1 * hMax0);

      // Same formulas in float64 on both sides; only summation order differs (~1e-16 relative per
      // operation, a few hundred terms per site): 1e-9·max|h| leaves six orders of margin.
      const twin = mlFieldTwin(model, lattice);
      let dev = 0, hMax = 0;
      for (let b = 0; b < c.B; b++) {
        const ref = mlFieldF64(twin, spins.subarray(3 * N * b, 3 * N * (b + 1)));
        hMax = Math.max(hMax, maxAbs(ref));
        for (let k = 0; k < 3 * N; k++) dev = Math.max(dev, Math.abs(h![3 * N * b + k] - ref[k]));
      }
      console.log(`torch vs twin (${c.name}): max|Δh| = ${dev.toExponential(2)}, max|h| = ${hMax.toExponential(2)}`);
      expect(hMax).toBeGreaterThan(0);
      expect(dev).toBeLessThanOrEqual(1e-9 * hMax);
    });
  }
});
