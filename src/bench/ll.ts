/** LL benchmark: fused GPU step vs the plain TypeScript CPU loop of the same step, same run. */
import type { GpuContext } from '../gpu/index.js';
import { Lattice } from '../lattice/lattice.js';
import { LLEngine } from '../dynamics/index.js';
import { CpuMidpoint } from './llCpu.js';
import type { Table } from './report.js';
import type { Roofline } from './roofline.js';

/** Minimal bytes per midpoint spin-step: S in, history in/out, S out (neighbours come from the index). */
export const LL_BYTES_PER_SPIN_STEP = 12 + 12 + 12 + 12;

function initial(N: number): Float64Array {
  const s = new Float64Array(3 * N);
  for (let i = 0; i < N; i++) {
    const th = 0.3 + 0.5 * Math.sin(0.37 * i), ph = 0.11 * i;
    s.set([Math.sin(th) * Math.cos(ph), Math.sin(th) * Math.sin(ph), Math.cos(th)], 3 * i);
  }
  return s;
}

export async function benchLL(ctx: GpuContext, roof: Roofline, sizes: [number, number][], log: (s: string) => void): Promise<Table> {
  const rows: (string | number)[][] = [];
  const params = { alpha: 0.1, dt: 0.05, B: [0, 0, 0.1], K: 0.1, e: [0, 0, 1], JH: 1 };
  for (const [Lx, Ly] of sizes) {
    const lat = new Lattice({ Lx, Ly, periodicY: true });
    const N = lat.N;
    const s0 = initial(N);
    const eng = await LLEngine.create(ctx, lat, { alpha: params.alpha, dt: params.dt, integrator: 'midpoint', B: params.B as [number, number, number], K: params.K, easyAxis: [0, 0, 1], JH: params.JH });
    eng.setSpins(s0);
    await eng.run(4); // warm-up: compile, first submit
    const gpuSteps = Math.max(20, Math.min(4000, Math.round(2e8 / N)));
    // best of 3, the same methodology as the streaming ceiling (best of its repetitions)
    let best = Infinity;
    for (let r = 0; r < 3; r++) {
      const t = performance.now();
      await eng.run(gpuSteps);
      best = Math.min(best, (performance.now() - t) / 1e3);
    }
    const gpuRate = (N * gpuSteps) / best;
    let t0: number;
    // CPU baseline, and a cross-check of the two after the same number of steps
    const cpu = new CpuMidpoint(lat, params, s0);
    const cpuSteps = Math.max(3, Math.min(200, Math.round(5e6 / N)));
    cpu.step(1);
    t0 = performance.now();
    cpu.step(cpuSteps);
    const cpuRate = (N * cpuSteps) / ((performance.now() - t0) / 1e3);
    eng.setSpins(s0);
    await eng.run(cpuSteps + 1);
    const g = await eng.getSpins();
    const c = cpu.spins();
    let d = 0;
    for (let k = 0; k < g.length; k++) d = Math.max(d, Math.abs(g[k] - c[k]));
    eng.destroy();
    const gbs = (gpuRate * LL_BYTES_PER_SPIN_STEP) / 1e9;
    log(`LL ${Lx}x${Ly}: GPU ${gpuRate.toExponential(3)} spin-steps/s, CPU ${cpuRate.toExponential(3)}, max|ΔS| ${d.toExponential(1)}`);
    rows.push([`${Lx}×${Ly}`, N, gpuRate, cpuRate, gpuRate / cpuRate, gbs, `${((100 * gbs) / roof.streamGBs).toFixed(0)}%`, d.toExponential(1)]);
  }
  return {
    title: 'Landau-Lifshitz fused step (midpoint, exchange + anisotropy + Zeeman)',
    note:
      `GPU: \`LLEngine.run\` wall time (many steps per submit, no readback). CPU: plain single-threaded TypeScript loop of the same step (src/bench/llCpu.ts), same run. ` +
      `Effective bandwidth counts ${LL_BYTES_PER_SPIN_STEP} B per spin-step (S in/out, field history in/out; neighbour spins are re-reads served by caches) against the streaming bandwidth measured in this run (${roof.streamGBs.toFixed(1)} GB/s). ` +
      `max|ΔS|: GPU (f32) vs CPU (f64) after the CPU run's step count.`,
    columns: ['lattice', 'spins', 'GPU spin-steps/s', 'CPU spin-steps/s', 'GPU/CPU', 'GPU GB/s', 'of stream', 'max ΔS'],
    rows,
  };
}
