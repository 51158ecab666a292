/**
 * Float64 twin of the per-site MLP kernels (shaders/model/mlp_*.wgsl): forward, input gradient,
 * energy backward, double backward, Adam. Rows are independent sites; inputs are row-major R×D.
 *
 * Network (layers l = 1..L, L = hidden.length + 1; h_0 = x; widths n_0 = D, ..., n_L = P):
 *   z_l = W_l h_{l-1} + b_l,   h_l = σ(z_l) (l < L),   y = z_L = (ε, φ[, bond-torque coefficients]).
 * Only ε and φ are differentiated with respect to x; the other outputs enter a loss directly (Ȳ).
 *
 * Input gradient (reverse mode, one backward pass per output channel c ∈ {ε, φ}):
 *   δ_L^c = e_c,   a_{l-1}^c = W_lᵀ δ_l^c,   δ_{l-1}^c = σ'(z_{l-1}) ⊙ a_{l-1}^c,   g^c = ∂y_c/∂x = a_0^c.
 *
 * Double backward. The force loss depends on θ only through g^E, g^Φ, so with upstream
 * U^c = ∂L/∂g^c the quantity to differentiate is  Λ(θ) = Σ_rows Σ_c U^c · g^c(θ).
 * Since U^c·∂y_c/∂x is the directional derivative of y_c along U^c, Λ is a forward-mode (JVP)
 * quantity: per channel c propagate a tangent
 *   ḣ_0^c = U^c,   ż_l^c = W_l ḣ_{l-1}^c (no bias),   ḣ_l^c = σ'(z_l) ⊙ ż_l^c,   Λ = Σ_c ż_L^c[c],
 * and differentiate Λ by ordinary reverse mode through (primal + 2 tangents). Adjoints: z̄_l of the
 * primal pre-activation, δ_l^c of the tangent pre-activation ż_l^c. Seeds: δ_L^c = e_c,
 * z̄_L = Ȳ (an optional energy-loss upstream ∂L/∂y, 0 for a pure force loss). For l = L..1:
 *   ∂L/∂W_l = Σ_rows [ z̄_l h_{l-1}ᵀ + Σ_c δ_l^c (ḣ_{l-1}^c)ᵀ ],     ∂L/∂b_l = Σ_rows z̄_l
 *   h̄ = W_lᵀ z̄_l,   ḣ̄^c = W_lᵀ δ_l^c                                   (for l > 1:)
 *   δ_{l-1}^c = σ'(z_{l-1}) ⊙ ḣ̄^c
 *   z̄_{l-1}   = σ'(z_{l-1}) ⊙ h̄ + σ''(z_{l-1}) ⊙ Σ_c ḣ̄^c ⊙ ż_{l-1}^c
 * The tangent adjoints δ^c obey exactly the input-gradient recursion (they are the same vectors),
 * and the σ'' term is where the curvature of the activation enters (it vanishes for ReLU, whose
 * σ'' = 0 a.e.; then θ-gradients of the force loss flow only through the δ ḣᵀ terms).
 * Ȳ ≠ 0 adds the gradient of an energy loss in the same pass; `energyBackward` is the case U = 0.
 *
 * Activations: SiLU σ = z s (s = logistic(z)), σ' = s(1 + z(1-s)), σ'' = s(1-s)(2 + z(1-2s));
 * tanh σ' = 1-t², σ'' = -2t(1-t²); ReLU σ' = [z > 0], σ'' = 0.
 */
import { type MlpArch, type Activation, type LayerLayout, layerLayouts, paramCount, outputCount } from './weights.js';
import { adamStepTwin, type AdamHyper } from './adam.js';

