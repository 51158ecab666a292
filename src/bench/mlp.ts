/**
 * ML force-model benchmark, same run, side by side:
 *   (a) field evaluation h = -(∂E/∂S)⊥ - S × ∂Φ/∂S in site evaluations/s: GPU MlField (descriptor +
 *       MLP input gradient + assembly, one configuration, many evaluations per submit), the float64
 *       TypeScript twin, PyTorch CPU on the FULL field from the spins (scripts/baselines/field_torch.py:
 *       neighbour gather, descriptor, normalisation, MLP, autograd gradient of E and Φ w.r.t. the spins,
 *       assembly; float32, 2 threads; GPU/torch uses this number) and PyTorch on the MLP only (forward +
 *       input gradient with create_graph on random inputs of the same D: scripts/baselines/mlp_torch.py);
 *   (b) training in site-samples/s of one full step: GPU Trainer.step (descriptor → input grad →
 *       assembly → loss → transpose → double backward → Adam, one submit), the f64 twin, PyTorch full
 *       step (field_torch.py: h with create_graph, force loss against random targets, double backprop,
 *       Adam) and PyTorch MLP only (input gradient with create_graph, force-type MSE, double backprop,
 *       Adam);
 *   (c) ML-driven LL (MlDrivenLL: field recomputed on the GPU every step) in spin-steps/s on large
 *       lattices;
 *   (d) raw MLP GEMM throughput per GEMM variant (src/model/mlp.ts): a 1024→1024 layer on M rows
 *       (65536 on GPUs), forward (1 GEMM) and input gradient (forward + 2-stack backward).
 * Nets: the small default (descriptor preset `default`, D = 54, hidden [32, 32], SiLU) and the
 * authors' (preset zhang-chern-2022, 539-1024-512-256-128-64-2, ReLU). Weights are random (cost does
 * not depend on training). The f64 twin rate is the sum of its measured stage costs per site:
 * descriptorF64 + assemblyForwardF64 (+ assemblyTransposeF64) on a small lattice, MlpTwin.inputGrad
 * (+ doubleBackward) on a few rows (the authors' net in f64 JS is too slow for whole lattices).
 * The PyTorch full-field runs use the GPU's lattice and batch up to `Net.torchSites` sites (on
 * software adapters always the same; GPU lattices are larger), and agree with the f64 twin to
 * ~1e-15 in float64 (`torchField` in check mode, tests/bench-torch-field.test.ts).
 */
import { findPython } from './python.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy, writeNpy } from '../io/npy.js';
import { submit, sync, storageBuffer, type GpuContext } from '../gpu/index.js';
import { Lattice } from '../lattice/lattice.js';
import { DescriptorLayout, descriptorF64, descriptorPreset, type DescriptorConfig } from '../model/descriptor.js';
import { assemblyForwardF64, assemblyTransposeF64 } from '../model/assembly.js';
import { MlField, mlFieldTwin, randomFieldModel, randomUnitSpins, type MlFieldModel } from '../model/field.js';
import { Trainer } from '../model/train.js';
import { MlpGpu, resolveGemm, type GemmVariant } from '../model/mlp.js';
import { MlDrivenLL } from '../dynamics/mlDriven.js';
import { paramEntries, type Activation } from '../model/weights.js';
import type { Roofline } from './roofline.js';
import type { Table } from './report.js';

interface Net {
  name: string;
  descriptor: DescriptorConfig;
  hidden: number[];
  activation: Activation;
  /** training lattice (the authors' column feature ties the model to it) */
  lattice: { Lx: number; Ly: number; periodicY: boolean };
  /** most sites (field) or site-samples (training step) of one PyTorch full-field call */
  torchSites: number;
}

const NETS: Net[] = [
  { name: 'small (D=54, 32-32, SiLU)', descriptor: descriptorPreset('default'), hidden: [32, 32], activation: 'silu', lattice: { Lx: 32, Ly: 24, periodicY: true }, torchSites: 65536 },
  { name: "authors' (539-1024-512-256-128-64-2, ReLU)", descriptor: descriptorPreset('zhang-chern-2022'), hidden: [1024, 512, 256, 128, 64], activation: 'relu', lattice: { Lx: 32, Ly: 24, periodicY: true }, torchSites: 4096 },
];

