/**
 * Bond-torque head of the force model (beyond SPEC §4; float64 twin of the torque terms in
 * shaders/model/field.wgsl and shaders/model/assembly.wgsl).
 *
 * The two-potential field h = -(∂E/∂S)⊥ - S × ∂Φ/∂S with E, Φ sums of local rotation-invariant
 * terms cannot represent a spin-transfer torque in the bulk: the adiabatic STT -u ∂ₓS (field
 * -u S × ∂ₓS) and the non-adiabatic one (field ∝ ∂ₓS) are first order in the gradient, and no local
 * rotation-invariant density of (S, ∂S) has such a variation (the one functional that has it, the
 * spin Berry phase ∫A(S)·∂ₓS, is not a local invariant). docs/demo-stt.md measures what that costs.
 * The head adds, per site, coefficients predicted by the same network from the same descriptor:
 *
 *   h_i += S_i × A_i + (B_i)⊥,     A_i = Σ_k a_k(G_i) S_{n_k(i)},   B_i = Σ_k b_k(G_i) S_{n_k(i)},
 *
 * over the four nearest-neighbour bonds k = +x, -x, +y, -y (Lattice.neighbours order; absent
 * neighbours drop out), v⊥ = v - (S_i·v) S_i. Network outputs per site: y = (ε, φ, a_0..a_3,
 * b_0..b_3) (TORQUE_OUTPUTS = 10). The a_k, b_k are rotation invariant, S_i × S_j and (S_j)⊥ rotate
 * as vectors, so h stays exactly equivariant; the head is not the gradient of anything, so it can
 * fit any local torque that is linear in the neighbours, with environment-dependent coefficients
 * (a discretised -u ∂ₓS is a_{+x} = -a_{-x} = -u/2).
 *
 * In the assembly the head folds into the ambient gradients (h = -(gradE)⊥ - S × gradP):
 *   gradE_i -= B_i,   gradP_i -= A_i.
 * Training: with r_i = ∂L/∂h_i the upstream of the outputs is
 *   ∂L/∂a_k(i) = r_i · (S_i × S_{n_k}),   ∂L/∂b_k(i) = r_i · (S_{n_k})⊥
 * (channels 0, 1 get 0), fed to the MLP double backward as Ȳ (MlpTwin.doubleBackward's yBar).
 */
import { MLP_OUTPUTS, TORQUE_BONDS, TORQUE_OUTPUTS } from './weights.js';

function check(nn: ArrayLike<number>, spins: ArrayLike<number>, y: ArrayLike<number> | null, N: number): void {
  if (nn.length !== TORQUE_BONDS * N) throw new Error(`torque.neighbours must have length ${TORQUE_BONDS * N}, got ${nn.length}`);
  if (spins.length !== 3 * N) throw new Error(`torque.spins must have length ${3 * N}, got ${spins.length}`);
  if (y && y.length !== TORQUE_OUTPUTS * N) throw new Error(`torque.y must have length ${TORQUE_OUTPUTS * N}, got ${y.length}`);
}

/**
 * (A, B) (N×3 each) of one configuration: the amounts to subtract from ∂Φ/∂S and ∂E/∂S so that the
 * assembly adds S × A + B⊥ to h. `nn`: Lattice.neighbours (N×4, -1 absent); y: N×TORQUE_OUTPUTS.
 */
export function torqueVectorsF64(nn: ArrayLike<number>, spins: ArrayLike<number>, y: ArrayLike<number>): { A: Float64Array; B: Float64Array } {
  const N = spins.length / 3;
  check(nn, spins, y, N);
  const A = new Float64Array(3 * N), B = new Float64Array(3 * N);
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < TORQUE_BONDS; k++) {
      const j = nn[TORQUE_BONDS * i + k];
      if (j < 0) continue;
      const a = y[TORQUE_OUTPUTS * i + MLP_OUTPUTS + k], b = y[TORQUE_OUTPUTS * i + MLP_OUTPUTS + TORQUE_BONDS + k];
      for (let c = 0; c < 3; c++) {
        A[3 * i + c] += a * spins[3 * j + c];
        B[3 * i + c] += b * spins[3 * j + c];
      }
    }
  }
  return { A, B };
}

/** The head's contribution S_i × A_i + (B_i)⊥ to h (N×3). */
export function torqueFieldF64(nn: ArrayLike<number>, spins: ArrayLike<number>, y: ArrayLike<number>): Float64Array {
  const { A, B } = torqueVectorsF64(nn, spins, y);
  const N = spins.length / 3;
  const h = new Float64Array(3 * N);
  for (let i = 0; i < N; i++) {
    const [sx, sy, sz] = [spins[3 * i], spins[3 * i + 1], spins[3 * i + 2]];
    const [ax, ay, az] = [A[3 * i], A[3 * i + 1], A[3 * i + 2]];
    const sb = sx * B[3 * i] + sy * B[3 * i + 1] + sz * B[3 * i + 2];
    h[3 * i] = sy * az - sz * ay + B[3 * i] - sb * sx;
    h[3 * i + 1] = sz * ax - sx * az + B[3 * i + 1] - sb * sy;
    h[3 * i + 2] = sx * ay - sy * ax + B[3 * i + 2] - sb * sz;
  }
  return h;
}

/** Ȳ = ∂L/∂y (N×TORQUE_OUTPUTS; channels ε, φ zero) from r = ∂L/∂h (N×3). */
export function torqueTransposeF64(nn: ArrayLike<number>, spins: ArrayLike<number>, r: ArrayLike<number>): Float64Array {
  const N = spins.length / 3;
  check(nn, spins, null, N);
  if (r.length !== 3 * N) throw new Error(`torque.dLdh must have length ${3 * N}, got ${r.length}`);
  const yBar = new Float64Array(TORQUE_OUTPUTS * N);
  for (let i = 0; i < N; i++) {
    const s = [spins[3 * i], spins[3 * i + 1], spins[3 * i + 2]];
    const v = [r[3 * i], r[3 * i + 1], r[3 * i + 2]];
    const sv = s[0] * v[0] + s[1] * v[1] + s[2] * v[2];
    for (let k = 0; k < TORQUE_BONDS; k++) {
      const j = nn[TORQUE_BONDS * i + k];
      if (j < 0) continue;
      const t = [spins[3 * j], spins[3 * j + 1], spins[3 * j + 2]];
      // r·(S_i × S_j) = S_j·(r × S_i);  r·(S_j)⊥ = r·S_j - (r·S_i)(S_i·S_j)
      const rxs = [v[1] * s[2] - v[2] * s[1], v[2] * s[0] - v[0] * s[2], v[0] * s[1] - v[1] * s[0]];
      yBar[TORQUE_OUTPUTS * i + MLP_OUTPUTS + k] = t[0] * rxs[0] + t[1] * rxs[1] + t[2] * rxs[2];
      const st = s[0] * t[0] + s[1] * t[1] + s[2] * t[2];
      yBar[TORQUE_OUTPUTS * i + MLP_OUTPUTS + TORQUE_BONDS + k] = v[0] * t[0] + v[1] * t[1] + v[2] * t[2] - sv * st;
    }
  }
  return yBar;
}
