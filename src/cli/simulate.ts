/**
 * `neqspin simulate`: Landau-Lifshitz dynamics on the GPU (SPEC §3) from a config file, a preset
 * (`--preset NAME`, src/presets.ts) or the embedded default (a field-driven domain wall below Walker
 * breakdown, with its analytic velocity in the summary).
 *
 * Forces: `force.kind = 'none'` (local terms only); `'negf'`: adiabatic electrons, the NEGF field
 * of the current spins is recomputed before every step (src/dynamics/driven.ts, CPU float64 provider
 * on a fixed energy grid, src/negf/provider.ts) and added to the local terms; samples are then
 * taken on the host. `'ml'` is not implemented yet (error). `initial: {kind: 'file'}` also reads
 * the authors' .dat snapshots (rows `x y Sx Sy Sz ...`, spins renormalised).
 *
 * Output folder (written as <out>.partial/, renamed to <out> when complete; `--resume` continues
 * a killed run from its last checkpoint):
 *   config.json        resolved configuration
 *   observables.csv    step, t, mx, my, mz, cMean, wall (sampled on the GPU every sampleEvery steps)
 *   snapshots/         step_<n>.ovf (+ .npy) every snapshotEvery steps
 *   final.ovf/.npy     final state;  summary.json: timing, wall velocity (fit), analytic reference
 */
import type { Command } from 'commander';
import { getGpu, describe } from '../gpu/index.js';
import { Lattice } from '../lattice/lattice.js';
import { zeroCrossing } from '../lattice/observables.js';
import { LLEngine, LLDivergenceError, walkerWall, uniaxialWall, wallWidth } from '../dynamics/index.js';
import { NegfDrivenLL } from '../dynamics/driven.js';
import { CpuNegfProvider } from '../negf/provider.js';
import { GpuNegfProvider } from '../negf/gpuProvider.js';
import { getPreset } from '../presets.js';
import { parseSimulateConfig, loadSimulateConfig, type SimulateConfig } from '../io/config.js';
import { initialSpins } from '../io/spins.js';
import { parseAuthorsDat } from '../io/authors-dat.js';
import { JobDir } from '../io/job.js';
import { formatCsv, parseCsv } from '../io/csv.js';
import { writeOvf, spinField } from '../io/ovf.js';
import { writeNpy, readNpy } from '../io/npy.js';
import { writeFileAtomic } from '../io/atomic.js';
import { UserError, RunError, ConfigError } from '../io/errors.js';
import { globalOptions, gpuOptions } from './common.js';
import { createProgress } from './progress.js';
import { readFileSync, existsSync, rmSync } from 'node:fs';
import { extname } from 'node:path';

/** The embedded default: a Néel wall in a 1024×16 strip driven by B ∥ z below Walker breakdown. */
export const DEFAULT_SIMULATION = {
  lattice: { Lx: 1024, Ly: 16, periodicY: true },
  initial: { kind: 'neel-wall', x0: 200, width: 5 },
  dynamics: { integrator: 'midpoint', alpha: 0.1, dt: 0.1, steps: 10000, sampleEvery: 50, snapshotEvery: 2500 },
  fields: { B: [0, 0, 0.004], K: 0.02, easyAxis: [0, 0, 1], Kh: 0.05, hardAxis: [0, 1, 0], JH: 1 },
  output: { ovf: 'binary4', npy: true },
} as const;

const COLUMNS = ['step', 't', 'mx', 'my', 'mz', 'cMean', 'wall'];

interface Checkpoint {
  step: number;
  state: string;
}

