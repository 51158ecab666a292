/**
 * Landau-Lifshitz dynamics parameters (SPEC §3), their validation, and the thermal-noise amplitude.
 *
 * Equation (γ = 1, units of SPEC §1):
 *
 *     dS_i/dt = -S_i × (H_i + α S_i × H_i)        H_i = -∂E/∂S_i + F_i^ext
 *
 *     E = -Σ_i B·S_i - K Σ_i (S_i·e)^2 + Kh Σ_i (S_i·h)^2 - J_H Σ_<ij> S_i·S_j
 *     H_i = B + 2K (S_i·e) e - 2Kh (S_i·h) h + J_H Σ_{j∈nn(i)} S_j + F_i^ext
 *
 * `e` and `h` are normalised on validation. F^ext is the per-site external field (NEGF / ML hook).
 * Writing the right-hand side as -S × h1 with h1 = H + α S × H, every integrator rotates S about h1.
 *
 * Relation to Gilbert form. Since S × dS/dt = H⊥ + α S × H, the equation is identical to the
 * Gilbert equation dS/dt = -γ_G S × H + α S × dS/dt with γ_G = 1 + α² and the same α. Textbook
 * results quoted in the Gilbert form therefore carry over with γ → 1 + α², e.g. free precession
 * at ω = |B| (not |B|/(1+α²)) and polar relaxation dθ/dt = -α|B| sin θ.
 *
 * Thermal noise: fluctuation-dissipation amplitude (default, noise: 'fdt').
 * Let a Stratonovich white-noise field b enter H: H → H + b, <b_a(t) b_b(t')> = 2D δ_ab δ(t-t').
 * The noise term is then -S × (b + α S × b). Its diffusion matrix is M Mᵀ with
 * M = -[S]× + α P⊥ (P⊥ = 1 - S Sᵀ), and M Mᵀ = (1+α²) P⊥; the cross terms cancel (also in the
 * first-order, noise-induced part of the generator, because Σ_k ∇_{P⊥e_k}(e_k × S) = S × S = 0 and
 * Σ_k S_k e_k × S = 0). The Fokker-Planck generator is therefore D (1+α²) Δ_sphere + drift, the same as
 * for pure rotational noise -S × η with an isotropic η of strength <η η> = 2 D (1+α²) δ.
 * Zero probability flux for P ∝ exp(-E/kT) (the precession -S × H is divergence-free on the sphere
 * and tangent to the level sets of E, so only the damping α H⊥ = -α ∇E must balance diffusion):
 *     α ∇E P = D (1+α²) ∇E P / kT   ⇒   D = α kT / (1 + α²)
 * i.e. <b_a b_b> = 2 α kT/(1+α²) δ δ(t-t'), which is Brown's (1963) Gilbert result 2αkT/γ_G with
 * γ_G = 1 + α². Equivalently (and this is what neqspin implements, for every integrator) an
 * isotropic, state-independent Gaussian field η is added to h1 with <η_a η_b> = 2 α kT δ δ(t-t'):
 * on a step of length dt each component of η is N(0, σ²), σ = sqrt(2 α kT / dt), constant over the
 * step (Stratonovich: both stages of Heun/Depondt use the same η; the implicit midpoint is
 * Stratonovich by construction). Being state-independent, η needs no Itô/Stratonovich care where
 * the field-entering b would (α S_n × b evaluated at the step start would bias the midpoint scheme).
 *
 * Authors' amplitude (noise: 'authors', reproduction only): Hm += α sqrt(kT dt)/2 · ξ, i.e.
 * σ = α sqrt(kT/dt) for η. Its variance is α/2 times the FDT one, so the stationary state is
 * Boltzmann at the effective temperature kT_eff = α kT / 2 (kT_eff = 0.275 kT for α = 0.55).
 */

export type Integrator = 'midpoint' | 'heun' | 'depondt';
export type NoiseKind = 'fdt' | 'authors';
export type Vec3 = [number, number, number];

export interface LLParams {
  /** damping α ≥ 0 */
  alpha: number;
  /** time step (ħ/t) */
  dt: number;
  integrator: Integrator;
  /** kT in units of t (0: deterministic) */
  temperature: number;
  noise: NoiseKind;
  /** Philox key: non-negative safe integer */
  seed: number;
  /** Zeeman field */
  B: Vec3;
  /** easy-axis anisotropy constant (energy -K (S·e)^2) */
  K: number;
  easyAxis: Vec3;
  /** hard-axis anisotropy constant (energy +Kh (S·h)^2) */
  Kh: number;
  hardAxis: Vec3;
  /** nearest-neighbour Heisenberg exchange (energy -J_H Σ_<ij> S_i·S_j) */
  JH: number;
}

