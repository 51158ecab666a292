/**
 * Descriptor (src/model/descriptor.ts, shaders/model/descriptor.wgsl): geometry of the presets,
 * direct evaluation of every feature, Jacobian vs central finite differences, rotation invariance,
 * normalisation, and GPU vs float64 twin.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { getGpu, storageBuffer, readF32, type GpuContext } from '../src/gpu/index.js';
import { normal4, seedKey } from '../src/gpu/rng.js';
import { Lattice } from '../src/lattice/lattice.js';
import {
  DescriptorLayout,
  DESCRIPTOR_PRESETS,
  descriptorPreset,
  descriptorF64,
  computeNormalisation,
  FEAT_DOT,
  FEAT_CHI,
  FEAT_SITE,
  type DescriptorConfig,
} from '../src/model/descriptor.js';
import { DescriptorGpu } from '../src/model/descriptor-gpu.js';
import { rotation, rotateAll } from './helpers/vec.js';

/** B×N random unit spins (Philox normals, normalised), optionally rounded to f32. */
function randomSpins(count: number, seed: number, f32 = false): Float64Array {
  const s = new Float64Array(3 * count);
  for (let j = 0; j < count; j++) {
    const g = normal4([j, 0, 0, 0], seedKey(seed));
    const n = Math.hypot(g[0], g[1], g[2]);
    for (let k = 0; k < 3; k++) s[3 * j + k] = f32 ? Math.fround(g[k] / n) : g[k] / n;
  }
  return s;
}

const axis = (() => {
  const v = [0.3, -0.8, 0.52];
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
})();

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let k = 0; k < a.length; k++) m = Math.max(m, Math.abs(a[k] - b[k]));
  return m;
}

describe('descriptor geometry', () => {
  it('zhang-chern-2022 preset: 80 neighbours in 14 shells, 28 within radius 3, D = 539 on 32×24', () => {
    const lay = DescriptorLayout.build(new Lattice({ Lx: 32, Ly: 24, periodicY: true }), descriptorPreset('zhang-chern-2022'));
    expect(lay.offsets.length).toBe(80);
    expect(lay.shells.length).toBe(14);
    expect(lay.Mp).toBe(28);
    expect(lay.D).toBe(539);
    const kinds = { centre: 0, pair: 0, chi: 0, site: 0 };
    for (let d = 0; d < lay.D; d++) {
      const k = lay.features[4 * d];
      if (k === FEAT_SITE) kinds.site++;
      else if (k === FEAT_CHI) kinds.chi++;
      else if (lay.features[4 * d + 1] === 0) kinds.centre++;
      else kinds.pair++;
    }
    expect(kinds).toEqual({ centre: 80, pair: (28 * 27) / 2, chi: 80, site: 1 });
  });

  it('offsets are sorted by distance, shells are point-group orbits ordered counter-clockwise', () => {
    const { offsets, shells } = DescriptorLayout.build(new Lattice({ Lx: 32, Ly: 24 }), DESCRIPTOR_PRESETS['zhang-chern-2022']);
    for (let k = 1; k < offsets.length; k++) expect(offsets[k].r2).toBeGreaterThanOrEqual(offsets[k - 1].r2);
    const key = (s: number) => {
      const o = offsets[s - 1];
      return `${o.r2}:${[Math.abs(o.dx), Math.abs(o.dy)].sort().join(',')}`;
    };
    const seen = new Set<string>();
    for (const sh of shells) {
      const k = key(sh.slots[0]);
      expect(seen.has(k)).toBe(false);
      seen.add(k);
      for (let m = 0; m < sh.slots.length; m++) {
        expect(key(sh.slots[m])).toBe(k);
        if (m) expect(offsets[sh.slots[m] - 1].angle).toBeGreaterThan(offsets[sh.slots[m - 1] - 1].angle);
      }
    }
    // every square-lattice orbit has 4 or 8 members
    for (const sh of shells) expect([4, 8]).toContain(sh.slots.length);
  });

  it('default preset: 12 + 28 + 12 + 2 features; open y adds the two transverse-edge features', () => {
    const per = DescriptorLayout.build(new Lattice({ Lx: 8, Ly: 6, periodicY: true }), DESCRIPTOR_PRESETS.default);
    expect(per.D).toBe(12 + 28 + 12 + 2);
    const open = DescriptorLayout.build(new Lattice({ Lx: 8, Ly: 6, periodicY: false }), DESCRIPTOR_PRESETS.default);
    expect(open.D).toBe(per.D + 2);
  });

  it('bad configurations throw naming the field', () => {
    const lat = new Lattice({ Lx: 4, Ly: 4 });
    const bad = (c: Partial<DescriptorConfig>) => () => DescriptorLayout.build(lat, { ...DESCRIPTOR_PRESETS.default, ...c } as DescriptorConfig);
    expect(bad({ rc: -1 })).toThrow(/descriptor\.rc/);
    expect(bad({ rp: 3 })).toThrow(/descriptor\.rp/);
    expect(bad({ lead: { kind: 'clipped', range: 0 } })).toThrow(/descriptor\.lead\.range/);
    expect(bad({ lead: { kind: 'nope' } as never })).toThrow(/descriptor\.lead\.kind/);
    expect(() => descriptorPreset('x')).toThrow(/descriptor\.preset/);
    expect(() => descriptorF64(DescriptorLayout.build(lat, DESCRIPTOR_PRESETS.default), new Float64Array(5))).toThrow(/spins/);
  });
});