/** Analytic wall velocity for a ferromagnetic wall along the easy axis, when the set-up has one. */
export function analyticWallVelocity(cfg: SimulateConfig): { v: number; model: string } | undefined {
  const f = cfg.fields, d = cfg.dynamics;
  if (cfg.force.kind !== 'none' || !['neel-wall', 'bloch-wall'].includes(cfg.initial.kind) || f.K <= 0 || f.JH <= 0 || d.temperature > 0) return undefined;
  const e = f.easyAxis;
  const Bpar = f.B[0] * e[0] + f.B[1] * e[1] + f.B[2] * e[2];
  if (Math.abs(Bpar - Math.hypot(...f.B)) > 1e-12 * Math.max(1, Math.abs(Bpar))) return undefined; // field not along the easy axis
  if (f.Kh > 0) {
    if (Math.abs(Bpar) >= d.alpha * f.Kh) return undefined;
    return { v: walkerWall(d.alpha, Bpar, f.JH, f.K, f.Kh).v, model: 'Walker steady wall (Schryer-Walker), v = (1+α²)Δ(φ)B/α' };
  }
  return { v: uniaxialWall(d.alpha, Bpar, wallWidth(f.JH, f.K)).v, model: 'precessing uniaxial wall, v = αΔB' };
}

function gcd(a: number, b: number): number {
  return b ? gcd(b, a % b) : a;
}

function fitSlope(t: number[], x: number[]): number {
  const n = t.length;
  if (n < 2) return NaN;
  const mt = t.reduce((a, b) => a + b, 0) / n, mx = x.reduce((a, b) => a + b, 0) / n;
  let num = 0, den = 0;
  for (let k = 0; k < n; k++) {
    num += (t[k] - mt) * (x[k] - mx);
    den += (t[k] - mt) ** 2;
  }
  return num / den;
}

export interface SimulationOptions {
  force?: boolean;
  resume?: boolean;
  quiet?: boolean;
  gpu?: Parameters<typeof getGpu>[0];
  /** stop (as if killed) once this many steps are checkpointed; for resume tests */
  haltAfter?: number;
}

/** The initial state; besides initialSpins' files, an authors' .dat snapshot (SPEC §5 format). */
function initialState(lat: Lattice, ini: SimulateConfig['initial']): Float64Array {
  if (ini.kind !== 'file' || extname(ini.path).toLowerCase() !== '.dat') return initialSpins(lat, ini);
  let text: string;
  try {
    text = readFileSync(ini.path, 'utf8');
  } catch {
    throw new ConfigError('initial.path', `cannot read ${ini.path}`);
  }
  const s = parseAuthorsDat(text, lat.Lx, lat.Ly, ini.path).spins;
  for (let i = 0; i < s.length; i += 3) {
    const n = Math.hypot(s[i], s[i + 1], s[i + 2]);
    for (let a = 0; a < 3; a++) s[i + a] /= n;
  }
  return s;
}

/**
 * The NEGF-driven stepper of a config with force.kind = 'negf' (undefined for 'none'): the float64
 * CPU provider, or with force.device = 'gpu' the f32 GPU solver (faster on hardware GPUs; on a
 * software adapter the CPU provider is usually faster, see BENCHMARKS.md).
 */
async function drivenStepper(cfg: SimulateConfig, eng: LLEngine): Promise<NegfDrivenLL | undefined> {
  const f = cfg.force;
  if (f.kind !== 'negf') return undefined;
  const setup = { lattice: cfg.lattice, model: f.model, leads: f.leads, muL: f.muL, muR: f.muR, temperature: f.temperature };
  const provider = f.device === 'gpu' ? await GpuNegfProvider.create(eng.ctx, setup) : new CpuNegfProvider(setup);
  return new NegfDrivenLL(eng, provider);
}

