// MlField (GPU, f32) vs its float64 twin (descriptorF64 → MlpTwin.inputGrad → assemblyForwardF64)
// on small lattices: one chunk and several (padded) chunks, periodic and open y, the authors'
// descriptor (rc = 5, chiralities, column feature), a lattice larger than the training lattice,
// potentials, and the lattice-dependence checks.
//
// Tolerance: max|h_gpu - h_f64| ≤ 1e-4 · max|h_f64|. The twin runs on the same f32-rounded θ and
// spins; f32 error: descriptor ~1e-7/σ_d, MLP input gradient (GEMM depth ≤ 539) ~ sqrt(K)·6e-8
// relative, final gather over ≤ S·(features per slot) ≈ 1200 terms of mixed sign ~ 1e-6 relative;
// 1e-4 leaves ~2 decades of margin, while any indexing error (wrong slot, role or chunk) gives O(1).
// Energies: |ΔE| ≤ 1e-5 · Σ|ε_i| (per-site f32 outputs, f64 sum).
import { describe, it, expect, beforeAll } from 'vitest';
import { getGpu, type GpuContext } from '../src/gpu/index.js';
import { Lattice } from '../src/lattice/lattice.js';
import { descriptorF64, descriptorPreset } from '../src/model/descriptor.js';
import { MlField, mlFieldTwin, mlFieldF64, mlEnergyF64, randomFieldModel, randomUnitSpins, type MlFieldModel } from '../src/model/field.js';
import { storageBuffer } from '../src/gpu/buffers.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await getGpu();
});

function relMax(a: ArrayLike<number>, ref: ArrayLike<number>): number {
  let e = 0, m = 0;
  for (let k = 0; k < ref.length; k++) {
    e = Math.max(e, Math.abs(a[k] - ref[k]));
    m = Math.max(m, Math.abs(ref[k]));
  }
  return e / m;
}

async function compare(model: MlFieldModel, spec: { Lx: number; Ly: number; periodicY: boolean }, maxRows?: number, allowColumnExtrapolation = false) {
  const lat = new Lattice(spec);
  const f = await MlField.create(ctx, model, lat, { maxRows, allowColumnExtrapolation });
  const s = randomUnitSpins(lat.N, 11);
  const h = await f.fieldOf(s);
  const twin = mlFieldTwin(model, lat, { allowColumnExtrapolation });
  const ref = mlFieldF64(twin, s);
  const chunks = f.chunks;
  f.destroy();
  console.log(`${spec.Lx}x${spec.Ly} D=${model.arch.inputDim} ${chunks} chunk(s): max|h - h_f64|/max|h_f64| = ${relMax(h, ref).toExponential(2)}`);
  return { err: relMax(h, ref), chunks, h, ref, s };
}

const small = (over: Partial<Parameters<typeof randomFieldModel>[0]> = {}) =>
  randomFieldModel({ lattice: { Lx: 8, Ly: 6, periodicY: true }, descriptor: descriptorPreset('default'), hidden: [16, 16], ...over });

describe('MlField vs f64 twin', () => {
  it('one chunk, both potentials, periodic y; h ⟂ S', async () => {
    const { err, chunks, h, s } = await compare(small(), { Lx: 8, Ly: 6, periodicY: true });
    expect(chunks).toBe(1);
    expect(err).toBeLessThan(1e-4);
    let dotMax = 0;
    for (let i = 0; i < h.length / 3; i++) dotMax = Math.max(dotMax, Math.abs(h[3 * i] * s[3 * i] + h[3 * i + 1] * s[3 * i + 1] + h[3 * i + 2] * s[3 * i + 2]));
    expect(dotMax).toBeLessThan(1e-5);
  });

  it('several padded chunks on a larger lattice than trained (13x11, 64 rows per chunk), E only and Φ only', async () => {
    for (const [useE, useP] of [[true, false], [false, true]]) {
      const { err, chunks } = await compare(small({ useE, useP }), { Lx: 13, Ly: 11, periodicY: true }, 64);
      expect(chunks).toBe(3);
      expect(err).toBeLessThan(1e-4);
    }
  });

  it('open y (absent neighbours at every edge), chunked', async () => {
    const model = randomFieldModel({ lattice: { Lx: 7, Ly: 5, periodicY: false }, descriptor: descriptorPreset('default'), hidden: [8], activation: 'tanh' });
    const { err, chunks } = await compare(model, { Lx: 9, Ly: 6, periodicY: false }, 20);
    expect(chunks).toBeGreaterThan(1);
    expect(err).toBeLessThan(1e-4);
  });

  it("authors' descriptor (D = 539 on a periodic lattice, column feature), ReLU", async () => {
    const model = randomFieldModel({ lattice: { Lx: 12, Ly: 11, periodicY: true }, descriptor: descriptorPreset('zhang-chern-2022'), hidden: [24], activation: 'relu' });
    expect(model.arch.inputDim).toBe(539);
    const { err } = await compare(model, { Lx: 12, Ly: 11, periodicY: true }, 64);
    expect(err).toBeLessThan(1e-4);
  });

  it('potentials E, Φ match the twin', async () => {
    const model = small();
    const lat = new Lattice({ Lx: 10, Ly: 6, periodicY: true });
    const f = await MlField.create(ctx, model, lat, { maxRows: 32 });
    const s = randomUnitSpins(lat.N, 5);
    const buf = storageBuffer(ctx, s);
    const gpu = await f.energy(buf);
    const twin = mlFieldTwin(model, lat);
    const ref = mlEnergyF64(twin, s);
    const { y } = twin.mlp.forward(descriptorF64(twin.layout, s, twin.norm).G, lat.N);
    let scale = 0;
    for (let i = 0; i < y.length; i++) scale += Math.abs(y[i]);
    expect(Math.abs(gpu.E - ref.E)).toBeLessThan(1e-5 * scale);
    expect(Math.abs(gpu.Phi - ref.Phi)).toBeLessThan(1e-5 * scale);
    buf.destroy();
    f.destroy();
  });
});

describe('MlField lattice checks', () => {
  it('a model trained with periodic y is refused on an open-y lattice (D differs)', async () => {
    await expect(MlField.create(ctx, small(), new Lattice({ Lx: 8, Ly: 6, periodicY: false }))).rejects.toThrow(/^lattice: .*D=/);
  });
  it('a column lead feature is refused on another Lx unless extrapolation is allowed', async () => {
    const model = randomFieldModel({ lattice: { Lx: 6, Ly: 5, periodicY: true }, descriptor: { rc: 1, rp: 1, lead: { kind: 'column' } }, hidden: [4] });
    await expect(MlField.create(ctx, model, new Lattice({ Lx: 9, Ly: 5, periodicY: true }))).rejects.toThrow(/^lattice: .*column/);
    const { err } = await compare(model, { Lx: 9, Ly: 5, periodicY: true }, undefined, true);
    expect(err).toBeLessThan(1e-4);
  });
  it('a neighbourhood beyond the slot kernel (rc 7: 149 slots > 128) is refused naming descriptor.rc', async () => {
    const model = randomFieldModel({ lattice: { Lx: 16, Ly: 16, periodicY: true }, descriptor: { rc: 7, rp: 1, lead: { kind: 'column' } }, hidden: [4] });
    await expect(MlField.create(ctx, model, new Lattice({ Lx: 16, Ly: 16, periodicY: true }))).rejects.toThrow(/^descriptor\.rc: 149 slots/);
  });
});
