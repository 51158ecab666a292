/**
 * Float64 reference of the fused field and per-site update maps of shaders/dynamics/llg.wgsl.
 * Conventions and derivations: params.ts. Spins are packed xyz (length 3N), i = x + Lx*y.
 */
import type { Lattice } from '../lattice/lattice.js';
import type { LLParams, Vec3 } from './params.js';

type Spins = ArrayLike<number>;

export function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}
export function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}
function axpy(a: number, x: Vec3, y: Vec3): Vec3 {
  return [y[0] + a * x[0], y[1] + a * x[1], y[2] + a * x[2]];
}
export function normalise(v: Vec3): Vec3 {
  const n = Math.hypot(v[0], v[1], v[2]);
  return [v[0] / n, v[1] / n, v[2] / n];
}
function site(s: Spins, i: number): Vec3 {
  return [s[3 * i], s[3 * i + 1], s[3 * i + 2]];
}

/** H_i = B + 2K(S·e)e - 2Kh(S·h)h + J_H Σ_j S_j + F_i^ext, evaluated on configuration `s`. */
export function effectiveField(lat: Lattice, p: LLParams, s: Spins, i: number, ext?: Spins): Vec3 {
  const si = site(s, i);
  let H: Vec3 = [...p.B];
  H = axpy(2 * p.K * dot(si, p.easyAxis), p.easyAxis, H);
  H = axpy(-2 * p.Kh * dot(si, p.hardAxis), p.hardAxis, H);
  if (p.JH !== 0) {
    for (let k = 0; k < 4; k++) {
      const j = lat.neighbours[4 * i + k];
      if (j >= 0) H = axpy(p.JH, site(s, j), H);
    }
  }
  if (ext) H = axpy(1, site(ext, i), H);
  return H;
}

/** h1 = H + α S × H (the right-hand side is -S × h1). */
export function torqueField(s: Vec3, H: Vec3, alpha: number): Vec3 {
  return axpy(alpha, cross(s, H), H);
}

/**
 * Exact solution of S' - S = -(S + S') × a (implicit midpoint for a given a = Hm):
 * S' = [(1 - |a|²) S + 2 (a·S) a + 2 a × S] / (1 + |a|²), the Cayley transform of [a]×, a rotation
 * about a by 2 atan|a| (so |S'| = |S| exactly).
 * Derivation: (1 - A) S' = (1 + A) S with A v = a × v; A³ = -|a|² A gives
 * (1 - A)⁻¹ = 1 + (A + A²)/(1 + |a|²), hence S' = S + 2 (A + A²) S / (1 + |a|²).
 */
export function cayley(s: Vec3, a: Vec3): Vec3 {
  const a2 = dot(a, a), as = dot(a, s), c = cross(a, s), d = 1 / (1 + a2);
  return [0, 1, 2].map((k) => ((1 - a2) * s[k] + 2 * as * a[k] + 2 * c[k]) * d) as Vec3;
}

/** Rotation of s about w by the angle |w| dt (exact flow of dS/dt = -S × w for constant w). */
export function rotateAbout(s: Vec3, w: Vec3, dt: number): Vec3 {
  const wn = Math.hypot(w[0], w[1], w[2]);
  if (wn === 0) return s;
  const n: Vec3 = [w[0] / wn, w[1] / wn, w[2] / wn];
  const phi = wn * dt, c = Math.cos(phi), sn = Math.sin(phi), ns = cross(n, s), nd = dot(n, s) * (1 - c);
  return [0, 1, 2].map((k) => s[k] * c + ns[k] * sn + n[k] * nd) as Vec3;
}

/**
 * Energy of the local terms (Zeeman, anisotropies, Heisenberg exchange; the external field is not
 * included: it need not derive from an energy). Float64.
 */
export function localEnergy(lat: Lattice, p: LLParams, s: Spins): number {
  let e = 0;
  for (let i = 0; i < lat.N; i++) {
    const si = site(s, i);
    const se = dot(si, p.easyAxis), sh = dot(si, p.hardAxis);
    e += -dot(p.B, si) - p.K * se * se + p.Kh * sh * sh;
  }
  for (let b = 0; b < lat.bonds.length; b += 2) e -= p.JH * dot(site(s, lat.bonds[b]), site(s, lat.bonds[b + 1]));
  return e;
}
