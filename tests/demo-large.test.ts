/**
 * `neqspin demo` stage 4 (large lattice, src/demo/large.ts), the PNG writer (src/io/png.ts) and the
 * `zhang-chern-2022` demo preset with the GPU NEGF stage (src/demo/config.ts, run.ts):
 *   - lead awareness on a long lattice: the default descriptor's site features of every site equal
 *     those of some training-lattice site, and bulk sites have the training bulk values;
 *   - the large initial state's geometry (FM site count from the disc lattice-point count);
 *   - sizes from the adapter (≥ 1e5 spins software, ≥ 1e6 hardware), config checks, CLI overrides;
 *   - PNG: decoded pixels, y upwards, magnification and block averaging;
 *   - the preset: 32×24 and the authors' dynamics, c0.dat loaded (its own c column reproduced);
 *   - stage 1 with the GPU NEGF provider (lockstep batch) against the float64 CPU stage.
 */
import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { Lattice } from '../src/lattice/lattice.js';
import { neighbourCorrelation } from '../src/lattice/observables.js';
import { DescriptorLayout, descriptorPreset } from '../src/model/descriptor.js';
import { demoConfig, resolveDemoConfig, type DemoConfig } from '../src/demo/config.js';
import { autoLarge, checkLargeConfig, largeFor, largeInitialState, largeSnapshotSteps, type LargeConfig } from '../src/demo/large.js';
import { demoTrainConfig, initialState, runDemo } from '../src/demo/run.js';
import { encodePng, latticePng } from '../src/io/png.js';
import { parseAuthorsDat } from '../src/io/authors-dat.js';
import { readDataset } from '../src/io/dataset.js';
import { zhangChernReferenceDir } from '../src/io/reference.js';

