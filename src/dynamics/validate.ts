/** Input checks shared by the GPU engine and the float64 twin (one-line errors naming the field). */
import type { LLParams } from './params.js';

/** Validate a 3N spin array and return it normalised (float64). */
export function checkSpins(s: ArrayLike<number>, N: number): Float64Array {
  if (s.length !== 3 * N) throw new Error(`spins must have length 3N = ${3 * N}, got ${s.length}`);
  const out = new Float64Array(3 * N);
  for (let i = 0; i < N; i++) {
    const x = s[3 * i], y = s[3 * i + 1], z = s[3 * i + 2];
    const n = Math.hypot(x, y, z);
    if (!Number.isFinite(n) || n === 0) throw new Error(`spins[${i}] must be a finite non-zero vector, got (${x}, ${y}, ${z})`);
    out[3 * i] = x / n;
    out[3 * i + 1] = y / n;
    out[3 * i + 2] = z / n;
  }
  return out;
}

/** Validate a 3N external field (finite entries). */
export function checkField(f: ArrayLike<number>, N: number): Float64Array {
  if (f.length !== 3 * N) throw new Error(`externalField must have length 3N = ${3 * N}, got ${f.length}`);
  const out = Float64Array.from(f);
  const bad = out.findIndex((x) => !Number.isFinite(x));
  if (bad >= 0) throw new Error(`externalField[${bad}] must be finite, got ${out[bad]}`);
  return out;
}

/**
 * Whether the midpoint field history h1_{n-1} stays valid across a parameter change: the two-step
 * extrapolation assumes a fixed dt and α and the same integrator; field parameters may change (the
 * history then holds the previous field, exactly as for a time-dependent external field).
 */
export function historyKept(a: LLParams, b: LLParams): boolean {
  return a.dt === b.dt && a.alpha === b.alpha && a.integrator === b.integrator;
}
