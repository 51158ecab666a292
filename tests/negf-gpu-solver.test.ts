/**
 * GPU NEGF solver (src/negf/gpuSolver.ts) against the float64 adaptive solver (src/negf/solver.ts),
 * plus the invariants the GPU path does not build in (see gpuSolver.ts).
 *
 * Tolerances and why:
 * - field: max|ΔF| <= 1e-4 max|F| and corr(F⊥) >= 0.9999 (the brief's acceptance bound). Expected
 *   error: f32 kernel (~1e-6 relative) + fixed-grid quadrature (2 panels per window sub-interval).
 * - n, m and lead currents: |GPU - f64| <= meta.errorEstimate (the stated bound must hold) and
 *   <= 1e-4 of the scale.
 * - currentL = -currentR and Σ S×F = (I_L^s + I_R^s)/2: both sides come from different kernel
 *   outputs (first/last column bond vs site blocks of every column), so they are checked at the f32
 *   budget meta.roundingBudget (1e-5 of max |n|+|m|).
 * - batch of 3 vs single solves: same kernel work per configuration; only the number of energy
 *   lanes may change the order of the f32 sums: <= 1e-6 relative.
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { getGpu, type GpuContext } from '../src/gpu/index.js';
import { solveNegf, randomSpins, type NegfCase, type NegfResult } from '../src/negf/index.js';
import { GpuNegfSolver, solveNegfGpu, type GpuNegfResult } from '../src/negf/gpuSolver.js';
import { fieldAccuracy } from '../src/bench/negf.js';
import { main } from '../src/cli/main.js';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await getGpu();
});

const maxAbs = (a: number[]) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: number[], b: number[]) => a.reduce((m, v, k) => Math.max(m, Math.abs(v - b[k])), 0);

/** compare one GPU result with the f64 reference; returns the measured numbers for the log */
function compare(label: string, c: NegfCase, g: GpuNegfResult, f: NegfResult) {
  const acc = fieldAccuracy(g.field, f.field, c.spins as number[][]);
  const dn = maxDiff(g.density, f.density);
  const dm = maxDiff(g.spinDensity.flat(), f.spinDensity.flat());
  const gI = [g.currentL, ...g.spinCurrentL, g.currentR, ...g.spinCurrentR];
  const fI = [f.currentL, ...f.spinCurrentL, f.currentR, ...f.spinCurrentR];
  const dI = maxDiff(gI, fI);
  // torque sum rule on the GPU result
  const tau = [0, 1, 2].map((a) => g.torque.reduce((s, t) => s + t[a], 0));
  const rule = maxDiff(tau, [0, 1, 2].map((a) => (g.spinCurrentL[a] + g.spinCurrentR[a]) / 2));
  const cons = Math.abs(g.currentL + g.currentR);
  console.log(
    `${label}: max|ΔF|/max|F| ${acc.relMaxF.toExponential(2)}, corr F⊥ 1-${(1 - acc.corrFperp).toExponential(2)}, ` +
      `max|Δn| ${dn.toExponential(2)}, max|Δm| ${dm.toExponential(2)}, max|ΔI| ${dI.toExponential(2)} (|I| ${maxAbs(fI).toExponential(2)}), ` +
      `|I_L+I_R| ${cons.toExponential(2)}, sum rule ${rule.toExponential(2)}, estimate ${g.meta.errorEstimate.toExponential(2)} ` +
      `(quadrature ${g.meta.quadratureError.toExponential(2)}), bound weight ${g.meta.boundStateWeightInWindow.toExponential(2)}, ${g.meta.energyPoints} pts`,
  );
  expect(acc.relMaxF).toBeLessThanOrEqual(1e-4);
  expect(acc.corrFperp).toBeGreaterThanOrEqual(0.9999);
  const est = g.meta.errorEstimate;
  expect(dn).toBeLessThanOrEqual(est);
  expect(dm).toBeLessThanOrEqual(est);
  expect(dI).toBeLessThanOrEqual(est);
  expect(est).toBeLessThanOrEqual(1e-4);
  expect(cons).toBeLessThanOrEqual(g.meta.roundingBudget);
  expect(rule).toBeLessThanOrEqual(g.meta.roundingBudget);
  expect(g.meta.boundStateInWindow).toBe(f.meta.boundStateInWindow);
}

function spins(N: number, seed: number): number[][] {
  return randomSpins(N, seed);
}

