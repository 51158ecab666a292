/**
 * Adam / AdamW hyperparameters and the float64 reference step (twin of shaders/model/adam.wgsl).
 *
 * One step t = 1, 2, ... (PyTorch torch.optim.AdamW semantics, decoupled weight decay):
 *   g  <- g * c,  c = min(1, clipNorm / ‖g‖₂)   (only when clipNorm > 0; ‖g‖ over all parameters)
 *   θ  <- θ - lr·wd·θ
 *   m  <- β1 m + (1-β1) g
 *   v  <- β2 v + (1-β2) g²
 *   θ  <- θ - lr · (m / (1-β1^t)) / (sqrt(v / (1-β2^t)) + eps)
 * `lr` is passed per step so schedules live on the host.
 */
export interface AdamHyper {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
  /** decoupled weight decay (AdamW); 0 = plain Adam */
  weightDecay?: number;
  /** global-norm gradient clipping threshold; 0 or absent = off */
  clipNorm?: number;
}

export interface AdamResolved {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
  clipNorm: number;
}

export function resolveAdam(h: AdamHyper): AdamResolved {
  const r = { lr: h.lr, beta1: h.beta1 ?? 0.9, beta2: h.beta2 ?? 0.999, eps: h.eps ?? 1e-8, weightDecay: h.weightDecay ?? 0, clipNorm: h.clipNorm ?? 0 };
  if (!(Number.isFinite(r.lr) && r.lr >= 0)) throw new Error(`adam.lr must be a finite number >= 0, got ${h.lr}`);
  if (!(r.beta1 >= 0 && r.beta1 < 1)) throw new Error(`adam.beta1 must be in [0,1), got ${r.beta1}`);
  if (!(r.beta2 >= 0 && r.beta2 < 1)) throw new Error(`adam.beta2 must be in [0,1), got ${r.beta2}`);
  if (!(r.eps > 0)) throw new Error(`adam.eps must be > 0, got ${r.eps}`);
  if (!(r.weightDecay >= 0)) throw new Error(`adam.weightDecay must be >= 0, got ${r.weightDecay}`);
  if (!(r.clipNorm >= 0)) throw new Error(`adam.clipNorm must be >= 0, got ${r.clipNorm}`);
  return r;
}

/** Gradient scale factor from global-norm clipping (1 when off or below the threshold). */
export function clipScale(gradNorm: number, clipNorm: number): number {
  return clipNorm > 0 ? Math.min(1, clipNorm / (gradNorm + 1e-12)) : 1;
}

/** In-place float64 Adam step number `t` (1-based) on θ with moments m, v. */
export function adamStepTwin(theta: Float64Array, grad: ArrayLike<number>, m: Float64Array, v: Float64Array, t: number, hyper: AdamHyper): void {
  const h = resolveAdam(hyper);
  if (!(Number.isSafeInteger(t) && t >= 1)) throw new Error(`adam step t must be an integer >= 1, got ${t}`);
  let ss = 0;
  for (let i = 0; i < grad.length; i++) ss += grad[i] * grad[i];
  const c = clipScale(Math.sqrt(ss), h.clipNorm);
  const bc1 = 1 - h.beta1 ** t, bc2 = 1 - h.beta2 ** t;
  for (let i = 0; i < theta.length; i++) {
    const g = grad[i] * c;
    theta[i] -= h.lr * h.weightDecay * theta[i];
    m[i] = h.beta1 * m[i] + (1 - h.beta1) * g;
    v[i] = h.beta2 * v[i] + (1 - h.beta2) * g * g;
    theta[i] -= (h.lr * (m[i] / bc1)) / (Math.sqrt(v[i] / bc2) + h.eps);
  }
}