const root = mkdtempSync(join(tmpdir(), 'neqspin-demo-large-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('large-lattice stage', () => {
  it('lead features on a long lattice are those of the training lattice (bulk = training bulk)', () => {
    const d = descriptorPreset('default');
    if (d.lead.kind !== 'clipped') throw new Error('test assumes the clipped default');
    const K = d.lead.range;
    const key = (L: DescriptorLayout, i: number) => Array.from(L.siteValues.slice(i * L.C, (i + 1) * L.C)).join();
    const train = DescriptorLayout.build(new Lattice({ Lx: 16, Ly: 8, periodicY: true }), d);
    const big = DescriptorLayout.build(new Lattice({ Lx: 100, Ly: 8, periodicY: true }), d);
    const seen = new Set(Array.from({ length: train.N }, (_, i) => key(train, i)));
    const bulk = key(train, 8); // column 8 of 16: ≥ K from both electrodes
    for (let i = 0; i < big.N; i++) {
      expect(seen.has(key(big, i)), `site ${i}`).toBe(true);
      const x = big.lattice.xOf(i);
      if (Math.min(x, 99 - x) >= K) expect(key(big, i)).toBe(bulk);
    }
    expect(bulk).toBe('1,1');
  });

  it('initial state: the right seed columns and the bulk discs are FM, the rest Néel', () => {
    const c: DemoConfig = { ...demoConfig('quick', 0), front: { seedWidth: 4, angle: Math.PI / 2, tilt: 0 } };
    const l: LargeConfig = { Lx: 48, Ly: 32, steps: 1, snapshots: 2, nucleusRadius: 3, nucleusPitch: 16, muIndex: 0 };
    const lat = new Lattice({ Lx: 48, Ly: 32, periodicY: true });
    const s = largeInitialState(c, l, lat, 1);
    let fm = 0;
    for (let i = 0; i < lat.N; i++) {
      const isFm = Math.abs(s[3 * i] - 1) < 1e-12; // FM along x (θ = 90°); Néel along ±z
      if (!isFm) expect(Math.abs(s[3 * i + 2])).toBe(1);
      fm += isFm ? 1 : 0;
    }
    // discs at x = 16, 32 (≤ 48 - 4 - 8) and y = 8, 24: 4 × #{dx² + dy² ≤ 9} lattice points
    let disc = 0;
    for (let dx = -3; dx <= 3; dx++) for (let dy = -3; dy <= 3; dy++) disc += dx * dx + dy * dy <= 9 ? 1 : 0;
    expect(disc).toBe(29);
    expect(fm).toBe(4 * 32 + 4 * disc);
    expect(s[3 * (16 + 48 * 8)]).toBe(1);
    expect(s[3 * (24 + 48 * 16) + 2]).toBe(1); // between the discs: Néel, (-1)^(x+y) = +1
  });

  it('sizes: ≥ 1e5 spins on software adapters, ≥ 1e6 on GPUs; snapshot steps; config checks', () => {
    const sw = autoLarge({ software: true }), hw = autoLarge({ software: false });
    expect(sw.Lx * sw.Ly).toBeGreaterThanOrEqual(1e5);
    expect(hw.Lx * hw.Ly).toBeGreaterThanOrEqual(1e6);
    // ≥ 100× the default training lattice (16×8)
    expect(sw.Lx * sw.Ly).toBeGreaterThanOrEqual(100 * 16 * 8);
    for (const l of [sw, hw]) {
      const st = largeSnapshotSteps(l);
      expect(st[0]).toBe(0);
      expect(st.at(-1)).toBe(l.steps);
      expect(st.length).toBe(l.snapshots);
    }
    expect(() => checkLargeConfig({ ...sw, Lx: 3 })).toThrow(/^large\.Lx/);
    expect(() => checkLargeConfig({ ...sw, nucleusRadius: 40 })).toThrow(/^large\.nucleusRadius/);
    expect(() => largeFor(400, 256, 0)).toThrow(/^large\.steps/);
  });

  it('command-line overrides: --large, --negf-device, --steps; bad values name the flag', () => {
    const c = resolveDemoConfig('default', 0, { large: '2000x50x12', negfDevice: 'gpu', steps: '80' });
    expect([c.large!.Lx, c.large!.Ly, c.large!.steps]).toEqual([2000, 50, 12]);
    expect(c.negfDevice).toBe('gpu');
    expect([c.dataset.steps, c.compare.steps]).toEqual([80, 80]);
    expect(demoConfig('default', 0).negfDevice).toBe('cpu');
    expect(() => resolveDemoConfig('default', 0, { large: '400' })).toThrow(/^--large: /);
    expect(() => resolveDemoConfig('default', 0, { large: '4x256' })).toThrow(/^--large: large\.Lx/);
    expect(() => resolveDemoConfig('default', 0, { negfDevice: 'tpu' })).toThrow(/^--negf-device: /);
    expect(() => resolveDemoConfig('default', 0, { steps: '6' })).toThrow(/^--steps: /);
  });

  it('--every: the training-snapshot interval of long runs; --steps must then fit both intervals', () => {
    const z = resolveDemoConfig('zhang-chern-2022', 0, { steps: '5000', every: '20' });
    expect([z.dataset.every, z.dataset.steps, z.compare.steps, z.compare.sampleEvery]).toEqual([20, 5000, 5000, 4]);
    expect(resolveDemoConfig('zhang-chern-2022', 0, { every: '20' }).dataset.every).toBe(20); // 40 steps
    expect(() => resolveDemoConfig('default', 0, { every: '0' })).toThrow(/^--every: /);
    expect(() => resolveDemoConfig('default', 0, { every: '2.5' })).toThrow(/^--every: /);
    expect(() => resolveDemoConfig('default', 0, { every: '7' })).toThrow(/^--every: 7 does not divide/); // 160 steps
    expect(() => resolveDemoConfig('zhang-chern-2022', 0, { steps: '5000', every: '30' })).toThrow(/^--steps: must be a positive multiple of 60/);
  });

  it('--potentials: E alone (Φ ≡ 0) by default at muL = muR, both on request; bad values name the flag', () => {
    for (const name of ['default', 'quick', 'zhang-chern-2022'] as const) {
      const c = demoConfig(name, 0);
      expect(c.train.potentials).toBe('E');
      expect([demoTrainConfig(c).useE, demoTrainConfig(c).useP]).toEqual([true, false]);
    }
    const two = resolveDemoConfig('default', 0, { potentials: 'two' });
    expect([demoTrainConfig(two).useE, demoTrainConfig(two).useP]).toEqual([true, true]);
    expect(resolveDemoConfig('default', 0, { potentials: 'e' }).train.potentials).toBe('E');
    expect(() => resolveDemoConfig('default', 0, { potentials: 'phi' })).toThrow(/^--potentials: /);
  });
});

describe('PNG lattice maps', () => {
  const decode = (b: Buffer) => PNG.sync.read(b);
  const px = (p: PNG, x: number, y: number) => Array.from(p.data.slice(4 * (y * p.width + x), 4 * (y * p.width + x) + 3));
  const grey = (v: number): [number, number, number] => [Math.round(100 * (v + 1)), 0, 0];

  it('magnifies with y upwards; NaN is grey', () => {
    // 3×2 lattice, values i: site (x, y) → i = x + 3y; maxPixels 6 → 2 pixels per site
    const { png, width, height } = latticePng([0, 0.5, 1, -1, NaN, -0.5], 3, 2, grey, 6);
    expect([width, height]).toEqual([6, 4]);
    const p = decode(png);
    expect([p.width, p.height]).toEqual([6, 4]);
    expect(px(p, 0, 0)).toEqual(grey(-1)); // top-left = site (0, 1)
    expect(px(p, 1, 1)).toEqual(grey(-1));
    expect(px(p, 2, 0)).toEqual([128, 128, 128]); // site (1, 1) NaN
    expect(px(p, 5, 3)).toEqual(grey(1)); // bottom-right = site (2, 0)
  });

  it('averages k×k blocks of lattices larger than maxPixels', () => {
    // 6×2 lattice, maxPixels 3 → blocks of 2×2 → 3×1 image
    const v = [1, 0, -1, -1, 0.5, 0.5, 0, 0, 1, -1, 0.5, -0.5];
    const p = decode(latticePng(v, 6, 2, grey, 3).png);
    expect([p.width, p.height]).toEqual([3, 1]);
    expect(px(p, 0, 0)).toEqual(grey(0.25));
    expect(px(p, 1, 0)).toEqual(grey(-0.5));
    expect(px(p, 2, 0)).toEqual(grey(0.25));
  });

  it('rejects bad sizes naming the field', () => {
    expect(() => encodePng(2, 2, new Uint8Array(11))).toThrow(/^png\.rgb/);
    expect(() => latticePng([1, 2, 3], 2, 2, grey)).toThrow(/^png\.values/);
  });
});

