/**
 * Energy grid of the NEGF density matrix (explicit data, shared by the f64 CPU solver and the GPU
 * kernels). Formulation (derivation and measured errors in docs/negf.md):
 *
 *   ρ = ρ_eq(μ̄) + ∫dE/2π [(f_L - f̄) A_L + (f_R - f̄) A_R],   μ̄ = (muL+muR)/2, f̄ = f(E - μ̄)
 *   ρ_eq(μ̄) = I/2 + Σ_k (wG_k G(z_k) + h.c.)        (contour points, kind 0)
 *   nonequilibrium part = Σ_k (wL_k A_L(E_k+iη) + wR_k A_R(E_k+iη))  (real-axis points, kind 1)
 *
 * The equilibrium part is exact for any T ≥ 0 (no pole-sum truncation): with y_N = 2πN_mT,
 *   ρ_eq = I/2 + 2T Σ_{n<N_m} Re G(μ̄+iω_n) + (1/π)∫_{y_N}^∞ Re G(μ̄+iy) dy
 *          + ∫_0^∞ dx/2π f(x) [A_{y_N}(μ̄+x) - A_{y_N}(μ̄-x)],   Re X = (X + X†)/2,
 * where A_y(E) = i(G - G†)(E + iy). Every integral is split into Gauss-Kronrod (G7K15) panels:
 * log(y) panels up to y_c, the tail y > y_c in u = 1/y, the horizontal line x ∈ [0, 40T]. At T = 0
 * the Matsubara and horizontal terms vanish and the imaginary-axis integral starts at yMin (states
 * closer than yMin to μ̄ are counted with occupation ≈ 1/2 + (1/π)atan(δ/yMin)).
 * Error weights (suffix Err) are K15 minus embedded G7 weights: the same sums with them give the
 * a-posteriori error estimate of each panel.
 * Window count (bound states): wN (complex, on an arc over [lo, hi]) gives the total number of
 * states in the bias window, N_tot = Re Σ wN_k Tr G(z_k); wWin gives the scattering-state count
 * N_sc = Σ wWin_k Tr(A_L + A_R)(E_k). N_tot - N_sc ≈ number of bound states in the window.
 */

/** Gauss-Kronrod 15-point nodes (non-negative half, last is 0) and weights, with G7 weights. */
export const GK15_X = [
  0.991455371120812639206854697526329, 0.949107912342758524526189684047851, 0.864864423359769072789712788640926,
  0.741531185599394439863864773280788, 0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
  0.207784955007898467600689403773245, 0,
];
export const GK15_WK = [
  0.022935322010529224963732008058970, 0.063092092629978553290700663189204, 0.104790010322250183839876322541518,
  0.140653259715525918745189590510238, 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
  0.204432940075298892414161999234649, 0.209482141084727828012999174891714,
];
/** G7 weights on GK15_X[1], [3], [5], [7] */
export const G7_W = [0.129484966168869693270611432679082, 0.279705391489276667901467771423780, 0.381830050505118944950369775488975, 0.417959183673469387755102040816327];

/** 15 nodes s ∈ (-1, 1) with Kronrod weights and (Kronrod - Gauss) error weights */
export function gk15(): { s: number[]; wk: number[]; we: number[] } {
  const s: number[] = [], wk: number[] = [], we: number[] = [];
  for (let j = 0; j < 15; j++) {
    const idx = j < 8 ? j : 14 - j;
    const sign = j < 7 ? -1 : 1;
    s.push(sign * GK15_X[idx]);
    wk.push(GK15_WK[idx]);
    const wg = idx % 2 === 1 ? G7_W[(idx - 1) / 2] : 0;
    we.push(GK15_WK[idx] - wg);
  }
  return { s, wk, we };
}
const GK = gk15();

/** Fermi function f(E - mu) at temperature T (T = 0: step, 1/2 at E = mu) */
export function fermi(E: number, mu: number, T: number): number {
  const x = E - mu;
  if (T === 0) return x < 0 ? 1 : x > 0 ? 0 : 0.5;
  const b = x / T;
  return b > 0 ? Math.exp(-b) / (1 + Math.exp(-b)) : 1 / (1 + Math.exp(b));
}

export interface EnergyGrid {
  muL: number;
  muR: number;
  /** (muL + muR)/2, the equilibrium reference */
  muBar: number;
  T: number;
  /** real-axis regulator η */
  eta: number;
  /** number of points */
  K: number;
  /** complex energies, interleaved (re, im) */
  z: Float64Array;
  /** 0: contour point (use G), 1: real-axis point (use A_L, A_R) */
  kind: Uint8Array;
  /** complex weights for G blocks (kind 0), and their error weights */
  wG: Float64Array;
  wGErr: Float64Array;
  /** real weights for A_L, A_R blocks (kind 1), and their error weights */
  wL: Float64Array;
  wR: Float64Array;
  wLErr: Float64Array;
  wRErr: Float64Array;
  /** complex weights of Tr G for the state count in the bias window (kind 0) */
  wN: Float64Array;
  /** real weights of Tr(A_L + A_R) for the scattering-state count in the window (kind 1) */
  wWin: Float64Array;
  /** bias window [lo, hi], or null at zero bias */
  window: [number, number] | null;
}