/** (σ, σ', σ'') at z. */
export function activation(act: Activation, z: number): [number, number, number] {
  switch (act) {
    case 'silu': {
      const s = 1 / (1 + Math.exp(-z));
      return [z * s, s * (1 + z * (1 - s)), s * (1 - s) * (2 + z * (1 - 2 * s))];
    }
    case 'tanh': {
      const t = Math.tanh(z);
      return [t, 1 - t * t, -2 * t * (1 - t * t)];
    }
    case 'relu':
      return [Math.max(z, 0), z > 0 ? 1 : 0, 0];
  }
}

export interface TwinForward {
  /** R×P outputs (ε, φ, ...) */
  y: Float64Array;
  /** pre-activations z_l of hidden layers l = 1..L-1 (index l-1), each R×n_l */
  z: Float64Array[];
}

type Arr = ArrayLike<number>;

function checkLen(name: string, a: Arr, n: number): void {
  if (a.length < n) throw new Error(`${name} has ${a.length} elements, need ${n}`);
}

export class MlpTwin {
  readonly layers: LayerLayout[];
  readonly theta: Float64Array;
  /** Adam state (allocated on first step) */
  private adam?: { m: Float64Array; v: Float64Array; t: number };

  constructor(readonly arch: MlpArch, theta: Arr) {
    this.layers = layerLayouts(arch);
    const n = paramCount(arch);
    if (theta.length !== n) throw new Error(`theta has ${theta.length} elements, arch needs ${n}`);
    this.theta = Float64Array.from(theta);
  }

  private act(z: number) {
    return activation(this.arch.activation, z);
  }

  /** out[o] = Σ_i W[o,i] v[i] (+ b[o]) for layer l. */
  private affine(l: number, v: Float64Array, withBias: boolean): Float64Array {
    const L = this.layers[l], th = this.theta;
    const out = new Float64Array(L.nOut);
    for (let o = 0; o < L.nOut; o++) {
      let s = withBias ? th[L.bOff + o] : 0;
      for (let i = 0; i < L.nIn; i++) s += th[L.wOff + o * L.nIn + i] * v[i];
      out[o] = s;
    }
    return out;
  }

  /** out[i] = Σ_o W[o,i] u[o] for layer l. */
  private affineT(l: number, u: Float64Array): Float64Array {
    const L = this.layers[l], th = this.theta;
    const out = new Float64Array(L.nIn);
    for (let o = 0; o < L.nOut; o++) for (let i = 0; i < L.nIn; i++) out[i] += th[L.wOff + o * L.nIn + i] * u[o];
    return out;
  }

  private row(a: Arr, r: number, n: number): Float64Array {
    return Float64Array.from({ length: n }, (_, k) => a[r * n + k]);
  }

  forward(x: Arr, R: number): TwinForward {
    const D = this.arch.inputDim, nL = this.layers.length, P = outputCount(this.arch);
    checkLen('x', x, R * D);
    const y = new Float64Array(R * P);
    const z = this.layers.slice(0, -1).map((L) => new Float64Array(R * L.nOut));
    for (let r = 0; r < R; r++) {
      let h = this.row(x, r, D);
      for (let l = 0; l < nL; l++) {
        const zl = this.affine(l, h, true);
        if (l === nL - 1) y.set(zl, r * P);
        else {
          z[l].set(zl, r * zl.length);
          h = zl.map((v) => this.act(v)[0]);
        }
      }
    }
    return { y, z };
  }

  /** [gE; gP]: channel-major 2·R·D, gE[r,k] = ∂y_0/∂x_k at row r, gP at offset R·D. */
  inputGrad(x: Arr, R: number): Float64Array {
    const D = this.arch.inputDim, nL = this.layers.length;
    const { z } = this.forward(x, R);
    const g = new Float64Array(2 * R * D);
    for (let r = 0; r < R; r++) {
      for (let c = 0; c < 2; c++) {
        let delta = new Float64Array(outputCount(this.arch));
        delta[c] = 1;
        for (let l = nL - 1; l >= 0; l--) {
          const a = this.affineT(l, delta);
          if (l === 0) g.set(a, c * R * D + r * D);
          else {
            const n = a.length;
            delta = a.map((v, k) => this.act(z[l - 1][r * n + k])[1] * v);
          }
        }
      }
    }
    return g;
  }

