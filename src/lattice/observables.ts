/**
 * Float64 observables of a spin texture (SPEC §3). Spins are packed xyz triples (length 3N).
 * These are the reference definitions; GPU samplers are tested against them.
 */
import { Lattice } from './lattice.js';

type Spins = ArrayLike<number>;

/** c_i = mean over existing nearest neighbours j of S_i·S_j. */
export function neighbourCorrelation(lat: Lattice, s: Spins): Float64Array {
  const c = new Float64Array(lat.N);
  for (let i = 0; i < lat.N; i++) {
    let acc = 0, n = 0;
    for (let k = 0; k < 4; k++) {
      const j = lat.neighbours[4 * i + k];
      if (j < 0) continue;
      acc += s[3 * i] * s[3 * j] + s[3 * i + 1] * s[3 * j + 1] + s[3 * i + 2] * s[3 * j + 2];
      n++;
    }
    c[i] = n ? acc / n : 0;
  }
  return c;
}

export interface ColumnAverages {
  sx: Float64Array;
  sy: Float64Array;
  sz: Float64Array;
  /** column average of c_i */
  c: Float64Array;
}

export function columnAverages(lat: Lattice, s: Spins): ColumnAverages {
  const { Lx, Ly } = lat;
  const out = { sx: new Float64Array(Lx), sy: new Float64Array(Lx), sz: new Float64Array(Lx), c: new Float64Array(Lx) };
  const ci = neighbourCorrelation(lat, s);
  for (let i = 0; i < lat.N; i++) {
    const x = i % Lx;
    out.sx[x] += s[3 * i] / Ly;
    out.sy[x] += s[3 * i + 1] / Ly;
    out.sz[x] += s[3 * i + 2] / Ly;
    out.c[x] += ci[i] / Ly;
  }
  return out;
}

/**
 * Position of the first zero crossing of a column profile p(x) (linear interpolation between
 * column centres x and x+1). Returns NaN when the profile does not change sign.
 */
export function zeroCrossing(p: ArrayLike<number>): number {
  for (let x = 0; x + 1 < p.length; x++) {
    const a = p[x], b = p[x + 1];
    if (a === 0) return x;
    if ((a < 0 && b > 0) || (a > 0 && b < 0)) return x + a / (a - b);
  }
  return p.length && p[p.length - 1] === 0 ? p.length - 1 : NaN;
}

/**
 * Zero crossing of the front of the domain attached to the right end of a profile: walking from
 * p[L-1] leftwards while p keeps its sign, the first sign change, linearly interpolated (x where
 * the interpolant vanishes). Equal to `zeroCrossing` when the profile changes sign once. For the
 * AFM|FM front grown from the right electrode (column-averaged c_i > 0 in the FM, < 0 in the AFM)
 * it follows that front and ignores domains nucleated elsewhere, e.g. at the left electrode, which
 * make the first crossing jump. NaN when p[L-1] = 0 or p has one sign throughout.
 */
export function rightFrontCrossing(p: ArrayLike<number>): number {
  const L = p.length;
  const sign = L ? Math.sign(p[L - 1]) : 0;
  if (sign === 0) return NaN;
  for (let x = L - 2; x >= 0; x--) {
    const a = p[x], b = p[x + 1];
    if (Math.sign(a) !== sign) return a === 0 ? x : x + a / (a - b);
  }
  return NaN;
}

/**
 * Domain-wall position (SPEC §3): AFM|FM walls from the column-averaged c_i; ferromagnetic walls
 * from the column average of the spin component `component` (0,1,2 = x,y,z).
 */
export function wallPosition(lat: Lattice, s: Spins, kind: 'afm-fm' | 'ferro' = 'afm-fm', component = 2): number {
  const col = columnAverages(lat, s);
  if (kind === 'afm-fm') return zeroCrossing(col.c);
  return zeroCrossing([col.sx, col.sy, col.sz][component]);
}

export function magnetisation(s: Spins): [number, number, number] {
  const n = s.length / 3;
  const m: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < n; i++) for (let a = 0; a < 3; a++) m[a] += s[3 * i + a] / n;
  return m;
}

/** Staggered magnetisation (1/N) Σ (-1)^(x+y) S_i (checkerboard Néel order parameter). */
export function staggeredMagnetisation(lat: Lattice, s: Spins): [number, number, number] {
  const m: [number, number, number] = [0, 0, 0];
  for (let i = 0; i < lat.N; i++) {
    const sg = (lat.xOf(i) + lat.yOf(i)) % 2 === 0 ? 1 : -1;
    for (let a = 0; a < 3; a++) m[a] += (sg * s[3 * i + a]) / lat.N;
  }
  return m;
}