export interface GridOptions {
  /** real-axis regulator η (default 1e-8) */
  eta?: number;
  /** lower end of the imaginary-axis integral at T = 0 (default 1e-6) */
  yMin?: number;
  /** target height of the Matsubara/horizontal line, y_N ≈ max(2πT, yMatsubara) (default 0.5) */
  yMatsubara?: number;
  /** at most this many Matsubara poles (default 64) */
  maxMatsubara?: number;
  /** log(y) panels per decade on the imaginary axis (default 1) */
  panelsPerDecade?: number;
  /** panels per sub-interval of the bias window (fixed grid; default 4) */
  realPanels?: number;
}

/** spectral radius bound used to place the tail variable u = 1/y */
export interface SpectralBound {
  /** upper bound of |E - μ̄| over the poles of G (any bound works; only efficiency depends on it) */
  radius: number;
}

/** Accumulating builder of grid points. */
export class GridBuilder {
  private z: number[] = [];
  private kind: number[] = [];
  private wG: number[] = [];
  private wGErr: number[] = [];
  private wL: number[] = [];
  private wR: number[] = [];
  private wLErr: number[] = [];
  private wRErr: number[] = [];
  private wN: number[] = [];
  private wWin: number[] = [];

  constructor(readonly muL: number, readonly muR: number, readonly T: number, readonly eta: number) {}

  get muBar(): number {
    return (this.muL + this.muR) / 2;
  }

  private push(zr: number, zi: number, kind: number, wg: [number, number, number, number], wl: [number, number, number, number], wn: [number, number], wwin: number) {
    this.z.push(zr, zi);
    this.kind.push(kind);
    this.wG.push(wg[0], wg[1]);
    this.wGErr.push(wg[2], wg[3]);
    this.wL.push(wl[0]);
    this.wR.push(wl[1]);
    this.wLErr.push(wl[2]);
    this.wRErr.push(wl[3]);
    this.wN.push(wn[0], wn[1]);
    this.wWin.push(wwin);
  }

  /** contour point with complex weight (wr, wi) on G and error weight (er, ei) */
  addG(zr: number, zi: number, wr: number, wi: number, er = 0, ei = 0): void {
    this.push(zr, zi, 0, [wr, wi, er, ei], [0, 0, 0, 0], [0, 0], 0);
  }

  /**
   * GK15 panel of a contour integral ∫ φ(s) ds over s ∈ [a, b]: `at(s)` returns the point
   * [zr, zi] and the complex weight factor [cr, ci] (φ = c·G); panel weights multiply it.
   */
  addGPanel(a: number, b: number, at: (s: number) => [number, number, number, number]): void {
    const h = (b - a) / 2, m = (a + b) / 2;
    for (let j = 0; j < 15; j++) {
      const [zr, zi, cr, ci] = at(m + h * GK.s[j]);
      this.addG(zr, zi, cr * h * GK.wk[j], ci * h * GK.wk[j], cr * h * GK.we[j], ci * h * GK.we[j]);
    }
  }

  /** GK15 panel on the real axis [a, b]: weights (f_α - f̄)/2π; inWindow adds window-count weights */
  addRealPanel(a: number, b: number, inWindow: boolean): void {
    const h = (b - a) / 2, m = (a + b) / 2, mu = this.muBar;
    for (let j = 0; j < 15; j++) {
      const E = m + h * GK.s[j];
      const fb = fermi(E, mu, this.T);
      const dl = (fermi(E, this.muL, this.T) - fb) / (2 * Math.PI);
      const dr = (fermi(E, this.muR, this.T) - fb) / (2 * Math.PI);
      const wk = h * GK.wk[j], we = h * GK.we[j];
      this.push(E, this.eta, 1, [0, 0, 0, 0], [dl * wk, dr * wk, dl * we, dr * we], [0, 0], inWindow ? wk / (2 * Math.PI) : 0);
    }
  }

  /** arc over [lo, hi] in the upper half plane; weights wN give the state count in [lo, hi] */
  addWindowArc(lo: number, hi: number): void {
    const c = (lo + hi) / 2, r = (hi - lo) / 2;
    for (const [a, b] of [[0, Math.PI / 2], [Math.PI / 2, Math.PI]]) {
      const h = (b - a) / 2, m = (a + b) / 2;
      for (let j = 0; j < 15; j++) {
        const th = m + h * GK.s[j];
        const w = (h * GK.wk[j]) / Math.PI;
        this.push(c + r * Math.cos(th), r * Math.sin(th), 0, [0, 0, 0, 0], [0, 0, 0, 0], [r * Math.cos(th) * w, r * Math.sin(th) * w], 0);
      }
    }
  }

