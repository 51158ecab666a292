import { describe, it, expect } from 'vitest';
import { Lattice } from '../src/lattice/lattice.js';
import { neighbourCorrelation, staggeredMagnetisation, wallPosition, magnetisation, zeroCrossing, rightFrontCrossing, columnAverages } from '../src/lattice/observables.js';
import { uniform, neel, random, domainWall, afmFmFront, makeTexture, type TextureSpec } from '../src/lattice/textures.js';

const lat = new Lattice({ Lx: 32, Ly: 6, periodicY: true });

function maxNormError(s: Float64Array): number {
  let e = 0;
  for (let i = 0; i < s.length / 3; i++) e = Math.max(e, Math.abs(Math.hypot(s[3 * i], s[3 * i + 1], s[3 * i + 2]) - 1));
  return e;
}

describe('textures', () => {
  const specs: TextureSpec[] = [
    { kind: 'uniform', dir: [1, 2, 3] },
    { kind: 'neel', axis: [0, 1, 1] },
    { kind: 'random', seed: 7 },
    { kind: 'neel-wall', x0: 12.3, width: 2 },
    { kind: 'bloch-wall', x0: 20, width: 1.5, chirality: -1 },
    { kind: 'afm-fm', seedWidth: 3, tilt: 0.1, seed: 3 },
  ];
  for (const spec of specs) {
    it(`${spec.kind}: unit vectors (|S|-1 < 1e-15, f64 rounding)`, () => {
      const s = makeTexture(lat, spec);
      expect(s.length).toBe(3 * lat.N);
      expect(maxNormError(s)).toBeLessThan(1e-15);
    });
  }

  it('uniform points along the normalised direction', () => {
    const m = magnetisation(uniform(lat, [0, 3, 4]));
    expect(m[1]).toBeCloseTo(0.6, 14);
    expect(m[2]).toBeCloseTo(0.8, 14);
  });

  it('Néel: staggered magnetisation = 1 along the axis, net magnetisation 0, c_i = -1', () => {
    const s = neel(lat, [1, 0, 0]);
    const ms = staggeredMagnetisation(lat, s);
    expect(ms[0]).toBeCloseTo(1, 14);
    expect(Math.hypot(...magnetisation(s))).toBeLessThan(1e-14);
    for (const c of neighbourCorrelation(lat, s)) expect(c).toBeCloseTo(-1, 14);
    expect(s[2]).toBe(0); // site (0,0) along +axis
    expect(s[0]).toBe(1);
  });

  it('random: deterministic per seed, isotropic within statistical error', () => {
    const big = new Lattice({ Lx: 64, Ly: 64 });
    const a = random(big, 11);
    expect(random(big, 11)).toEqual(a);
    expect(random(big, 12)).not.toEqual(a);
    // |m| of N independent isotropic unit vectors has rms 1/sqrt(N): allow 4 sigma
    expect(Math.hypot(...magnetisation(a))).toBeLessThan(4 / Math.sqrt(big.N));
    // <S_z^2> = 1/3 with std sqrt(4/45/N)
    let z2 = 0;
    for (let i = 0; i < big.N; i++) z2 += a[3 * i + 2] ** 2 / big.N;
    expect(Math.abs(z2 - 1 / 3)).toBeLessThan(4 * Math.sqrt(4 / 45 / big.N));
  });

  // S_z = -tanh((x-x0)/Δ): linear interpolation between the two columns around x0 misplaces the
  // zero through the tanh curvature; for Δ = 2 the worst case over all x0 offsets is 7.8e-3
  // (scanned with numpy), exact for x0 on a column or midway between columns.
  const WALL_TOL = 0.01;
  for (const type of ['neel', 'bloch'] as const) {
    for (const x0 of [8, 12.3, 20.75]) {
      it(`${type} wall at x0 = ${x0}: wallPosition within ${WALL_TOL}, rotation plane and chirality`, () => {
        for (const chirality of [1, -1] as const) {
          const s = domainWall(lat, type, { x0, width: 2, chirality });
          expect(Math.abs(wallPosition(lat, s, 'ferro', 2) - x0)).toBeLessThan(WALL_TOL);
          const inPlane = type === 'neel' ? 0 : 1;
          const outOfPlane = 1 - inPlane;
          const xc = Math.round(x0);
          for (let i = 0; i < lat.N; i++) expect(s[3 * i + outOfPlane]).toBe(0);
          const i = lat.index(xc, 2);
          expect(Math.sign(s[3 * i + inPlane])).toBe(chirality);
          // far left +z, far right -z
          expect(s[3 * lat.index(0, 0) + 2]).toBeGreaterThan(0.9);
          expect(s[3 * lat.index(31, 0) + 2]).toBeLessThan(-0.9);
        }
      });
    }
  }

  it('AFM|FM front: c-wall exactly at the seed boundary Lx - w - 1/2', () => {
    for (const w of [2, 3, 5]) {
      const s = afmFmFront(lat, { seedWidth: w });
      // boundary columns have c = -3/4 (AFM side) and +3/4 (FM side), so the crossing is the midpoint
      expect(wallPosition(lat, s, 'afm-fm')).toBeCloseTo(lat.Lx - w - 0.5, 12);
      for (let y = 0; y < lat.Ly; y++) for (let x = lat.Lx - w; x < lat.Lx; x++) expect(s[3 * lat.index(x, y) + 2]).toBe(1);
    }
  });

  it('AFM|FM front, one-column seed: the edge column has 3 neighbours, c = 2/3', () => {
    const s = afmFmFront(lat, { seedWidth: 1 });
    const x = lat.Lx - 2 + 0.75 / (0.75 + 2 / 3);
    expect(wallPosition(lat, s, 'afm-fm')).toBeCloseTo(x, 12);
  });

  it('AFM|FM front with tilt: reproducible, wall within 0.25 of the boundary for tilt 0.05', () => {
    const s = afmFmFront(lat, { seedWidth: 3, tilt: 0.05, seed: 5 });
    expect(afmFmFront(lat, { seedWidth: 3, tilt: 0.05, seed: 5 })).toEqual(s);
    // a tilt of 0.05 rad changes S_i·S_j by O(tilt^2) ~ 5e-3, shifting a crossing with slope 1.5/column by << 0.25
    expect(Math.abs(wallPosition(lat, s, 'afm-fm') - (lat.Lx - 3.5))).toBeLessThan(0.25);
  });

  it('rejects bad parameters with the field name', () => {
    expect(() => uniform(lat, [0, 0, 0])).toThrow(/^dir:/);
    expect(() => domainWall(lat, 'neel', { width: 0 })).toThrow(/^width:/);
    expect(() => afmFmFront(lat, { seedWidth: 40 })).toThrow(/^seedWidth:/);
  });
});

