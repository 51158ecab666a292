/** Small array, rotation and random-number helpers shared by the tests (float64, packed xyz triples). */
import { normal4, seedKey } from '../../src/gpu/rng.js';

export const maxAbs = (a: ArrayLike<number>): number => {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k]));
  return m;
};

export const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] - b[k]));
  return m;
};

export const dotN = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let s = 0;
  for (let k = 0; k < a.length; k++) s += a[k] * b[k];
  return s;
};

/** Rotation matrix about unit axis n by angle phi (row-major 3×3). */
export function rotation(n: number[], phi: number): number[] {
  const c = Math.cos(phi), s = Math.sin(phi), t = 1 - c;
  const [x, y, z] = n;
  return [t * x * x + c, t * x * y - s * z, t * x * z + s * y, t * x * y + s * z, t * y * y + c, t * y * z - s * x, t * x * z - s * y, t * y * z + s * x, t * z * z + c];
}

/** Apply R to every packed xyz triple of v. */
export function rotateAll(R: number[], v: ArrayLike<number>): Float64Array {
  const o = new Float64Array(v.length);
  for (let j = 0; j < v.length; j += 3) for (let a = 0; a < 3; a++) o[j + a] = R[3 * a] * v[j] + R[3 * a + 1] * v[j + 1] + R[3 * a + 2] * v[j + 2];
  return o;
}

/**
 * n seeded standard normals (Philox, src/gpu/rng.ts): element k from counter (k - k%4, stream, 0, 0).
 * Different `stream`s give independent sequences for the same seed.
 */
export function gaussians(n: number, seed: number, stream: number): Float64Array {
  const out = new Float64Array(n);
  for (let k = 0; k < n; k += 4) {
    const g = normal4([k, stream, 0, 0], seedKey(seed));
    for (let c = 0; c < 4 && k + c < n; c++) out[k + c] = g[c];
  }
  return out;
}

/** count random unit spins (packed xyz): gaussians(3·count, seed, stream) normalised, optionally rounded to f32. */
export function unitSpins(count: number, seed: number, stream: number, f32 = false): Float64Array {
  const s = gaussians(3 * count, seed, stream);
  for (let j = 0; j < count; j++) {
    const n = Math.hypot(s[3 * j], s[3 * j + 1], s[3 * j + 2]);
    for (let k = 0; k < 3; k++) s[3 * j + k] = f32 ? Math.fround(s[3 * j + k] / n) : s[3 * j + k] / n;
  }
  return s;
}