  build(): EnergyGrid {
    const f = (a: number[]) => Float64Array.from(a);
    const lo = Math.min(this.muL, this.muR), hi = Math.max(this.muL, this.muR);
    return {
      muL: this.muL, muR: this.muR, muBar: this.muBar, T: this.T, eta: this.eta, K: this.kind.length,
      z: f(this.z), kind: Uint8Array.from(this.kind), wG: f(this.wG), wGErr: f(this.wGErr),
      wL: f(this.wL), wR: f(this.wR), wLErr: f(this.wLErr), wRErr: f(this.wRErr), wN: f(this.wN), wWin: f(this.wWin),
      window: hi > lo ? [lo, hi] : null,
    };
  }
}

/**
 * Add the equilibrium contour for ρ_eq(μ̄) (see module doc) to a builder.
 * Weights are for ρ_eq = I/2 + Σ_k (w_k G_k + h.c.).
 */
export function addEquilibriumContour(gb: GridBuilder, bound: SpectralBound, opt: GridOptions = {}): void {
  const mu = gb.muBar, T = gb.T;
  const yc = 2 * bound.radius + 1;
  const twoPi = 2 * Math.PI;
  let y0: number;
  if (T > 0) {
    const nm = Math.min(opt.maxMatsubara ?? 64, Math.max(1, Math.ceil((opt.yMatsubara ?? 0.5) / (twoPi * T))));
    for (let n = 0; n < nm; n++) gb.addG(mu, (2 * n + 1) * Math.PI * T, T, 0);
    y0 = twoPi * nm * T;
    // horizontal line Im z = y0: w(μ̄ ± x + i y0) = ±i f(x) dx/2π, x ∈ [0, 40T] (f < 5e-18 beyond)
    for (const [a, b] of [[0, 10 * T], [10 * T, 40 * T]]) {
      for (const sgn of [1, -1]) {
        gb.addGPanel(a, b, (x) => [mu + sgn * x, y0, 0, (sgn * fermi(x, 0, T)) / twoPi]);
      }
    }
  } else {
    y0 = opt.yMin ?? 1e-6;
    // [0, yMin]: one-point rule (error ≤ yMin·|Re G| away from states within yMin of μ̄)
    gb.addG(mu, y0, y0 / twoPi, 0);
  }
  // (1/π)∫ Re G dy = ∫ dy/2π (G + G†) on log(y) panels from y0 to y_c
  if (yc > y0) {
    const decades = Math.log10(yc / y0);
    const np = Math.max(1, Math.ceil(decades * (opt.panelsPerDecade ?? 1)));
    const du = Math.log(yc / y0) / np;
    for (let p = 0; p < np; p++) {
      const ua = Math.log(y0) + p * du;
      gb.addGPanel(ua, ua + du, (u) => [mu, Math.exp(u), Math.exp(u) / twoPi, 0]);
    }
  }
  // tail y > max(y_c, y0): u = 1/y ∈ (0, 1/y_c], dy = du/u²
  const ytail = Math.max(yc, y0);
  gb.addGPanel(0, 1 / ytail, (u) => [mu, 1 / u, 1 / (twoPi * u * u), 0]);
}

/** Sub-intervals of the real-axis window integral, split at the kinks lo, μ̄, hi (T = 0) */
export function windowIntervals(muL: number, muR: number, T: number): { a: number; b: number; inWindow: boolean }[] {
  const lo = Math.min(muL, muR), hi = Math.max(muL, muR), mid = (lo + hi) / 2;
  if (!(hi > lo)) return [];
  const out = [{ a: lo, b: mid, inWindow: true }, { a: mid, b: hi, inWindow: true }];
  if (T > 0) {
    out.unshift({ a: lo - 40 * T, b: lo, inWindow: false });
    out.push({ a: hi, b: hi + 40 * T, inWindow: false });
  }
  return out;
}

/**
 * Fixed (non-adaptive) grid: equilibrium contour + `realPanels` equal GK15 panels per window
 * sub-interval + the window arc. This is the grid the GPU solver consumes.
 */
export function buildEnergyGrid(muL: number, muR: number, T: number, bound: SpectralBound, opt: GridOptions = {}): EnergyGrid {
  const gb = new GridBuilder(muL, muR, T, opt.eta ?? 1e-8);
  addEquilibriumContour(gb, bound, opt);
  const np = opt.realPanels ?? 4;
  for (const { a, b, inWindow } of windowIntervals(muL, muR, T)) {
    for (let p = 0; p < np; p++) gb.addRealPanel(a + ((b - a) * p) / np, a + ((b - a) * (p + 1)) / np, inWindow);
  }
  if (muL !== muR) gb.addWindowArc(Math.min(muL, muR), Math.max(muL, muR));
  return gb.build();
}