export type LLParamsInput = Partial<LLParams> & Pick<LLParams, 'alpha' | 'dt'>;

export const DEFAULT_PARAMS: Omit<LLParams, 'alpha' | 'dt'> = {
  integrator: 'midpoint',
  temperature: 0,
  noise: 'fdt',
  seed: 0,
  B: [0, 0, 0],
  K: 0,
  easyAxis: [0, 0, 1],
  Kh: 0,
  hardAxis: [1, 0, 0],
  JH: 0,
};

const KEYS = new Set<string>(['alpha', 'dt', ...Object.keys(DEFAULT_PARAMS)]);

function finite(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new Error(`dynamics.${name} must be a finite number, got ${String(v)}`);
  return v;
}

function vec3(name: string, v: unknown, unit: boolean): Vec3 {
  if (!Array.isArray(v) && !ArrayBuffer.isView(v)) throw new Error(`dynamics.${name} must be a 3-vector`);
  const a = Array.from(v as ArrayLike<number>);
  if (a.length !== 3) throw new Error(`dynamics.${name} must have 3 components, got ${a.length}`);
  a.forEach((x, k) => finite(`${name}[${k}]`, x));
  if (!unit) return a as Vec3;
  const n = Math.hypot(a[0], a[1], a[2]);
  if (!(n > 0)) throw new Error(`dynamics.${name} must be a non-zero vector`);
  return [a[0] / n, a[1] / n, a[2] / n];
}

/** Merge `update` into `base` (or the defaults) and validate; errors name the offending field. */
export function resolveParams(update: Partial<LLParams>, base?: LLParams): LLParams {
  for (const k of Object.keys(update)) if (!KEYS.has(k)) throw new Error(`dynamics.${k} is not a parameter (known: ${[...KEYS].join(', ')})`);
  const p = { ...DEFAULT_PARAMS, ...base, ...update } as Partial<LLParams>;
  if (p.alpha === undefined) throw new Error('dynamics.alpha is required');
  if (p.dt === undefined) throw new Error('dynamics.dt is required');
  const alpha = finite('alpha', p.alpha);
  if (alpha < 0) throw new Error(`dynamics.alpha must be ≥ 0, got ${alpha}`);
  const dt = finite('dt', p.dt);
  if (!(dt > 0)) throw new Error(`dynamics.dt must be > 0, got ${dt}`);
  if (!['midpoint', 'heun', 'depondt'].includes(p.integrator as string)) {
    throw new Error(`dynamics.integrator must be 'midpoint', 'heun' or 'depondt', got ${String(p.integrator)}`);
  }
  const temperature = finite('temperature', p.temperature);
  if (temperature < 0) throw new Error(`dynamics.temperature must be ≥ 0, got ${temperature}`);
  if (!['fdt', 'authors'].includes(p.noise as string)) throw new Error(`dynamics.noise must be 'fdt' or 'authors', got ${String(p.noise)}`);
  const seed = p.seed as number;
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`dynamics.seed must be a non-negative safe integer, got ${String(seed)}`);
  return {
    alpha,
    dt,
    integrator: p.integrator as Integrator,
    temperature,
    noise: p.noise as NoiseKind,
    seed,
    B: vec3('B', p.B, false),
    K: finite('K', p.K),
    easyAxis: vec3('easyAxis', p.easyAxis, true),
    Kh: finite('Kh', p.Kh),
    hardAxis: vec3('hardAxis', p.hardAxis, true),
    JH: finite('JH', p.JH),
  };
}

/** Standard deviation σ of each component of the step-constant noise field η added to h1. */
export function noiseSigma(p: LLParams): number {
  if (p.temperature === 0) return 0;
  return p.noise === 'fdt' ? Math.sqrt((2 * p.alpha * p.temperature) / p.dt) : p.alpha * Math.sqrt(p.temperature / p.dt);
}

/** Philox counter word 3 reserved for LL noise, so other modules can share a seed without overlap. */
export const LL_NOISE_STREAM = 0x4c4c0001;
