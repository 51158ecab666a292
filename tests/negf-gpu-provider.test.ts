/**
 * GPU NEGF field provider vs the float64 CPU provider on the same fixed grid (provider.ts).
 * Tolerance: max|ΔF| ≤ 1e-4·max|F| (the SPEC-level GPU/f64 bound; measured ~1e-7 for the solver),
 * corr(F⊥) ≥ 0.9999; a batch gives the same fields as single calls (1e-6 relative: same kernels,
 * only the batch slot differs).
 */
import { describe, it, expect, beforeAll } from 'vitest';
import { getGpu, type GpuContext } from '../src/gpu/index.js';
import { CpuNegfProvider, type NegfSetup } from '../src/negf/provider.js';
import { GpuNegfProvider } from '../src/negf/gpuProvider.js';
import { randomSpins } from '../src/negf/index.js';
import { fieldAccuracy } from '../src/bench/negf.js';

let ctx: GpuContext;
beforeAll(async () => {
  ctx = await getGpu();
});

const toRows = (a: Float64Array) => Array.from({ length: a.length / 3 }, (_, i) => [a[3 * i], a[3 * i + 1], a[3 * i + 2]]);

describe('GpuNegfProvider', () => {
  for (const [name, muL, muR] of [['equilibrium', -3.25, -3.25], ['bias', -3.0, -3.5]] as const) {
    it(`matches the f64 provider (${name}), single and batched`, async () => {
      const setup: NegfSetup = {
        lattice: { Lx: 6, Ly: 4, periodicY: true }, model: { t: 1, J: 3.79 }, leads: { kind: 'wide-band', gamma: 2 },
        muL, muR, temperature: 0.01,
      };
      const cpu = new CpuNegfProvider(setup);
      const gpu = await GpuNegfProvider.create(ctx, setup);
      const configs = [randomSpins(24, 3), randomSpins(24, 4)].map((r) => Float64Array.from(r.flat()));
      const batch = await gpu.fieldsBatch(configs);
      for (let b = 0; b < 2; b++) {
        const ref = await cpu.fields(configs[b]);
        const one = await gpu.fields(configs[b]);
        const spins = toRows(configs[b]);
        const acc = fieldAccuracy(toRows(one.F), toRows(ref.F), spins);
        expect(acc.relMaxF).toBeLessThan(1e-4);
        expect(acc.corrFperp).toBeGreaterThan(0.9999);
        const scale = Math.max(...one.F.map(Math.abs));
        for (let k = 0; k < one.F.length; k++) expect(Math.abs(batch[b].F[k] - one.F[k])).toBeLessThan(1e-6 * scale);
        expect(one.meta.device).not.toBe('cpu-f64');
      }
      gpu.destroy();
    });
  }
});
