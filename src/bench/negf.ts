/**
 * NEGF benchmark: time per spin configuration of the batched GPU solver (src/negf/gpuSolver.ts),
 * the float64 TypeScript solver (src/negf/solver.ts, adaptive bias window) and the float64 numpy
 * real-axis baseline (scripts/baselines/negf_numpy.py: uniform grid dE = 0.005, η = 1e-5, the way
 * grid methods without a contour work), each with its accuracy against the f64 adaptive solution
 * of the same configuration, so the comparison is at stated accuracy.
 *
 * Case: SPEC §5-like driven AFM metal edge: J = 3.79, wide-band Γ = 2, T = 0.01, muL = -3.0,
 * muR = -3.5 (bias 0.5), deterministic random unit spins.
 *
 * RGF flop count (real flops, complex multiply-add = 8): per energy point evaluated (each once: the
 * K15 and G7 rules of a panel share their nodes) the kernel performs
 * 3Lx - 1 block inversions (Gauss-Jordan, M³ complex multiply-adds each) and 2 block products
 * (M³ each) per sandwich X W X†: 2 per left step if A_L is needed, 2 per right step if A_R is
 * needed, 2 + 2 per Green's-function step; bond traces and accumulations are O(M²) and not counted.
 * Achieved GFLOP/s = counted flops of all evaluated energies / wall time of the batch (upload, kernels,
 * readbacks of every refinement round).
 */
import { findPython } from './python.js';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { GpuContext } from '../gpu/context.js';
import { solveNegf, randomSpins, type NegfCase, type NegfResult } from '../negf/index.js';
import { GpuNegfSolver } from '../negf/gpuSolver.js';
import { RGF_LANE_MAX_M, type RgfEnergies, type RgfKernel } from '../negf/gpuRgf.js';
import type { Roofline } from './roofline.js';
import type { Table } from './report.js';

export interface FieldAccuracy {
  /** Pearson correlation of all components of F⊥ = F - (S·F)S */
  corrFperp: number;
  /** max_i,a |F - F_ref| / max_i,a |F_ref| */
  relMaxF: number;
}