export async function runSimulation(cfg: SimulateConfig, out: string, opts: SimulationOptions = {}) {
  const lat = new Lattice(cfg.lattice);
  if (cfg.force.kind === 'ml') throw new ConfigError('force.kind', "'ml' is not implemented in simulate yet");
  const s0 = initialState(lat, cfg.initial);
  const job = new JobDir<Checkpoint>(out, { overwrite: opts.force, resume: opts.resume }, cfg);
  const ctx = await getGpu(opts.gpu);
  const d = cfg.dynamics, f = cfg.fields;
  const eng = await LLEngine.create(ctx, lat, {
    alpha: d.alpha, dt: d.dt, integrator: d.integrator, temperature: d.temperature, noise: d.noise, seed: d.seed,
    B: f.B as [number, number, number], K: f.K, easyAxis: f.easyAxis as [number, number, number], Kh: f.Kh, hardAxis: f.hardAxis as [number, number, number], JH: f.JH,
  });
  const driven = await drivenStepper(cfg, eng);
  const wallKind = cfg.initial.kind === 'afm-fm' ? 'afm-fm' : 'ferro';
  const e = f.easyAxis;
  const comp = Math.abs(e[0]) > Math.abs(e[1]) && Math.abs(e[0]) > Math.abs(e[2]) ? 0 : Math.abs(e[1]) > Math.abs(e[2]) ? 1 : 2;
  let rows: number[][] = [];
  let step = 0;
  if (job.resumed) {
    const st = readNpy(job.path(job.resumed.state));
    step = job.resumed.step;
    eng.setSpins(st.data as Float32Array, step);
    rows = parseCsv(readFileSync(job.path('observables.csv'), 'utf8')).rows.filter((r) => r[0] <= step);
  } else {
    eng.setSpins(s0);
    writeFileAtomic(job.path('config.json'), JSON.stringify(cfg, null, 2) + '\n');
  }
  const e0 = await eng.energy();
  const writeState = (name: string, s: Float32Array) => {
    writeOvf(job.path(`${name}.ovf`), spinField(lat.Lx, lat.Ly, s, { title: `neqspin ${name}` }), cfg.output.ovf);
    if (cfg.output.npy) writeNpy(job.path(`${name}.npy`), s, [lat.Ly, lat.Lx, 3]);
  };
  // chunks end on sampling, snapshot and checkpoint boundaries (checkpoint at least every ~2000
  // steps; NEGF-driven steps are slow: checkpoint at every sample)
  const every = d.sampleEvery;
  const chunk = d.snapshotEvery > 0 ? (driven ? gcd(d.snapshotEvery, every) : d.snapshotEvery) : driven ? every : Math.max(every, Math.round(2000 / every) * every);
  const bar = createProgress({ total: d.steps, label: 'simulate', quiet: opts.quiet });
  bar.update(step);
  const t0 = performance.now();
  const stepsAtStart = step;
  try {
    while (step < d.steps) {
      const n = Math.min(chunk - (step % chunk), d.steps - step);
      const { samples } = await (driven ?? eng).run(n, { sampleEvery: every });
      for (const smp of samples) {
        const prof = wallKind === 'afm-fm' ? smp.c : [smp.sx, smp.sy, smp.sz][comp];
        rows.push([smp.step, smp.step * d.dt, smp.m[0], smp.m[1], smp.m[2], smp.cMean, zeroCrossing(prof)]);
      }
      step += n;
      const s = await eng.getSpins();
      if (d.snapshotEvery > 0 && step % d.snapshotEvery === 0) writeState(`snapshots/step_${String(step).padStart(8, '0')}`, s);
      writeNpy(job.path('checkpoint.npy'), s, [lat.Ly, lat.Lx, 3]);
      writeFileAtomic(job.path('observables.csv'), formatCsv(COLUMNS, rows));
      job.checkpoint({ step, state: 'checkpoint.npy' });
      const last = rows[rows.length - 1];
      bar.update(step, last && Number.isFinite(last[6]) ? `wall ${last[6].toFixed(2)}` : '');
      if (opts.haltAfter !== undefined && step >= opts.haltAfter && step < d.steps) {
        bar.stop();
        eng.destroy();
        return undefined;
      }
    }
  } catch (err) {
    bar.stop();
    if (err instanceof LLDivergenceError) {
      const good = await eng.getSpins();
      writeState('last_good', good);
      throw new RunError(`${err.message}; last good state and observables kept in ${job.dir} (last_good.ovf)`);
    }
    throw err;
  }
  bar.stop();
  const seconds = (performance.now() - t0) / 1e3;
  const final = await eng.getSpins();
  writeState('final', final);
  // wall velocity: linear fit over the second half of the samples where the wall exists
  const half = rows.filter((r) => r[0] >= d.steps / 2 && Number.isFinite(r[6]));
  const v = fitSlope(half.map((r) => r[1]), half.map((r) => r[6]));
  const ref = analyticWallVelocity(cfg);
  const summary = {
    lattice: lat.spec(),
    steps: d.steps,
    time: d.steps * d.dt,
    seconds,
    spinStepsPerSecond: (lat.N * (d.steps - stepsAtStart)) / seconds,
    device: describe(ctx.info),
    energyStart: e0,
    energyEnd: await eng.energy(),
    wall: { kind: wallKind, initial: rows[0]?.[6] ?? null, final: rows[rows.length - 1]?.[6] ?? null, velocity: Number.isFinite(v) ? v : null },
    analytic: ref ? { velocity: ref.v, model: ref.model, relativeError: Number.isFinite(v) ? v / ref.v - 1 : null } : null,
    negf: driven
      ? { solves: driven.solves, secondsPerSolve: driven.solveSeconds / Math.max(1, driven.solves), energyPoints: driven.last?.meta.energyPoints ?? null, errorEstimate: driven.last?.meta.errorEstimate ?? null, device: driven.last?.meta.device ?? null }
      : null,
  };
  writeFileAtomic(job.path('summary.json'), JSON.stringify(summary, null, 2) + '\n');
  rmSync(job.path('checkpoint.npy'), { force: true });
  job.commit();
  eng.destroy();
  return summary;
}