  /**
   * dL/dθ for L = Σ_rows Σ_c U^c·g^c(θ) + Σ_rows Ȳ·y(θ) (see the module doc). UE, UP: R×D;
   * yBar: R×P or undefined (0).
   */
  doubleBackward(x: Arr, UE: Arr, UP: Arr, R: number, yBar?: Arr): Float64Array {
    const D = this.arch.inputDim;
    checkLen('UE', UE, R * D);
    checkLen('UP', UP, R * D);
    return this.backward(x, R, [UE, UP], yBar);
  }

  /** dL/dθ for an energy-type loss with upstream yBar = ∂L/∂y (R×P). */
  energyBackward(x: Arr, yBar: Arr, R: number): Float64Array {
    return this.backward(x, R, [], yBar);
  }

  private backward(x: Arr, R: number, U: Arr[], yBar: Arr | undefined): Float64Array {
    const D = this.arch.inputDim, nL = this.layers.length, P = outputCount(this.arch);
    checkLen('x', x, R * D);
    if (yBar) checkLen('yBar', yBar, R * P);
    const grad = new Float64Array(paramCount(this.arch));
    for (let r = 0; r < R; r++) {
      // forward: primal h_l, pre-activation z_l, tangents ż^c_l, ḣ^c_l (index l = 0..L-1 for layer input h_l)
      const h: Float64Array[] = [this.row(x, r, D)];
      const z: Float64Array[] = [new Float64Array(0)];
      const ht: Float64Array[][] = U.map((u) => [this.row(u, r, D)]);
      const zt: Float64Array[][] = U.map(() => [new Float64Array(0)]);
      for (let l = 0; l < nL - 1; l++) {
        const zl = this.affine(l, h[l], true);
        z.push(zl);
        h.push(zl.map((v) => this.act(v)[0]));
        U.forEach((_, c) => {
          const zc = this.affine(l, ht[c][l], false);
          zt[c].push(zc);
          ht[c].push(zc.map((v, k) => this.act(zl[k])[1] * v));
        });
      }
      // reverse
      let zb = Float64Array.from({ length: P }, (_, k) => (yBar ? yBar[r * P + k] : 0));
      let dl = U.map((_, c) => Float64Array.from({ length: P }, (_, k) => (k === c ? 1 : 0)));
      for (let l = nL - 1; l >= 0; l--) {
        const L = this.layers[l];
        for (let o = 0; o < L.nOut; o++) {
          grad[L.bOff + o] += zb[o];
          for (let i = 0; i < L.nIn; i++) {
            let s = zb[o] * h[l][i];
            U.forEach((_, c) => (s += dl[c][o] * ht[c][l][i]));
            grad[L.wOff + o * L.nIn + i] += s;
          }
        }
        if (l === 0) break;
        const hb = this.affineT(l, zb);
        const htb = dl.map((d) => this.affineT(l, d));
        const d1 = z[l].map((v) => this.act(v)[1]);
        const d2 = z[l].map((v) => this.act(v)[2]);
        dl = htb.map((a) => a.map((v, k) => d1[k] * v));
        zb = hb.map((v, k) => {
          let s = d1[k] * v;
          U.forEach((_, c) => (s += d2[k] * htb[c][k] * zt[c][l][k]));
          return s;
        });
      }
    }
    return grad;
  }

  /** One Adam step on this.theta with gradient `grad` (state kept in the twin). */
  adamStep(grad: Arr, hyper: AdamHyper): void {
    const n = this.theta.length;
    checkLen('grad', grad, n);
    if (!this.adam) this.adam = { m: new Float64Array(n), v: new Float64Array(n), t: 0 };
    this.adam.t++;
    adamStepTwin(this.theta, grad, this.adam.m, this.adam.v, this.adam.t, hyper);
  }
}