describe('rightFrontCrossing (front attached to the right end)', () => {
  it('equals zeroCrossing for a single sign change', () => {
    for (const x0 of [0.3, 2.5, 6.75, 10.1]) {
      const p = Array.from({ length: 12 }, (_, x) => Math.tanh(x - x0));
      expect(rightFrontCrossing(p)).toBeCloseTo(zeroCrossing(p), 14);
      expect(rightFrontCrossing(p)).toBeCloseTo(x0, 1);
    }
  });

  it('follows the AFM|FM front from the right electrode when FM nucleates at the left one', () => {
    const lat = new Lattice({ Lx: 16, Ly: 4, periodicY: true });
    const s = afmFmFront(lat, { seedWidth: 6 }); // FM in the right 6 columns: front at x = 9.5
    for (let i = 0; i < lat.N; i++) if (lat.xOf(i) < 2) s.set([0, 0, 1], 3 * i); // a left FM nucleus
    const c = columnAverages(lat, s).c;
    expect(zeroCrossing(c)).toBeLessThan(2.5); // the first crossing is the nucleus' edge
    expect(rightFrontCrossing(c)).toBeCloseTo(9.5, 12);
  });

  it('NaN without a front', () => {
    expect(rightFrontCrossing([1, 1, 1])).toBeNaN();
    expect(rightFrontCrossing([-1, 1, 0])).toBeNaN();
    expect(rightFrontCrossing([])).toBeNaN();
  });
});