const ref = zhangChernReferenceDir();

describe('demo preset zhang-chern-2022', () => {
  it.skipIf(!ref)("is the full 32×24 set-up with the authors' dynamics, GPU NEGF, from c0.dat", () => {
    const c = demoConfig('zhang-chern-2022', 0);
    expect(c.lattice).toEqual({ Lx: 32, Ly: 24, periodicY: true });
    expect(c.model).toEqual({ t: 1, J: 3.79 });
    expect(c.leads).toEqual({ kind: 'wide-band', gamma: 2 });
    expect(c.dynamics).toEqual({ alpha: 0.55, dt: 0.5, temperature: 0.0025, noise: 'authors' });
    expect(c.temperature).toBe(0.01);
    expect(c.negfDevice).toBe('gpu');
    expect(c.mu.filter((m) => m < -2.94).length).toBeGreaterThanOrEqual(3);
    expect(Math.min(...c.mu)).toBeLessThan(-3.25);
    expect(Math.max(...c.mu)).toBeGreaterThan(-3.25);
    expect(c.initialFile).toMatch(/c0\.dat$/);
  });

  it.skipIf(!ref)("starts from c0.dat: untilted spins reproduce the file's own c column", () => {
    const c = { ...demoConfig('zhang-chern-2022', 0) };
    const lat = new Lattice(c.lattice);
    const s0 = initialState({ ...c, front: { ...c.front, tilt: 0 } }, lat, 1);
    const file = parseAuthorsDat(readFileSync(c.initialFile!, 'utf8'), 32, 24);
    const ci = neighbourCorrelation(lat, s0);
    // c is printed with ≥ 6 significant digits and computed from the printed (|S|-1 ≤ 1e-7) spins
    for (let i = 0; i < lat.N; i++) expect(Math.abs(ci[i] - file.c[i])).toBeLessThan(1e-5);
    for (let i = 0; i < lat.N; i++) expect(Math.abs(Math.hypot(s0[3 * i], s0[3 * i + 1], s0[3 * i + 2]) - 1)).toBeLessThan(1e-14);
    // tilted states differ by trajectory seed
    const a = initialState(c, lat, 1), b = initialState(c, lat, 2);
    expect(a.some((v, k) => Math.abs(v - b[k]) > 1e-3)).toBe(true);
  });
});

describe('stage 1 on the GPU NEGF solver', () => {
  it('lockstep GPU batches give the float64 CPU training data within f32 tolerance', async () => {
    const base = demoConfig('quick', 0);
    const tiny = (negfDevice: 'cpu' | 'gpu'): DemoConfig => ({
      ...base, negfDevice, mu: [-3.5],
      dataset: { trajectories: 1, steps: 6, every: 3 }, compare: { steps: 6, sampleEvery: 3, snapshots: 2, realisations: 1 },
    });
    const data = async (d: 'cpu' | 'gpu') => {
      const out = join(root, `stage1-${d}`);
      expect(await runDemo(out, tiny(d), { quiet: true, haltAfterStage: 1 })).toBeUndefined();
      return readDataset(join(`${out}.partial`, 'data-mu0')).data;
    };
    const cpu = await data('cpu'), gpu = await data('gpu');
    expect(Array.from(gpu.trajectory)).toEqual(Array.from(cpu.trajectory));
    expect(Array.from(gpu.step)).toEqual(Array.from(cpu.step));
    let maxF = 0, maxDiff = 0, maxDs = 0;
    for (let k = 0; k < cpu.fieldPerp.length; k++) {
      maxF = Math.max(maxF, Math.abs(cpu.field[k]));
      maxDiff = Math.max(maxDiff, Math.abs(gpu.field[k] - cpu.field[k]));
      maxDs = Math.max(maxDs, Math.abs(gpu.spins[k] - cpu.spins[k]));
    }
    // f32 GPU solver: ~1e-7 relative per solve (docs/negf.md), then stored as f32; 6 steps feed the
    // difference back through the f64 twin (dt = 0.5, |F| ~ 3). Measured max|ΔF| 2.4e-7 (7e-8 of
    // max|F|), max|ΔS| 9e-8; allowed 1e-5 of max|F| and 1e-5 (a wrong batch order or a missed
    // lockstep step gives O(1e-2) and more)
    expect(maxDiff).toBeLessThan(1e-5 * maxF);
    expect(maxDs).toBeLessThan(1e-5);
    expect(maxDs).toBeGreaterThan(0); // the GPU path really ran
  });
});
