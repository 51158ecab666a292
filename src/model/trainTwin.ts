/**
 * Float64 reference ("twin") of one training step of the two-potential force model (SPEC §4):
 *
 *   G, dG = descriptor(S)  →  [gE | gP] = ∂(ε, φ)/∂G  →  h = -(∂E/∂S)⊥ - S × ∂Φ/∂S
 *   L = Σ_rows w_i |h_r - t_r|² / Σ_rows w_i        (rows r = b*N + i over the B snapshots of a batch)
 *   dL/dh → (UE, UP) = assembly transpose → dL/dθ = MLP double backward.
 *
 * With the bond-torque head (opts.torque, ./torque.ts) h gains S × A + B⊥ from the network's outputs
 * y and the double backward gets the upstream Ȳ = torqueTransposeF64(dL/dh).
 *
 * With w ≡ 1 the loss is the mean over sites of |h - F⊥|² (units t²). `lossGradF64` is the twin of
 * shaders/model/loss.wgsl; `predictF64` (forward only) also generates synthetic targets.
 */
import { descriptorF64, type DescriptorLayout, type Normalisation } from './descriptor.js';
import { assemblyForwardF64, assemblyTransposeF64, type AssemblyOptions } from './assembly.js';
import type { MlpTwin } from './mlpTwin.js';
import { torqueFieldF64, torqueTransposeF64 } from './torque.js';

/**
 * Loss and dL/dh of `rows` rows (packed xyz), site weight weight[r % N]. Returns L and
 * dL/dh_r = (2/W) w (h_r - t_r), W = Σ_rows w.
 */
export function lossGradF64(h: ArrayLike<number>, target: ArrayLike<number>, weight: ArrayLike<number>, rows: number): { loss: number; dLdh: Float64Array; W: number } {
  const N = weight.length;
  if (h.length !== 3 * rows) throw new Error(`loss.h must have length ${3 * rows}, got ${h.length}`);
  if (target.length !== 3 * rows) throw new Error(`loss.target must have length ${3 * rows}, got ${target.length}`);
  if (N < 1 || rows % N !== 0) throw new Error(`loss.weight length ${N} must divide rows=${rows}`);
  let W = 0, sum = 0;
  for (let r = 0; r < rows; r++) W += weight[r % N];
  if (!(W > 0)) throw new Error(`loss.weight must have a positive sum, got ${W}`);
  const dLdh = new Float64Array(3 * rows);
  for (let r = 0; r < rows; r++) {
    const w = weight[r % N];
    for (let k = 0; k < 3; k++) {
      const e = h[3 * r + k] - target[3 * r + k];
      sum += w * e * e;
      dLdh[3 * r + k] = (2 / W) * w * e;
    }
  }
  return { loss: sum / W, dLdh, W };
}

export interface TwinModel {
  layout: DescriptorLayout;
  norm: Normalisation;
  mlp: MlpTwin;
  opts: AssemblyOptions;
}

/** h (N×3) of one configuration, with the (normalised) descriptor and Jacobian it used. */
export function predictF64(m: TwinModel, spins: ArrayLike<number>): { h: Float64Array; G: Float64Array; dG: Float64Array } {
  const N = m.layout.N, D = m.layout.D;
  const { G, dG } = descriptorF64(m.layout, spins, m.norm);
  const g = m.mlp.inputGrad(G, N);
  const gE = g.subarray(0, N * D), gP = g.subarray(N * D);
  const h = assemblyForwardF64(m.layout, spins, dG, gE, gP, m.opts).h;
  if (m.opts.torque) {
    const t = torqueFieldF64(m.layout.lattice.neighbours, spins, m.mlp.forward(G, N).y);
    for (let k = 0; k < h.length; k++) h[k] += t[k];
  }
  return { h, G, dG };
}

/**
 * Loss of a batch of B configurations (spins, targets: B×N×3) and its gradient with respect to the
 * flat MLP parameters θ (float64 twin of Trainer.gradient).
 */
export function lossAndGradF64(m: TwinModel, spins: ArrayLike<number>, target: ArrayLike<number>, weight: ArrayLike<number>, B: number): { loss: number; grad: Float64Array } {
  const N = m.layout.N;
  const snap = (b: number) => Float64Array.from({ length: 3 * N }, (_, k) => spins[3 * N * b + k]);
  const per = Array.from({ length: B }, (_, b) => ({ spins: snap(b), ...predictF64(m, snap(b)) }));
  const h = new Float64Array(3 * N * B);
  per.forEach((p, b) => h.set(p.h, 3 * N * b));
  const { loss, dLdh } = lossGradF64(h, target, weight, B * N);
  const grad = new Float64Array(m.mlp.theta.length);
  per.forEach((p, b) => {
    const r = dLdh.subarray(3 * N * b, 3 * N * (b + 1));
    const { UE, UP } = assemblyTransposeF64(m.layout, p.spins, p.dG, r, m.opts);
    const yBar = m.opts.torque ? torqueTransposeF64(m.layout.lattice.neighbours, p.spins, r) : undefined;
    const gb = m.mlp.doubleBackward(p.G, UE, UP, N, yBar);
    for (let k = 0; k < grad.length; k++) grad[k] += gb[k];
  });
  return { loss, grad };
}