/** Accuracy of a field against a reference for unit spins `spins` (N triples). */
export function fieldAccuracy(field: ArrayLike<number>[], ref: ArrayLike<number>[], spins: ArrayLike<number>[]): FieldAccuracy {
  const a: number[] = [], b: number[] = [];
  let d = 0, m = 0;
  for (let i = 0; i < ref.length; i++) {
    const S = spins[i];
    const perp = (F: ArrayLike<number>) => {
      const s = F[0] * S[0] + F[1] * S[1] + F[2] * S[2];
      return [0, 1, 2].map((k) => F[k] - s * S[k]);
    };
    a.push(...perp(field[i]));
    b.push(...perp(ref[i]));
    for (let k = 0; k < 3; k++) {
      d = Math.max(d, Math.abs(field[i][k] - ref[i][k]));
      m = Math.max(m, Math.abs(ref[i][k]));
    }
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  const ma = mean(a), mb = mean(b);
  let sab = 0, saa = 0, sbb = 0;
  for (let k = 0; k < a.length; k++) {
    sab += (a[k] - ma) * (b[k] - mb);
    saa += (a[k] - ma) ** 2;
    sbb += (b[k] - mb) ** 2;
  }
  return { corrFperp: sab / Math.sqrt(saa * sbb), relMaxF: d / m };
}

/** Counted real flops of one configuration over the energies of one group (see the file comment). */
export function rgfFlops(Lx: number, Ly: number, e: RgfEnergies): number {
  const M = 2 * Ly, blk = 8 * M ** 3;
  let ops = 0;
  for (let k = 0; k < e.wL.length; k++) {
    const nL = e.wL[k] !== 0 ? 1 : 0, nR = e.wR[k] !== 0 ? 1 : 0;
    ops += 3 * Lx - 1 + 2 * nL * Lx + 2 * nR * (Lx - 1) + 2 * (nL + nR) * Lx;
  }
  return ops * blk;
}

const SETUP = { model: { t: 1, J: 3.79 }, leads: { kind: 'wide-band' as const, gamma: 2 }, muL: -3.0, muR: -3.5, temperature: 0.01 };

export function caseOf(Lx: number, Ly: number, seed: number): NegfCase {
  return { lattice: { Lx, Ly, periodicY: true }, ...SETUP, spins: randomSpins(Lx * Ly, seed) };
}

interface GpuTiming { perConfig1: number; perConfig8: number; gflops: number; acc: FieldAccuracy; points: number; estimate: number; kernel: RgfKernel }

/** Batch-8 runs are skipped when 8 × the batch-1 time would exceed this (keeps the full bench < ~8 min on lavapipe). */
const BATCH8_MAX_SECONDS = 60;

async function timeGpu(ctx: GpuContext, Lx: number, Ly: number, ref: F64Ref | null, log: (s: string) => void, kernel?: RgfKernel): Promise<GpuTiming> {
  const rgf = kernel ? { rgf: { kernel } } : {};
  const cases = Array.from({ length: 8 }, (_, b) => caseOf(Lx, Ly, 100 + b));
  const { spins: _s, ...setup } = cases[0];
  // warm-up on a 2-column lattice of the same width: compiles the same pipeline (Lx is a uniform)
  const warm = await GpuNegfSolver.create(ctx, { ...setup, lattice: { Lx: 2, Ly, periodicY: true } }, { maxBatch: 1, ...rgf });
  await warm.solve([randomSpins(2 * Ly, 1)]);
  warm.destroy();
  const one = await GpuNegfSolver.create(ctx, setup, { maxBatch: 1, ...rgf });
  let t0 = performance.now();
  const [r1] = await one.solve([cases[0].spins]);
  const perConfig1 = (performance.now() - t0) / 1000;
  const flops = one.passEnergies().reduce((s, e) => s + rgfFlops(Lx, Ly, e), 0);
  const used = one.kernel;
  one.destroy();
  let perConfig8 = NaN;
  if (8 * perConfig1 <= BATCH8_MAX_SECONDS) {
    const eight = await GpuNegfSolver.create(ctx, setup, { maxBatch: 8, ...rgf });
    t0 = performance.now();
    await eight.solve(cases.map((c) => c.spins));
    perConfig8 = (performance.now() - t0) / 1000 / 8;
    eight.destroy();
  }
  const acc = ref ? fieldAccuracy(r1.field, ref.field, cases[0].spins as number[][]) : { corrFperp: NaN, relMaxF: NaN };
  const best = Number.isFinite(perConfig8) ? perConfig8 : perConfig1;
  const t: GpuTiming = { perConfig1, perConfig8, gflops: flops / best / 1e9, acc, points: r1.meta.energyPoints, estimate: r1.meta.errorEstimate, kernel: used };
  log(`NEGF GPU ${Lx}x${Ly} (${used} kernel): ${perConfig1.toFixed(3)} s/config (batch 1), ${perConfig8.toFixed(3)} s/config (batch 8), ${t.gflops.toFixed(2)} GFLOP/s; ` +
    `${r1.meta.energyPoints} points; ${r1.meta.method.replace(/^.*bias window: /, '')}`);
  return t;
}


/** numpy baseline for one case: seconds and its field, or a note why it was skipped */
function runNumpy(py: string | null, c: NegfCase): { seconds: number; field: number[][]; energies: number } | string {
  if (!py) return 'skipped: no python3 with numpy';
  const { Lx, Ly } = c.lattice;
  const dE = 0.005, eta = 1e-5;
  const K = (c.muL + 10 * Math.max(c.temperature, 1e-3) + 4 + Math.abs(c.model.J) + 10 * 2) / dE;
  const bytes = 2 * Lx * K * (2 * Ly) ** 2 * 16;
  // the sweep holds a few copies of the stacked blocks: run it only where a quarter of the free memory holds one
  if (bytes > os.freemem() / 4) return `skipped: the stacked numpy sweep needs ${(bytes / 1e9).toFixed(0)} GB`;
  const input = JSON.stringify({
    Lx, Ly, periodicY: true, t: c.model.t, J: c.model.J, gamma: 2, muL: c.muL, muR: c.muR, T: c.temperature,
    spins: (c.spins as number[][]).flat(), dE, eta,
  });
  const out = JSON.parse(execFileSync(py, ['scripts/baselines/negf_numpy.py'], { input, maxBuffer: 1 << 28, timeout: 600_000 }).toString());
  const f = out.field as number[];
  return { seconds: out.seconds, energies: out.energies, field: Array.from({ length: Lx * Ly }, (_, i) => f.slice(3 * i, 3 * i + 3)) };
}

/** The subset of an f64 solution the bench uses (field and grid metadata). */
type F64Ref = Pick<NegfResult, 'field'> & { meta: Pick<NegfResult['meta'], 'energyPoints' | 'errorEstimate'> };

/**
 * The f64 TypeScript reference of one case, timed. With NEQSPIN_BENCH_F64_CACHE=<dir> the solution
 * and its time are stored there keyed by the case, and reused by later runs (the f64 solver is
 * deterministic): a GPU re-measurement at 32×24 need not repeat a 400 s single-threaded solve. A
 * reused row says where and when it was timed, so it is never mistaken for a same-run timing.
 */
export function f64Reference(c: NegfCase, log: (s: string) => void): { ref: F64Ref; seconds: number; cached?: string } {
  const dir = process.env.NEQSPIN_BENCH_F64_CACHE;
  const key = createHash('sha256').update(JSON.stringify(c)).digest('hex').slice(0, 16);
  const file = dir ? join(dir, `negf-f64-${c.lattice.Lx}x${c.lattice.Ly}-${key}.json`) : '';
  if (file && existsSync(file)) {
    const k = JSON.parse(readFileSync(file, 'utf8')) as { ref: F64Ref; seconds: number; host: string; date: string };
    log(`NEGF f64 reference from ${file}`);
    return { ref: k.ref, seconds: k.seconds, cached: `timed ${k.date} on ${k.host}, not in this run` };
  }
  const t0 = performance.now();
  const r = solveNegf(c);
  const seconds = (performance.now() - t0) / 1000;
  const ref: F64Ref = { field: r.field, meta: { energyPoints: r.meta.energyPoints, errorEstimate: r.meta.errorEstimate } };
  if (file) {
    mkdirSync(dir!, { recursive: true });
    const host = `${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
    writeFileAtomic(file, JSON.stringify({ ref, seconds, host, date: new Date().toISOString().slice(0, 10) }));
  }
  return { ref, seconds };
}

export async function bench(ctx: GpuContext, roof: Roofline, { quick, log }: { quick: boolean; log: (s: string) => void }): Promise<Table[]> {
  const sizes: [number, number][] = quick ? [[8, 8]] : [[8, 8], [16, 8], [32, 24]];
  const py = findPython('numpy');
  const gpuCache = new Map<string, GpuTiming>();
  const gpu = async (Lx: number, Ly: number, ref: F64Ref | null) => {
    const key = `${Lx}x${Ly}`;
    if (!gpuCache.has(key)) gpuCache.set(key, await timeGpu(ctx, Lx, Ly, ref, log));
    return gpuCache.get(key)!;
  };
  const rows: (string | number)[][] = [];
  const e = (x: number) => (Number.isFinite(x) ? x.toExponential(1) : '–');
  const c6 = (x: number) => (Number.isFinite(x) ? `1 - ${(1 - x).toExponential(1)}` : '–');
  for (const [Lx, Ly] of sizes) {
    const c = caseOf(Lx, Ly, 100);
    const lab = `${Lx}×${Ly}`;
    const { ref, seconds: cpuSeconds, cached } = f64Reference(c, log);
    log(`NEGF f64 TS ${lab}: ${cpuSeconds.toFixed(2)} s${cached ? ` (${cached})` : ''} (${ref.meta.energyPoints} points, estimate ${ref.meta.errorEstimate.toExponential(1)})`);
    const g = await gpu(Lx, Ly, ref);
    rows.push([lab, 'GPU f32 batched (batch 1)', g.points, g.perConfig1, c6(g.acc.corrFperp), e(g.acc.relMaxF), e(g.estimate)]);
    rows.push([lab, 'GPU f32 batched (batch 8)', g.points, Number.isFinite(g.perConfig8) ? g.perConfig8 : `skipped (8 × batch 1 > ${BATCH8_MAX_SECONDS} s)`, '(same)', '(same)', '']);
    rows.push([lab, `f64 TypeScript, adaptive${cached ? ` (${cached})` : ''}`, ref.meta.energyPoints, cpuSeconds, 'reference', 'reference', e(ref.meta.errorEstimate)]);
    const np = runNumpy(py, c);
    if (typeof np === 'string') {
      rows.push([lab, 'numpy f64 uniform grid', '–', np, '–', '–', '']);
    } else {
      const a = fieldAccuracy(np.field, ref.field, c.spins as number[][]);
      log(`NEGF numpy ${lab}: ${np.seconds.toFixed(2)} s (${np.energies} energies)`);
      rows.push([lab, 'numpy f64 uniform grid (dE 0.005, η 1e-5)', np.energies, np.seconds, c6(a.corrFperp), e(a.relMaxF), '']);
    }
  }
  const main: Table = {
    title: 'NEGF steady state: time per configuration at stated accuracy',
    note:
      `Case: J = 3.79, wide-band Γ = 2, T = 0.01, muL = −3.0, muR = −3.5, random spins, periodic y. Accuracy of the field against the ` +
      `f64 adaptive solution of the same configuration (corr F⊥: Pearson over all components; max|ΔF|/max|F|). GPU: contour + adaptive G7K15 bias window ` +
      `(K15 and G7 sums of each panel from the same 15 nodes, bisection to rtol 1e-5 of the output scales, one kernel run and readback per round, ` +
      `src/negf/gpuAdaptive.ts) plus the contour check and bound-state count sets; energy points = distinct energies evaluated; ` +
      `"estimate" is meta.errorEstimate (quadrature K15−G7 + f32 budget). numpy: scripts/baselines/negf_numpy.py, ${py ?? 'not run'}; its error is the cut Lorentzian tails and η.`,
    columns: ['lattice', 'solver', 'energy points', 's / config', 'corr F⊥', 'max|ΔF|/max|F|', 'estimate'],
    rows,
  };
  const scaling: [number, number][] = quick ? [[8, 8]] : [[8, 8], [16, 8], [32, 8], [16, 4], [16, 16]];
  const srows: (string | number)[][] = [];
  const srow = (Lx: number, Ly: number, g: GpuTiming) =>
    [`${Lx}×${Ly}`, Lx, 2 * Ly, g.kernel, g.points, g.perConfig1, Number.isFinite(g.perConfig8) ? g.perConfig8 : 'skipped', g.gflops, `${((100 * g.gflops) / roof.fmaGflops).toFixed(1)}%`];
  for (const [Lx, Ly] of scaling) {
    const g = await gpu(Lx, Ly, null);
    srows.push(srow(Lx, Ly, g));
    // the other sweep kernel side by side where both apply (M <= 16): the default differs by adapter
    if (2 * Ly <= RGF_LANE_MAX_M && (!quick || Lx * Ly <= 64)) {
      const other: RgfKernel = g.kernel === 'lane' ? 'block' : 'lane';
      srows.push(srow(Lx, Ly, await timeGpu(ctx, Lx, Ly, null, log, other)));
    }
  }
  const scale: Table = {
    title: 'NEGF GPU RGF scaling (throughput vs the FMA roof)',
    note:
      `Cost ∝ Lx·M³ per energy (M = 2Ly orbitals per column). GFLOP/s counts 8M³ per block inversion and block product ` +
      `(src/bench/negf.ts) over all passes and the wall time per configuration (batch 8 where run, else batch 1), against the f32 FMA peak ` +
      `measured in this run (${roof.fmaGflops.toFixed(1)} GFLOP/s). Batch 8 is skipped when 8 × the batch-1 time exceeds ${BATCH8_MAX_SECONDS} s. ` +
      `Sweep kernels (src/negf/gpuRgf.ts): block = shaders/negf/rgf.wgsl (a workgroup per energy, barriers between elimination steps), ` +
      `lane = shaders/negf/rgf_lane.wgsl (an invocation per energy, blocks in function memory, M ≤ ${RGF_LANE_MAX_M}); the first row of a lattice uses this adapter's default, ` +
      `the second the other kernel.`,
    columns: ['lattice', 'Lx', 'M', 'kernel', 'energy points', 's / config (batch 1)', 's / config (batch 8)', 'GFLOP/s', 'of FMA peak'],
    rows: srows,
  };
  return [main, scale];
}
