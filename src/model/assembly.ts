/**
 * Force assembly of the two-potential model (SPEC §4), float64 reference ("twin") of
 * shaders/model/assembly.wgsl.
 *
 * With E = Σ_i ε(G_i), Φ = Σ_i φ(G_i) and the network's input gradients gE_id = ∂ε/∂G_id,
 * gP_id = ∂φ/∂G_id (N×D each, G possibly normalised — dG must then be the normalised Jacobian):
 *
 *   ∂E/∂S_j = Σ_i Σ_d gE_id ∂G_id/∂S_j          (likewise ∂Φ/∂S_j with gP)
 *   h_j     = -(∂E/∂S_j)⊥ - S_j × ∂Φ/∂S_j,       v⊥ = v - (S_j·v) S_j
 *
 * h is linear in (gE, gP) at fixed spins. Its transpose, used in training: for a loss L with
 * a_j = ∂L/∂h_j,
 *
 *   bE_j = -(a_j)⊥,   bP_j = S_j × a_j       (∂L/∂(∂E/∂S_j), ∂L/∂(∂Φ/∂S_j))
 *   UE_id = ∂L/∂gE_id = Σ_r bE_{j(i,d,r)} · dG[i][d][r],   UP_id likewise with bP,
 *
 * where j(i,d,r) is the site in role r of feature d around i. Switching a potential off (useE or
 * useP false) drops its term from h and makes its U identically zero.
 *
 * The twin computes ∂E/∂S by scattering over (i, d, r); the GPU gathers over the inverse neighbour
 * table (no atomics), so the comparison also checks that table.
 */
import { FEAT_SITE, type DescriptorLayout } from './descriptor.js';

export interface AssemblyOptions {
  /** include the conservative term -(∂E/∂S)⊥ */
  useE: boolean;
  /** include the nonconservative term -S × ∂Φ/∂S */
  useP: boolean;
  /** include the bond-torque head S × A + B⊥ (./torque.ts; network outputs TORQUE_OUTPUTS) */
  torque?: boolean;
}

function checkLen(a: ArrayLike<number> | null, n: number, what: string): void {
  if (!a || a.length !== n) throw new Error(`${what} must have length ${n}, got ${a ? a.length : 'none'}`);
}

function checkOptions(opts: AssemblyOptions): void {
  if (typeof opts.useE !== 'boolean') throw new Error(`assembly.useE must be a boolean, got ${opts.useE}`);
  if (typeof opts.useP !== 'boolean') throw new Error(`assembly.useP must be a boolean, got ${opts.useP}`);
}

/** Calls f(i, d, j, base) for every Jacobian block dG[base..base+3] = ∂G_id/∂S_j (one per role). */
function forEachJacobianBlock(layout: DescriptorLayout, f: (i: number, d: number, j: number, base: number) => void): void {
  const { N, S, D, nbr, features } = layout;
  for (let i = 0; i < N; i++) {
    for (let d = 0; d < D; d++) {
      if (features[4 * d] === FEAT_SITE) continue;
      for (let r = 0; r < layout.arity(d); r++) {
        const j = nbr[i * S + features[4 * d + 1 + r]];
        if (j >= 0) f(i, d, j, 9 * (i * D + d) + 3 * r);
      }
    }
  }
}

/**
 * h (N×3) and the ambient gradients ∂E/∂S, ∂Φ/∂S (N×3) of one configuration. gE (gP) may be null
 * when useE (useP) is false.
 */
export function assemblyForwardF64(
  layout: DescriptorLayout,
  spins: ArrayLike<number>,
  dG: ArrayLike<number>,
  gE: ArrayLike<number> | null,
  gP: ArrayLike<number> | null,
  opts: AssemblyOptions,
): { h: Float64Array; gradE: Float64Array; gradP: Float64Array } {
  const { N, D } = layout;
  checkOptions(opts);
  checkLen(spins, 3 * N, 'spins');
  checkLen(dG, 9 * N * D, 'dG');
  if (opts.useE) checkLen(gE, N * D, 'gE');
  if (opts.useP) checkLen(gP, N * D, 'gP');
  const gradE = new Float64Array(3 * N), gradP = new Float64Array(3 * N);
  forEachJacobianBlock(layout, (i, d, j, base) => {
    for (let k = 0; k < 3; k++) {
      if (opts.useE) gradE[3 * j + k] += gE![i * D + d] * dG[base + k];
      if (opts.useP) gradP[3 * j + k] += gP![i * D + d] * dG[base + k];
    }
  });
  const h = new Float64Array(3 * N);
  for (let j = 0; j < N; j++) {
    const s = [spins[3 * j], spins[3 * j + 1], spins[3 * j + 2]];
    const e = [gradE[3 * j], gradE[3 * j + 1], gradE[3 * j + 2]];
    const p = [gradP[3 * j], gradP[3 * j + 1], gradP[3 * j + 2]];
    const se = s[0] * e[0] + s[1] * e[1] + s[2] * e[2];
    const sxp = [s[1] * p[2] - s[2] * p[1], s[2] * p[0] - s[0] * p[2], s[0] * p[1] - s[1] * p[0]];
    for (let k = 0; k < 3; k++) h[3 * j + k] = -(e[k] - se * s[k]) - sxp[k];
  }
  return { h, gradE, gradP };
}

/** The transpose: UE = ∂L/∂gE and UP = ∂L/∂gP (N×D each) from a = ∂L/∂h (N×3). */
export function assemblyTransposeF64(
  layout: DescriptorLayout,
  spins: ArrayLike<number>,
  dG: ArrayLike<number>,
  a: ArrayLike<number>,
  opts: AssemblyOptions,
): { UE: Float64Array; UP: Float64Array } {
  const { N, D } = layout;
  checkOptions(opts);
  checkLen(spins, 3 * N, 'spins');
  checkLen(dG, 9 * N * D, 'dG');
  checkLen(a, 3 * N, 'dLdh');
  const bE = new Float64Array(3 * N), bP = new Float64Array(3 * N);
  for (let j = 0; j < N; j++) {
    const s = [spins[3 * j], spins[3 * j + 1], spins[3 * j + 2]];
    const v = [a[3 * j], a[3 * j + 1], a[3 * j + 2]];
    const sa = s[0] * v[0] + s[1] * v[1] + s[2] * v[2];
    const sxa = [s[1] * v[2] - s[2] * v[1], s[2] * v[0] - s[0] * v[2], s[0] * v[1] - s[1] * v[0]];
    for (let k = 0; k < 3; k++) {
      bE[3 * j + k] = opts.useE ? -(v[k] - sa * s[k]) : 0;
      bP[3 * j + k] = opts.useP ? sxa[k] : 0;
    }
  }
  const UE = new Float64Array(N * D), UP = new Float64Array(N * D);
  forEachJacobianBlock(layout, (i, d, j, base) => {
    for (let k = 0; k < 3; k++) {
      UE[i * D + d] += bE[3 * j + k] * dG[base + k];
      UP[i * D + d] += bP[3 * j + k] * dG[base + k];
    }
  });
  return { UE, UP };
}