describe('descriptor values (float64 twin)', () => {
  it('every feature equals its definition evaluated from lattice coordinates (periodic y, open x)', () => {
    const lat = new Lattice({ Lx: 7, Ly: 5, periodicY: true });
    const lay = DescriptorLayout.build(lat, DESCRIPTOR_PRESETS.default);
    const spins = randomSpins(lat.N, 1);
    const { G } = descriptorF64(lay, spins);
    // independent site lookup: open in x, periodic in y
    const site = (x: number, y: number) => (x < 0 || x >= 7 ? -1 : x + 7 * (((y % 5) + 5) % 5));
    const S = (j: number) => [spins[3 * j], spins[3 * j + 1], spins[3 * j + 2]];
    const dot = (a: number[], b: number[]) => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
    const cross = (a: number[], b: number[]) => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
    let checked = 0;
    for (let i = 0; i < lat.N; i++) {
      const x = i % 7, y = Math.floor(i / 7);
      const slotSite = (s: number) => (s === 0 ? i : site(x + lay.offsets[s - 1].dx, y + lay.offsets[s - 1].dy));
      for (let d = 0; d < lay.D; d++) {
        const [kind, a, b, c] = lay.features.slice(4 * d, 4 * d + 4);
        let expected: number;
        if (kind === FEAT_SITE) expected = Math.min(a === 0 ? x : 6 - x, 4) / 4;
        else {
          const js = (kind === FEAT_DOT ? [a, b] : [a, b, c]).map(slotSite);
          if (js.some((j) => j < 0)) expected = 0;
          else expected = kind === FEAT_DOT ? dot(S(js[0]), S(js[1])) : dot(S(js[0]), cross(S(js[1]), S(js[2])));
        }
        expect(Math.abs(G[i * lay.D + d] - expected)).toBeLessThan(1e-15);
        checked++;
      }
    }
    expect(checked).toBe(lat.N * lay.D);
  });

  it('nearest-neighbour chirality is counter-clockwise: z · (x̂ × ŷ) = +1 for S_c = ẑ, S_(1,0) = x̂, S_(0,1) = ŷ', () => {
    const lat = new Lattice({ Lx: 3, Ly: 3, periodicY: true });
    const lay = DescriptorLayout.build(lat, DESCRIPTOR_PRESETS.default);
    const spins = new Float64Array(3 * lat.N);
    spins.set([0, 0, 1], 3 * 4); // centre (1,1)
    spins.set([1, 0, 0], 3 * 5); // (2,1)
    spins.set([0, 1, 0], 3 * 7); // (1,2)
    const d = lay.labels.indexOf('S_c·(S_(1,0)×S_(0,1))');
    expect(d).toBeGreaterThanOrEqual(0);
    expect(descriptorF64(lay, spins).G[4 * lay.D + d]).toBe(1);
  });

  it('ferromagnet: all existing bonds are 1, all chiralities 0; bonds beyond the open ends are 0', () => {
    const lat = new Lattice({ Lx: 6, Ly: 4, periodicY: true });
    const lay = DescriptorLayout.build(lat, DESCRIPTOR_PRESETS.default);
    const spins = new Float64Array(3 * lat.N);
    for (let j = 0; j < lat.N; j++) spins.set([0.6, 0, 0.8], 3 * j);
    const { G } = descriptorF64(lay, spins);
    for (let i = 0; i < lat.N; i++) {
      const x = lat.xOf(i);
      for (let d = 0; d < lay.D; d++) {
        const [kind, a, b] = lay.features.slice(4 * d, 4 * d + 3);
        if (kind === FEAT_SITE) continue;
        const ok = (s: number) => s === 0 || (x + lay.offsets[s - 1].dx >= 0 && x + lay.offsets[s - 1].dx < 6);
        const exists = ok(a) && ok(b) && (kind === FEAT_DOT || ok(lay.features[4 * d + 3]));
        expect(G[i * lay.D + d]).toBeCloseTo(kind === FEAT_DOT && exists ? 1 : 0, 14);
      }
    }
  });
});