export function register(program: Command): void {
  program
    .command('simulate')
    .description('Landau-Lifshitz spin dynamics on the GPU (embedded default: field-driven domain wall)')
    .option('--config <file>', 'simulate configuration (JSON); default: the embedded field-driven wall')
    .option('--preset <name>', 'named configuration (zhang-chern-2022, zhang-chern-small)')
    .option('--out <dir>', 'output folder', 'out/simulate')
    .option('--steps <n>', 'override dynamics.steps')
    .option('--force', 'replace an existing output folder')
    .option('--resume', 'continue a killed run from <out>.partial/checkpoint.json')
    .action(async (o: { config?: string; preset?: string; out: string; steps?: string; force?: boolean; resume?: boolean }, cmd: Command) => {
      if (o.config && o.preset) throw new UserError('--preset: cannot be combined with --config');
      if (o.config && !existsSync(o.config)) throw new UserError(`--config: ${o.config} does not exist`);
      let cfg = o.config ? loadSimulateConfig(o.config) : parseSimulateConfig(o.preset ? getPreset(o.preset).simulate : structuredClone(DEFAULT_SIMULATION));
      if (o.steps !== undefined) {
        const n = Number(o.steps);
        if (!Number.isInteger(n) || n < 0) throw new UserError(`--steps: must be a non-negative integer, got ${o.steps}`);
        cfg = { ...cfg, dynamics: { ...cfg.dynamics, steps: n } };
      }
      const g = globalOptions(cmd);
      const s = (await runSimulation(cfg, o.out, { force: o.force, resume: o.resume, quiet: g.quiet, gpu: gpuOptions(cmd) }))!;
      const w = s.wall.velocity;
      process.stdout.write(
        `simulate: ${s.steps} steps of ${s.lattice.Lx}x${s.lattice.Ly} spins in ${s.seconds.toFixed(2)} s (${s.spinStepsPerSecond.toExponential(2)} spin-steps/s) on ${s.device}\n` +
          (w !== null ? `wall velocity ${w.toPrecision(4)}` + (s.analytic ? ` (analytic ${s.analytic.velocity.toPrecision(4)}, ${s.analytic.model})` : '') + '\n' : '') +
          `results in ${o.out}/\n`,
      );
    });
}
