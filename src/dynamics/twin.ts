/**
 * Float64 CPU twin of the GPU Landau-Lifshitz engine (engine.ts, shaders/dynamics/llg.wgsl): the same
 * fields, integrators, step counter, history rule and Philox noise stream, in double precision.
 *
 * Integrators (all second order in dt; -S × h1 is the right-hand side, h1 = H + α S × H + η):
 * - midpoint: S_{n+1} = cayley(S_n, Hm), Hm = (dt/2)(1.5 h1_n - 0.5 h1_{n-1} + η_n) with h1 the
 *   deterministic part; without history (first step, after setSpins or a change of dt, α or
 *   integrator) h1_{n-1} = h1_n.
 * - heun: P = N(S + dt f(S)), S' = N(S + dt/2 (f(S) + f(P))), f = -S × h1, N = normalisation.
 * - depondt: P = R(h1(S)) S, S' = R((h1(S) + h1(P))/2) S, R(w) the rotation about w by |w| dt.
 * η_n is one realisation per site and step, drawn from Philox counter (site, step, 0, LL_NOISE_STREAM)
 * with key seedKey(seed) and shared by both stages. Every update ends with S ← S/|S| (a no-op in
 * exact arithmetic for midpoint and depondt; it stops f32 rounding drift on the GPU).
 */
import type { Lattice } from '../lattice/lattice.js';
import { normal4, seedKey } from '../gpu/rng.js';
import { resolveParams, noiseSigma, LL_NOISE_STREAM, type LLParams, type LLParamsInput, type Vec3 } from './params.js';
import { effectiveField, torqueField, cayley, rotateAbout, cross, normalise, localEnergy } from './fields.js';
import { checkSpins, checkField, historyKept } from './validate.js';

export class LLTwin {
  private p: LLParams;
  private s: Float64Array;
  private ext?: Float64Array;
  private hist: Float64Array;
  private hasHistory = false;
  /** number of steps taken (the noise counter) */
  step = 0;

  constructor(readonly lattice: Lattice, params: LLParamsInput) {
    this.p = resolveParams(params);
    this.s = new Float64Array(3 * lattice.N);
    for (let i = 0; i < lattice.N; i++) this.s[3 * i + 2] = 1;
    this.hist = new Float64Array(3 * lattice.N);
  }

  get params(): Readonly<LLParams> {
    return this.p;
  }

  setParams(update: Partial<LLParams>): void {
    const next = resolveParams(update, this.p);
    if (!historyKept(this.p, next)) this.hasHistory = false;
    this.p = next;
  }

  /** Spins (3N, normalised on input). Resets the midpoint history. */
  setSpins(s: ArrayLike<number>): void {
    this.s = checkSpins(s, this.lattice.N);
    this.hasHistory = false;
  }

  getSpins(): Float64Array {
    return this.s.slice();
  }

  /** Per-site external field (3N), or null to remove it. */
  setExternalField(f: ArrayLike<number> | null): void {
    this.ext = f ? checkField(f, this.lattice.N) : undefined;
  }

  energy(): number {
    return localEnergy(this.lattice, this.p, this.s);
  }

  private noise(sigma: number, key: [number, number], i: number): Vec3 {
    if (sigma === 0) return [0, 0, 0];
    const g = normal4([i, this.step >>> 0, Math.floor(this.step / 4294967296) >>> 0, LL_NOISE_STREAM], key);
    return [sigma * g[0], sigma * g[1], sigma * g[2]];
  }

  private h1All(s: Float64Array): Float64Array {
    const out = new Float64Array(s.length);
    for (let i = 0; i < this.lattice.N; i++) {
      const si: Vec3 = [s[3 * i], s[3 * i + 1], s[3 * i + 2]];
      out.set(torqueField(si, effectiveField(this.lattice, this.p, s, i, this.ext), this.p.alpha), 3 * i);
    }
    return out;
  }

  /** Advance n steps. */
  run(n: number): void {
    if (!Number.isInteger(n) || n < 0) throw new Error(`run.nSteps must be a non-negative integer, got ${n}`);
    for (let k = 0; k < n; k++) this.advance();
  }

  private advance(): void {
    const { N } = this.lattice;
    const { dt, integrator } = this.p;
    const sigma = noiseSigma(this.p), key = seedKey(this.p.seed);
    const at = (a: Float64Array, i: number): Vec3 => [a[3 * i], a[3 * i + 1], a[3 * i + 2]];
    const add = (a: Vec3, b: Vec3, w = 1): Vec3 => [a[0] + w * b[0], a[1] + w * b[1], a[2] + w * b[2]];
    const h = this.h1All(this.s);
    const eta: Vec3[] = [];
    for (let i = 0; i < N; i++) eta.push(this.noise(sigma, key, i));
    const next = new Float64Array(3 * N);
    if (integrator === 'midpoint') {
      for (let i = 0; i < N; i++) {
        const hn = at(h, i), hp = this.hasHistory ? at(this.hist, i) : hn;
        const hm = add(add([1.5 * hn[0], 1.5 * hn[1], 1.5 * hn[2]], hp, -0.5), eta[i]).map((x) => 0.5 * dt * x) as Vec3;
        next.set(normalise(cayley(at(this.s, i), hm)), 3 * i);
      }
      this.hist = h;
      this.hasHistory = true;
    } else {
      const predict = (s: Vec3, w: Vec3): Vec3 => (integrator === 'heun' ? normalise(add(s, cross(s, w), -dt)) : normalise(rotateAbout(s, w, dt)));
      const pred = new Float64Array(3 * N);
      for (let i = 0; i < N; i++) pred.set(predict(at(this.s, i), add(at(h, i), eta[i])), 3 * i);
      const hp = this.h1All(pred);
      for (let i = 0; i < N; i++) {
        const s = at(this.s, i), p = at(pred, i);
        const w0 = add(at(h, i), eta[i]), w1 = add(at(hp, i), eta[i]);
        const out =
          integrator === 'heun'
            ? normalise(add(add(s, cross(s, w0), -0.5 * dt), cross(p, w1), -0.5 * dt))
            : normalise(rotateAbout(s, [0.5 * (w0[0] + w1[0]), 0.5 * (w0[1] + w1[1]), 0.5 * (w0[2] + w1[2])], dt));
        next.set(out, 3 * i);
      }
    }
    this.s = next;
    this.step++;
  }
}