/** Seconds per call of f: best of `reps` after one warm-up. */
async function best(f: () => unknown | Promise<unknown>, reps: number): Promise<number> {
  await f();
  let t = Infinity;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    await f();
    t = Math.min(t, (performance.now() - t0) / 1e3);
  }
  return t;
}

/** Multiply-adds of one MLP forward per row. */
function macs(D: number, hidden: number[]): number {
  const w = [D, ...hidden, 2];
  let s = 0;
  for (let l = 1; l < w.length; l++) s += w[l - 1] * w[l];
  return s;
}

interface TorchRates {
  field: number;
  train: number;
  version: string;
}

/** PyTorch MLP-only rates (scripts/baselines/mlp_torch.py) on `rows` random inputs of length D. */
function torchMlpRates(D: number, net: Net, rows: number, log: (s: string) => void): TorchRates | string {
  try {
    const cfg = JSON.stringify({ D, hidden: net.hidden, act: net.activation, rows, reps: 3, threads: 2 });
    const py = findPython('torch');
    if (!py) return 'skipped: no python3 with torch';
    const out = JSON.parse(execFileSync(py, ['scripts/baselines/mlp_torch.py', cfg], { timeout: 300_000 }).toString().trim().split('\n').pop()!);
    if (out.error) return `skipped: ${out.error}`;
    return { field: out.field_rows_per_s, train: out.train_rows_per_s, version: out.torch };
  } catch (e) {
    log(`torch baseline failed: ${(e as Error).message.split('\n')[0]}`);
    return 'skipped: torch baseline failed';
  }
}

/** Modes of scripts/baselines/field_torch.py: f64 h (check), timed f32 inference (field), timed training step (train). */
export type TorchFieldMode = 'check' | 'field' | 'train';

export interface TorchFieldResult {
  /** PyTorch version and threads reported by the script */
  torch: string;
  threads: number;
  /** B·N */
  sites: number;
  /** field, train: best seconds per call and sites (site-samples) per second */
  seconds?: number;
  rate?: number;
  /** check: h (B×N×3, float64) */
  h?: Float64Array;
}

/**
 * Run the PyTorch full-field baseline (scripts/baselines/field_torch.py) with interpreter `python`
 * on `model` evaluated on `lattice`, for the B configurations in `spins` (B×N×3): the descriptor
 * layout (neighbour table, feature table, site values), the normalisation and the weights
 * (`layers.{l}.weight|bias`) are written as float64/int32 .npy into a temporary folder, removed
 * afterwards. A `column` lead feature is evaluated on any lattice (as the bench's GPU rows do).
 */