describe('descriptor Jacobian and invariance (float64 twin)', () => {
  /**
   * Directional derivative of every G_id along a tangent rotation of spin j, by central finite
   * differences of S_j(ε) = cos ε S_j + sin ε t (t ⊥ S_j unit), vs Σ_r dG[i][d][r]·t over the roles
   * that are spin j. ε = 1e-4: truncation error ~ ε²/6 · |G'''| ≲ 2e-9; tolerance 1e-7.
   */
  function checkJacobian(lat: Lattice, cfg: DescriptorConfig, sitesToPerturb: number[], normalised: boolean): number {
    const lay = DescriptorLayout.build(lat, cfg);
    const spins = randomSpins(lat.N, 7);
    const norm = normalised ? computeNormalisation(descriptorF64(lay, spins).G, lay.D) : undefined;
    const { dG } = descriptorF64(lay, spins, norm);
    const eps = 1e-4;
    let worst = 0;
    for (const j of sitesToPerturb) {
      const s = [spins[3 * j], spins[3 * j + 1], spins[3 * j + 2]];
      // two tangent directions
      const helper = Math.abs(s[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
      const t1 = [s[1] * helper[2] - s[2] * helper[1], s[2] * helper[0] - s[0] * helper[2], s[0] * helper[1] - s[1] * helper[0]];
      const n1 = Math.hypot(...t1);
      const u = t1.map((x) => x / n1);
      const v = [s[1] * u[2] - s[2] * u[1], s[2] * u[0] - s[0] * u[2], s[0] * u[1] - s[1] * u[0]];
      for (const t of [u, v]) {
        const at = (e: number) => {
          const p = spins.slice();
          for (let k = 0; k < 3; k++) p[3 * j + k] = Math.cos(e) * s[k] + Math.sin(e) * t[k];
          return descriptorF64(lay, p, norm).G;
        };
        const gp = at(eps), gm = at(-eps);
        for (let i = 0; i < lat.N; i++) {
          for (let d = 0; d < lay.D; d++) {
            let an = 0;
            for (let r = 0; r < lay.arity(d); r++) {
              if (lay.nbr[i * lay.S + lay.features[4 * d + 1 + r]] !== j) continue;
              const o = 9 * (i * lay.D + d) + 3 * r;
              an += dG[o] * t[0] + dG[o + 1] * t[1] + dG[o + 2] * t[2];
            }
            const fd = (gp[i * lay.D + d] - gm[i * lay.D + d]) / (2 * eps);
            worst = Math.max(worst, Math.abs(fd - an));
          }
        }
      }
    }
    return worst;
  }

  it('default preset, open y (edges in both directions), normalised: all features of all sites', () => {
    const lat = new Lattice({ Lx: 6, Ly: 5, periodicY: false });
    const err = checkJacobian(lat, DESCRIPTOR_PRESETS.default, [...Array(lat.N).keys()], true);
    expect(err).toBeLessThan(1e-7);
  });

  it('narrow periodic lattice (Ly = 3: slots repeat sites and the centre itself)', () => {
    const lat = new Lattice({ Lx: 5, Ly: 3, periodicY: true });
    expect(checkJacobian(lat, { rc: 3, rp: 2, lead: { kind: 'onehot', range: 2 } }, [0, 6, 7, 14], false)).toBeLessThan(1e-7);
  });

  it('zhang-chern-2022 preset (bonds to radius 5, 378 pair bonds, 80 chiralities)', () => {
    const lat = new Lattice({ Lx: 12, Ly: 11, periodicY: true });
    expect(checkJacobian(lat, DESCRIPTOR_PRESETS['zhang-chern-2022'], [0, 40, 65, 131], false)).toBeLessThan(1e-7);
  });

  it('G is invariant under a global spin rotation (to f64 rounding)', () => {
    const lat = new Lattice({ Lx: 12, Ly: 11, periodicY: true });
    const lay = DescriptorLayout.build(lat, DESCRIPTOR_PRESETS['zhang-chern-2022']);
    const spins = randomSpins(lat.N, 3);
    const g0 = descriptorF64(lay, spins).G;
    const g1 = descriptorF64(lay, rotateAll(rotation(axis, 2.1), spins)).G;
    expect(maxAbsDiff(g0, g1)).toBeLessThan(1e-14);
  });
});

describe('normalisation', () => {
  it('normalised features have zero mean and unit std over the data set; constant features are only centred', () => {
    const lat = new Lattice({ Lx: 6, Ly: 4, periodicY: true });
    const lay = DescriptorLayout.build(lat, DESCRIPTOR_PRESETS.default);
    const raw: number[] = [];
    for (let c = 0; c < 4; c++) raw.push(...descriptorF64(lay, randomSpins(lat.N, 10 + c)).G);
    const norm = computeNormalisation(raw, lay.D);
    const rows = raw.length / lay.D;
    for (let d = 0; d < lay.D; d++) {
      let m = 0, v = 0;
      for (let r = 0; r < rows; r++) m += (raw[r * lay.D + d] - norm.mean[d]) / norm.std[d];
      for (let r = 0; r < rows; r++) v += ((raw[r * lay.D + d] - norm.mean[d]) / norm.std[d]) ** 2;
      expect(Math.abs(m / rows)).toBeLessThan(1e-12);
      const constant = raw.every((_, k) => k % lay.D !== d || raw[k] === raw[d]);
      expect(v / rows).toBeCloseTo(constant ? 0 : 1, 10);
    }
    expect(() => computeNormalisation([1, 2, 3], 2)).toThrow(/normalisation\.G/);
    expect(() => descriptorF64(lay, randomSpins(lat.N, 1), { mean: norm.mean, std: new Float64Array(lay.D) })).toThrow(/normalisation\.std\[0\]/);
  });
});

describe('descriptor on the GPU vs float64 twin', () => {
  let ctx: GpuContext;
  beforeAll(async () => {
    ctx = await getGpu();
  });

  /**
   * Tolerances: the twin runs on the same f32-rounded spins, so the difference is kernel f32
   * arithmetic only: a dot/triple product of unit vectors has error ≤ ~6 ulp(1) ≈ 4e-7; times 1/std
   * when normalised. We allow 2e-6 · max(1, 1/std_d) (5× margin) for both G and dG.
   */
  async function compare(lat: Lattice, cfg: DescriptorConfig, B: number, normalised: boolean, rot?: number[]) {
    const lay = DescriptorLayout.build(lat, cfg);
    const gpu = await DescriptorGpu.create(ctx, lat, lay);
    const spins = randomSpins(B * lat.N, 21, true);
    const cfgSpins = (b: number) => spins.subarray(3 * b * lat.N, 3 * (b + 1) * lat.N);
    const norm = normalised ? computeNormalisation(descriptorF64(lay, cfgSpins(0)).G, lay.D) : undefined;
    if (norm) gpu.setNormalisation(norm);
    const input = rot ? Float32Array.from(rotateAll(rot, spins)) : Float32Array.from(spins);
    const buf = storageBuffer(ctx, input);
    const out = gpu.compute(buf, B);
    const G = await readF32(ctx, out.G, B * lat.N * lay.D);
    const dG = await readF32(ctx, out.dG, 9 * B * lat.N * lay.D);
    let errG = 0, errJ = 0;
    for (let b = 0; b < B; b++) {
      const ref = descriptorF64(lay, cfgSpins(b), norm);
      for (let t = 0; t < lat.N * lay.D; t++) {
        const scale = Math.max(1, norm ? 1 / norm.std[t % lay.D] : 1);
        errG = Math.max(errG, Math.abs(G[b * lat.N * lay.D + t] - ref.G[t]) / scale);
        if (!rot) for (let k = 0; k < 9; k++) errJ = Math.max(errJ, Math.abs(dG[9 * (b * lat.N * lay.D + t) + k] - ref.dG[9 * t + k]) / scale);
      }
    }
    buf.destroy();
    return { errG, errJ };
  }

  it('default preset, B = 3, normalised: G and dG', async () => {
    const { errG, errJ } = await compare(new Lattice({ Lx: 7, Ly: 5, periodicY: true }), DESCRIPTOR_PRESETS.default, 3, true);
    expect(errG).toBeLessThan(2e-6);
    expect(errJ).toBeLessThan(2e-6);
  });

  it('zhang-chern-2022 preset (D = 539), B = 1, raw features', async () => {
    const { errG, errJ } = await compare(new Lattice({ Lx: 12, Ly: 11, periodicY: true }), DESCRIPTOR_PRESETS['zhang-chern-2022'], 1, false);
    expect(errG).toBeLessThan(2e-6);
    expect(errJ).toBeLessThan(2e-6);
  });

  it('rotation invariance on the GPU: G of rotated spins equals the twin G of the original ones', async () => {
    // extra error: rotating in f64 then rounding moves each spin component by ≤ 6e-8
    const { errG } = await compare(new Lattice({ Lx: 7, Ly: 5, periodicY: false }), DESCRIPTOR_PRESETS.default, 2, false, rotation(axis, 1.3));
    expect(errG).toBeLessThan(2e-6);
  });
});
