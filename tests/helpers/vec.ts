/** Small array and rotation helpers shared by the tests (float64, packed xyz triples). */

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