export function torchField(
  python: string,
  model: MlFieldModel,
  lattice: Lattice,
  spins: ArrayLike<number>,
  mode: TorchFieldMode,
  { reps = 3, threads = 2, timeoutMs = 300_000 }: { reps?: number; threads?: number; timeoutMs?: number } = {},
): TorchFieldResult {
  const twin = mlFieldTwin(model, lattice, { allowColumnExtrapolation: true });
  const L = twin.layout;
  const B = spins.length / (3 * L.N);
  if (!(Number.isInteger(B) && B >= 1)) throw new Error(`torchField.spins must hold B×${L.N}×3 values, got ${spins.length}`);
  const dir = mkdtempSync(join(tmpdir(), 'neqspin-torch-field-'));
  try {
    writeNpy(join(dir, 'nbr.npy'), L.nbr, [L.N, L.S]);
    writeNpy(join(dir, 'features.npy'), L.features, [L.D, 4]);
    writeNpy(join(dir, 'site_values.npy'), L.siteValues, [L.N, L.C]);
    writeNpy(join(dir, 'norm_mean.npy'), Float64Array.from(twin.norm.mean));
    writeNpy(join(dir, 'norm_std.npy'), Float64Array.from(twin.norm.std));
    for (const e of paramEntries(model.arch)) writeNpy(join(dir, `${e.name}.npy`), twin.mlp.theta.slice(e.offset, e.offset + e.size), e.shape);
    writeNpy(join(dir, 'spins.npy'), Float64Array.from(spins), [B, L.N, 3]);
    const cfg = { mode, activation: model.arch.activation, layers: model.arch.hidden.length + 1, useE: model.useE, useP: model.useP, threads, reps };
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    const out = JSON.parse(execFileSync(python, ['scripts/baselines/field_torch.py', dir], { timeout: timeoutMs }).toString().trim().split('\n').pop()!);
    if (out.error) throw new Error(`field_torch.py: ${out.error}`);
    const res: TorchFieldResult = { torch: out.torch, threads: out.threads, sites: out.sites, seconds: out.seconds, rate: out.rate };
    if (mode === 'check') res.h = Float64Array.from(readNpy(join(dir, 'h.npy')).data);
    return res;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A timed torchField run (field or train mode): its rate, or why there is none. */
function torchFieldRate(model: MlFieldModel, lattice: Lattice, spins: ArrayLike<number>, mode: 'field' | 'train', log: (s: string) => void): number | string {
  const py = findPython('torch');
  if (!py) return 'skipped: no python3 with torch';
  try {
    return torchField(py, model, lattice, spins, mode).rate!;
  } catch (e) {
    log(`torch full-field baseline (${mode}) failed: ${(e as Error).message.split('\n')[0]}`);
    return 'skipped: torch full-field baseline failed';
  }
}

/** Rows of the authors' net in the MLP-only PyTorch baseline. */
const authorsRows = (quick: boolean) => (quick ? 256 : 512);

/** f64 twin site rates (field, train) as the sum of measured per-site stage costs. */
function twinRates(model: MlFieldModel, net: Net, mlpRows: number): { field: number; train: number } {
  const lat = new Lattice(net.lattice.Ly >= 11 ? { Lx: 12, Ly: 11, periodicY: true } : net.lattice);
  const small = new Lattice({ Lx: Math.min(12, net.lattice.Lx), Ly: Math.max(11, 2 * Math.floor(net.descriptor.rc) + 1), periodicY: true });
  const useLat = net.descriptor.lead.kind === 'column' ? small : lat;
  const twin = mlFieldTwin(model, useLat, { allowColumnExtrapolation: true });
  const N = useLat.N, D = twin.layout.D;
  const s = randomUnitSpins(N, 9);
  let dG!: Float64Array;
  const tDesc = timeSync(() => (dG = descriptorF64(twin.layout, s, twin.norm).dG)) / N;
  const g = new Float64Array(N * D).fill(0.01);
  const tAsm = timeSync(() => assemblyForwardF64(twin.layout, s, dG, g, g, twin.opts)) / N;
  const tTr = timeSync(() => assemblyTransposeF64(twin.layout, s, dG, new Float64Array(3 * N).fill(0.01), twin.opts)) / N;
  const x = new Float64Array(mlpRows * D).map((_, k) => Math.sin(k));
  const tIG = timeSync(() => twin.mlp.inputGrad(x, mlpRows)) / mlpRows;
  const U = x.map((v) => 0.1 * v);
  const tDB = timeSync(() => twin.mlp.doubleBackward(x, U, U, mlpRows)) / mlpRows;
  return { field: 1 / (tDesc + tIG + tAsm), train: 1 / (tDesc + tIG + tAsm + tTr + tDB) };
}

function timeSync(f: () => unknown): number {
  const t0 = performance.now();
  f();
  return (performance.now() - t0) / 1e3;
}

/**
 * (d) GEMM throughput: MlpGpu with arch 1024-[1024]-2 on M rows, per variant. FLOPs: 2·M·(1024² +
 * 1024·2) per forward (the 1024→2 output layer is 0.2 %), 3× that per input gradient.
 */
async function gemmBench(ctx: GpuContext, roof: Roofline, quick: boolean, log: (s: string) => void): Promise<Table> {
  const sw = ctx.info.software;
  const M = sw ? (quick ? 256 : 1024) : 65536, W = 1024;
  const variants: GemmVariant[] = sw ? ['direct', 'wide'] : ['wide', 'tiled', 'direct'];
  const x = storageBuffer(ctx, Float32Array.from({ length: M * W }, (_, k) => Math.sin(k)));
  const flop = 2 * M * (W * W + W * 2);
  const rows: (string | number)[][] = [];
  for (const gemm of variants) {
    const mlp = await MlpGpu.create(ctx, { inputDim: W, hidden: [W], activation: 'relu' }, { maxRows: M, seed: 1, gemm });
    const reps = sw ? 1 : 5;
    const time = (op: (p: GPUComputePassEncoder) => void) =>
      best(async () => {
        submit(ctx, (p) => op(p));
        await sync(ctx);
      }, reps);
    const tF = await time((p) => mlp.encodeForward(p, x, M));
    const tG = await time((p) => mlp.encodeInputGrad(p, x, M));
    mlp.destroy();
    const gf = flop / tF / 1e9, gg = (3 * flop) / tG / 1e9;
    log(`GEMM ${gemm} ${M}x${W}x${W}: forward ${gf.toFixed(0)} GFLOP/s, input gradient ${gg.toFixed(0)} GFLOP/s`);
    rows.push([gemm, `${M}×${W}×${W}`, 1e3 * tF, gf, `${((100 * gf) / roof.fmaGflops).toFixed(1)}%`, gg]);
  }
  x.destroy();
  return {
    title: 'MLP GEMM kernels (raw throughput, one 1024→1024 layer)',
    note: `MlpGpu forward (1 GEMM + bias + ReLU epilogue) and input gradient (forward + 2-stack backward: 3 GEMM units) of arch 1024-1024-2, best of ${sw ? 1 : 5} single-submit runs; % of the FMA roof measured in this run (${roof.fmaGflops.toFixed(1)} GFLOP/s). Variants: wide = 256-invocation 128×128 register-blocked tiles, tiled = 64-invocation 4×4 tiles, direct = no workgroup memory (defaults, src/model/mlp.ts: direct on hardware GPUs, wide on software adapters).`,
    columns: ['variant', 'M×N×K', 'forward ms', 'forward GFLOP/s', '% FMA roof', 'input-grad GFLOP/s'],
    rows,
  };
}

export async function bench(ctx: GpuContext, roof: Roofline, { quick, log }: { quick: boolean; log: (s: string) => void }): Promise<Table[]> {
  const sw = ctx.info.software;
  const gemmTable = await gemmBench(ctx, roof, quick, log);
  let torchVer = 'absent'; // reported by the baseline script itself
  const fieldRows: (string | number)[][] = [];
  const trainRows: (string | number)[][] = [];
  const models: MlFieldModel[] = [];
  for (const net of NETS) {
    const authors = net.hidden.length > 2;
    const model = randomFieldModel({ lattice: net.lattice, descriptor: net.descriptor, hidden: net.hidden, activation: net.activation, seed: 1, fieldScale: 1 });
    models.push(model);
    const D = model.arch.inputDim;
    const gflop = (r: number, units: number) => (r * units * 2 * macs(D, net.hidden)) / 1e9;

    // (a) field: GPU on one lattice, k evaluations per submit
    const fl = authors ? (sw ? net.lattice : { Lx: 256, Ly: 256, periodicY: true }) : sw ? (quick ? { Lx: 64, Ly: 64, periodicY: true } : { Lx: 128, Ly: 128, periodicY: true }) : { Lx: 1000, Ly: 1000, periodicY: true };
    const lat = new Lattice(fl);
    const field = await MlField.create(ctx, model, lat, { allowColumnExtrapolation: true, maxRows: authors && sw ? 768 : undefined });
    const fieldSpins = randomUnitSpins(lat.N, 4);
    const spins = storageBuffer(ctx, fieldSpins);
    const out = storageBuffer(ctx, 12 * lat.N);
    const k = sw ? (authors ? 1 : 4) : 10;
    const tField = await best(async () => {
      submit(ctx, (pass) => {
        for (let r = 0; r < k; r++) field.encode(pass, spins, out);
      });
      await sync(ctx);
    }, sw ? 2 : 5) / k;
    const gpuField = lat.N / tField;
    field.destroy();
    spins.destroy();
    out.destroy();

    // (b) training: GPU Trainer.step on B snapshots of the training lattice
    const tl = new Lattice(net.lattice);
    const B = authors ? (sw ? 1 : 16) : sw ? 8 : 64;
    const layout = DescriptorLayout.build(tl, net.descriptor);
    const tr = await Trainer.create(ctx, layout, { arch: model.arch, useE: true, useP: true, seed: 1, theta: model.weights as Float32Array }, B, new Float32Array(tl.N).fill(1));
    tr.setNormalisation(model.norm);
    const bs = new Float32Array(3 * B * tl.N);
    for (let b = 0; b < B; b++) bs.set(randomUnitSpins(tl.N, 50 + b), 3 * b * tl.N);
    tr.setBatch(bs, bs.map((v) => 0.1 * v), B);
    const steps = sw ? 1 : 10;
    const tTrain = await best(async () => {
      for (let s = 0; s < steps; s++) tr.step(1e-6, { weightDecay: 0, clipNorm: 0 });
      await sync(ctx);
    }, sw ? (authors ? 1 : 3) : 5) / steps;
    const gpuTrain = (B * tl.N) / tTrain;
    tr.destroy();

    const twin = twinRates(model, net, authors ? 2 : 64);
    const mlpOnly = torchMlpRates(D, net, authors ? authorsRows(quick) : 16384, log);
    if (typeof mlpOnly !== 'string') torchVer = mlpOnly.version;
    // PyTorch full field on the GPU's lattice and batch, capped at net.torchSites (GPU sizes)
    const side = Math.floor(Math.sqrt(net.torchSites));
    const tfl = lat.N <= net.torchSites ? lat : new Lattice({ Lx: side, Ly: side, periodicY: true });
    const tB = Math.max(1, Math.min(B, Math.floor(net.torchSites / tl.N)));
    const fullField = torchFieldRate(model, tfl, tfl === lat ? fieldSpins : randomUnitSpins(tfl.N, 4), 'field', log);
    const fullTrain = torchFieldRate(model, tl, bs.subarray(0, 3 * tB * tl.N), 'train', log);
    const mf = typeof mlpOnly === 'string' ? mlpOnly : mlpOnly.field;
    const mt = typeof mlpOnly === 'string' ? mlpOnly : mlpOnly.train;
    const e3 = (v: number | string) => (typeof v === 'number' ? v.toExponential(3) : v);
    log(`${net.name}: field GPU ${e3(gpuField)}/s, twin ${e3(twin.field)}, torch full ${e3(fullField)}, torch MLP-only ${e3(mf)}; train GPU ${e3(gpuTrain)}/s, twin ${e3(twin.train)}, torch full ${e3(fullTrain)}, torch MLP-only ${e3(mt)}`);
    const ratio = (a: number, b: number | string) => (typeof b === 'number' ? a / b : '—');
    const torchSize = (gpu: string, torch: string) => (torch === gpu ? gpu : `${gpu} (torch ${torch})`);
    // input gradient = 3 GEMM units; training step = 3 (input grad) + 9 (double backward)
    fieldRows.push([net.name, torchSize(`${fl.Lx}×${fl.Ly}`, `${tfl.Lx}×${tfl.Ly}`), gpuField, gflop(gpuField, 3), twin.field, fullField, mf, ratio(gpuField, fullField)]);
    trainRows.push([net.name, torchSize(`${B}×${tl.Lx}×${tl.Ly}`, `${tB}×${tl.Lx}×${tl.Ly}`), gpuTrain, gflop(gpuTrain, 12), twin.train, fullTrain, mt, ratio(gpuTrain, fullTrain)]);
  }

  // (c) ML-driven LL: the demo's net on large lattices (clipped lead features: size independent),
  // ≥ 1e5 spins on software adapters and ≥ 1e6 on GPUs in every mode (the demo's large-lattice stage)
  const llRows: (string | number)[][] = [];
  const sizes: [number, number][] = sw ? [[400, 256]] : quick ? [[1000, 1000]] : [[400, 256], [1000, 1000]];
  const cases: [number, number, number][] = sizes.map(([a, b]) => [0, a, b]);
  cases.push(sw ? [1, 32, 24] : [1, 256, 256]);
  for (const [m, Lx, Ly] of cases) {
    const lat = new Lattice({ Lx, Ly, periodicY: true });
    const ml = await MlDrivenLL.create(ctx, lat, models[m], { alpha: 0.1, dt: 0.05, integrator: 'midpoint', JH: 0.5 }, { allowColumnExtrapolation: true, maxRows: sw && m === 1 ? 768 : undefined });
    ml.setSpins(randomUnitSpins(lat.N, 77));
    await ml.run(1);
    const n = sw ? (m === 1 ? 2 : quick ? 2 : 4) : 20;
    const t0 = performance.now();
    await ml.run(n, { sampleEvery: n });
    const rate = (lat.N * n) / ((performance.now() - t0) / 1e3);
    log(`ML-LL ${NETS[m].name} ${Lx}x${Ly}: ${rate.toExponential(3)} spin-steps/s (${ml.field.chunks} chunks)`);
    llRows.push([NETS[m].name, `${Lx}×${Ly}`, lat.N, ml.field.chunks, n, rate, (lat.N * n) / rate / n]);
    ml.destroy();
  }

  const torchCommon = `PyTorch ${torchVer} CPU, 2 threads, best of 3 after a warm-up.`;
  const twinNote = 'f64 twin: plain TypeScript, 1 thread, sum of measured stage costs per site.';
  return [
    {
      title: 'ML field evaluation h = -(∂E/∂S)⊥ - S×∂Φ/∂S (site evaluations/s)',
      note: `GPU: MlField (descriptor + MLP input gradient + force assembly, row-chunked, no Jacobian stored), wall time of several evaluations per submit on the lattice shown. GFLOP/s counts the MLP only (3 layer-GEMM units per site); MLP GEMM variant: ${resolveGemm(ctx)}; the small net's input gradient runs in the fused per-row kernel (shaders/model/mlp_fused.wgsl, NEQSPIN_MLP_FUSED=0 disables it). ${torchCommon} torch full field: scripts/baselines/field_torch.py, float32 inference from the spins of one configuration on the lattice shown: neighbour gather through the descriptor layout, features, normalisation, MLP, autograd gradient of E = Σε and Φ = Σφ w.r.t. the spins (no create_graph), h = -(∂E/∂S)⊥ - S×∂Φ/∂S; GPU/torch compares with this number. torch MLP only: scripts/baselines/mlp_torch.py, MLP forward + input gradient of (ε, φ) with create_graph on ${authorsRows(quick)} (authors') / 16384 (small) random rows of the same D, no descriptor or assembly. ${twinNote}`,
      columns: ['net', 'lattice', 'GPU sites/s', 'GPU MLP GFLOP/s', 'f64 twin sites/s', 'torch CPU field sites/s (full field)', 'torch CPU MLP-only rows/s', 'GPU/torch'],
      rows: fieldRows,
    },
    {
      title: 'ML training step (site-samples/s)',
      note: `GPU: Trainer.step (one submit: descriptor, input gradient, assembly, loss, transpose, double backward, Adam) on B snapshots; GFLOP/s counts 12 layer-GEMM units per site-sample. ${torchCommon} torch full step: field_torch.py training step on the batch shown: the same h from the spins with create_graph, loss = mean over sites of |h - t|² against random targets, backward to the weights (double backprop), Adam; GPU/torch compares with this number. torch MLP only: mlp_torch.py on the random rows above: input gradient with create_graph, MSE of it against random targets, double backprop, Adam. ${twinNote}`,
      columns: ['net', 'batch', 'GPU site-samples/s', 'GPU MLP GFLOP/s', 'f64 twin', 'torch CPU full step', 'torch CPU MLP-only', 'GPU/torch'],
      rows: trainRows,
    },
    gemmTable,
    {
      title: 'ML-driven Landau-Lifshitz (midpoint; field recomputed on the GPU every step)',
      note: 'MlDrivenLL.run wall time (field + step recorded per step, one submit, one sample at the end). The NEGF field of one configuration (see the NEGF table) costs orders of magnitude more per site than the ML field.',
      columns: ['net', 'lattice', 'spins', 'chunks', 'steps', 'spin-steps/s', 's per step'],
      rows: llRows,
    },
  ];
}
