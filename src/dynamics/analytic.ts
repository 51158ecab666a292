/**
 * Closed-form results for dS/dt = -S × (H + α S × H) (γ = 1), used to validate the integrators.
 * The equation equals the Gilbert form with γ_G = 1 + α² (params.ts), so Gilbert-form textbook
 * results apply with γ → 1 + α².
 */
import type { Vec3 } from './params.js';

/**
 * Single spin in B = B ẑ starting at polar angle θ0, azimuth 0:
 * d(cos θ)/dt = α B sin²θ ⇒ tan(θ/2) = tan(θ0/2) e^{-α B t};  -S × Bẑ = Bẑ × S ⇒ φ = B t
 * (precession at ω = B, counter-clockwise about B; no 1/(1+α²) in the LL form).
 */
export function precessionExact(B: number, alpha: number, th0: number, t: number): Vec3 {
  const th = 2 * Math.atan(Math.tan(th0 / 2) * Math.exp(-alpha * B * t));
  return [Math.sin(th) * Math.cos(B * t), Math.sin(th) * Math.sin(B * t), Math.cos(th)];
}

/** Langevin function <S·B̂> = coth(x) - 1/x, x = |B|/kT, for a free classical unit spin. */
export function langevin(x: number): number {
  return Math.abs(x) < 1e-4 ? x / 3 : 1 / Math.tanh(x) - 1 / x;
}

/**
 * Continuum wall width of the chain with exchange J_H (bond energy -J_H S_i·S_{i+1} ≈ const +
 * (J_H/2)(∂θ)², so A = J_H/2) and easy-axis anisotropy K: Δ = sqrt(A/K) = sqrt(J_H/(2K)).
 */
export function wallWidth(JH: number, K: number): number {
  return Math.sqrt(JH / (2 * K));
}

/**
 * Uniaxial chain (Kh = 0), field B along the easy axis: the Bloch profile is an exact rigidly
 * precessing solution (Schryer & Walker, J. Appl. Phys. 45, 5406 (1974)) with, in Gilbert form,
 * v = α γ_G Δ B/(1+α²) and ω = γ_G B/(1+α²). With γ_G = 1+α²: v = α Δ B, ω = B.
 */
export function uniaxialWall(alpha: number, B: number, delta: number): { v: number; omega: number } {
  return { v: alpha * delta * B, omega: B };
}

/**
 * Walker steady wall with a hard axis (energy +Kh (S·h)², h ⟂ easy axis). Gilbert collective
 * coordinates (Thiaville & Nakatani, Spin Dynamics in Confined Magnetic Structures III (2006)):
 *   φ' + α q'/Δ = γ_G B,   q'/Δ - α φ' = γ_G Kh sin 2φ.
 * Steady (φ' = 0) below the breakdown field B_W = α Kh: sin 2φ = B/(α Kh), v = γ_G Δ(φ) B/α with
 * the dynamic width Δ(φ) = sqrt(A/(K + Kh sin²φ)), A = J_H/2. With γ_G = 1+α²: v = (1+α²)Δ(φ)B/α.
 */
export function walkerWall(alpha: number, B: number, JH: number, K: number, Kh: number): { v: number; phi: number; delta: number; breakdown: number } {
  const breakdown = alpha * Kh;
  if (!(Math.abs(B) < breakdown)) throw new Error(`walkerWall.B: |B| = ${Math.abs(B)} is not below the Walker field α Kh = ${breakdown}`);
  const phi = 0.5 * Math.asin(B / breakdown);
  const delta = Math.sqrt(JH / 2 / (K + Kh * Math.sin(phi) ** 2));
  return { v: ((1 + alpha * alpha) * delta * B) / alpha, phi, delta, breakdown };
}