describe('GPU NEGF solver vs float64 solveNegf', () => {
  it('wide-band leads, 4×2 periodic, bias, T > 0', async () => {
    const c: NegfCase = {
      lattice: { Lx: 4, Ly: 2, periodicY: true }, model: { t: 1, J: 1.5 }, leads: { kind: 'wide-band', gamma: 2 },
      muL: 0.4, muR: -0.6, temperature: 0.05, spins: spins(8, 1),
    };
    const [g] = await solveNegfGpu(ctx, c);
    expect(g.meta.device).toMatch(/\S/);
    expect(g.meta.device).not.toBe('cpu-f64');
    compare('4x2 wide-band', c, g, solveNegf(c));
  });

  it('tight-binding leads, 6×3 open, T = 0, onsite potential', async () => {
    const c: NegfCase = {
      lattice: { Lx: 6, Ly: 3, periodicY: false }, model: { t: 1, J: 2, onsite: Array.from({ length: 18 }, (_, i) => 0.2 * Math.sin(i)) },
      leads: { kind: 'tight-binding', tLead: 1.2 }, muL: 0.3, muR: -0.3, temperature: 0, spins: spins(18, 2),
    };
    const [g] = await solveNegfGpu(ctx, c);
    compare('6x3 tight-binding T=0', c, g, solveNegf(c));
  });

  it('equilibrium 8×4: no currents, torques sum to zero', async () => {
    const c: NegfCase = {
      lattice: { Lx: 8, Ly: 4, periodicY: true }, model: { t: 1, J: 3 }, leads: { kind: 'wide-band', gamma: 1 },
      muL: -1, muR: -1, temperature: 0.02, spins: spins(32, 3),
    };
    const [g] = await solveNegfGpu(ctx, c);
    compare('8x4 equilibrium', c, g, solveNegf(c));
    expect(maxAbs([g.currentL, ...g.spinCurrentL, g.currentR, ...g.spinCurrentR])).toBe(0);
  });

  it('a batch of 3 gives the per-configuration results of single solves', async () => {
    const setup = {
      lattice: { Lx: 6, Ly: 2, periodicY: true }, model: { t: 1, J: 1 }, leads: { kind: 'wide-band' as const, gamma: 2 },
      muL: 0.5, muR: -0.5, temperature: 0.1,
    };
    const cfgs = [11, 12, 13].map((s) => spins(12, s));
    const batched = await GpuNegfSolver.create(ctx, setup, { maxBatch: 3 });
    const single = await GpuNegfSolver.create(ctx, setup, { maxBatch: 1 });
    try {
      const rb = await batched.solve(cfgs);
      expect(rb.map((r) => r.meta.batch)).toEqual([3, 3, 3]);
      for (let b = 0; b < 3; b++) {
        const [rs] = await single.solve([cfgs[b]]);
        const F1 = rb[b].field.flat(), F2 = rs.field.flat();
        expect(maxDiff(F1, F2)).toBeLessThanOrEqual(1e-6 * maxAbs(F2));
        expect(maxDiff(rb[b].density, rs.density)).toBeLessThanOrEqual(1e-6);
        expect(Math.abs(rb[b].currentL - rs.currentL)).toBeLessThanOrEqual(1e-6 * Math.abs(rs.currentL));
      }
      // and distinct configurations give distinct fields (the batch index is honoured)
      expect(maxDiff(rb[0].field.flat(), rb[1].field.flat())).toBeGreaterThan(1e-2);
    } finally {
      batched.destroy();
      single.destroy();
    }
  });

  it('bad input names the field', async () => {
    const c: NegfCase = {
      lattice: { Lx: 1, Ly: 2 }, model: { t: 1, J: 1 }, leads: { kind: 'wide-band', gamma: 2 }, muL: 0, muR: 0, temperature: 0, spins: spins(2, 1),
    };
    await expect(solveNegfGpu(ctx, c)).rejects.toThrow(/lattice\.Lx/);
    const setup = { ...c, lattice: { Lx: 3, Ly: 2 } };
    const s = await GpuNegfSolver.create(ctx, setup);
    try {
      const bad = spins(6, 1);
      bad[4] = [1, 0.1, 0];
      await expect(s.solve([spins(6, 2), bad])).rejects.toThrow(/configs\[1\].*spins\[4\]/);
    } finally {
      s.destroy();
    }
  });
});

describe('neqspin negf --device', () => {
  it('gpu writes the SPEC §6 result with the adapter in meta.device; cpu keeps the f64 solver', async () => {
    const root = mkdtempSync(join(tmpdir(), 'neqspin-negf-gpu-'));
    try {
      const c = {
        lattice: { Lx: 4, Ly: 2, periodicY: true }, model: { t: 1, J: 1 }, leads: { kind: 'wide-band', gamma: 2 },
        muL: 0.25, muR: -0.25, temperature: 0.05, spins: spins(8, 5),
      };
      const cfg = join(root, 'case.json');
      writeFileSync(cfg, JSON.stringify(c));
      const out: Record<string, any> = {};
      for (const dev of ['gpu', 'cpu', 'auto']) {
        const o = join(root, `${dev}.json`);
        const origOut = process.stdout.write.bind(process.stdout);
        process.stdout.write = (() => true) as typeof process.stdout.write;
        try {
          expect(await main(['negf', '--config', cfg, '--out', o, '--device', dev])).toBe(0);
        } finally {
          process.stdout.write = origOut;
        }
        out[dev] = JSON.parse(readFileSync(o, 'utf8'));
      }
      expect(out.cpu.meta.device).toBe('cpu-f64');
      expect(out.gpu.meta.device).toBe(out.auto.meta.device);
      expect(out.gpu.meta.device).toMatch(/\(/);
      for (const k of ['density', 'spinDensity', 'field', 'torque', 'fieldPerp', 'currentL', 'currentR', 'spinCurrentL', 'spinCurrentR']) expect(out.gpu).toHaveProperty(k);
      expect(maxDiff(out.gpu.field.flat(), out.cpu.field.flat())).toBeLessThanOrEqual(1e-4 * maxAbs(out.cpu.field.flat()));
      expect(await main(['negf', '--config', cfg, '--out', join(root, 'x.json'), '--device', 'tpu'])).toBe(2);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
