/**
 * `neqspin negf --config CASE.json --out RESULT.json` (SPEC §6): the nonequilibrium steady state
 * of one frozen spin configuration. `--format npy` writes a folder instead: result.json (scalars,
 * meta) plus one .npy per array (density (N), spinDensity/field/torque/fieldPerp (N,3), bond arrays).
 * Nothing is written on bad input (exit 2) and outputs appear atomically.
 * `--device gpu` runs the batched f32 GPU solver on a fixed grid (src/negf/gpuSolver.ts; no per-bond
 * `bondCurrentsXY`), `cpu` the f64 adaptive solver; `auto` (default) is gpu when a WebGPU adapter
 * exists and `--tol` (an adaptive-solver option) is not given, else cpu.
 */
import type { Command } from 'commander';
import { getGpu, GpuUnavailableError } from '../gpu/context.js';
import { solveNegfGpu, type GpuNegfResult } from '../negf/gpuSolver.js';
import { gpuOptions } from './common.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadNegfCase, type NegfCase } from '../io/config.js';
import { solveNegf, type NegfResult } from '../negf/index.js';
import { writeFileAtomic, withAtomicDir } from '../io/atomic.js';
import { writeNpy } from '../io/npy.js';
import { UserError } from '../io/errors.js';

/** F⊥_i = F_i - (S_i·F_i) S_i, added to the result for convenience. */
export function fieldPerp(c: NegfCase, field: number[][]): number[][] {
  return field.map((F, i) => {
    const s = [c.spins[3 * i], c.spins[3 * i + 1], c.spins[3 * i + 2]];
    const d = s[0] * F[0] + s[1] * F[1] + s[2] * F[2];
    return [F[0] - d * s[0], F[1] - d * s[1], F[2] - d * s[2]];
  });
}

export function runNegf(c: NegfCase, opts: { eta?: number; tol?: number } = {}): NegfResult & { fieldPerp: number[][] } {
  const r = solveNegf(c, { eta: opts.eta, tol: opts.tol });
  return { ...r, fieldPerp: fieldPerp(c, r.field) };
}

type Result = (NegfResult | GpuNegfResult) & { fieldPerp: number[][] };

/** Solve on the device `--device` asks for (see the file comment). */
async function solveOn(device: string, c: NegfCase, opts: { eta?: number; tol?: number }, cmd: Command): Promise<Result> {
  if (device === 'gpu' && opts.tol !== undefined) throw new UserError('--tol: applies to the adaptive CPU solver only (use --device cpu)');
  if (device === 'cpu' || (device === 'auto' && opts.tol !== undefined)) return runNegf(c, opts);
  let ctx;
  try {
    ctx = await getGpu(gpuOptions(cmd));
  } catch (e) {
    if (device === 'auto' && e instanceof GpuUnavailableError) return runNegf(c, opts);
    throw e;
  }
  const [r] = await solveNegfGpu(ctx, c, { eta: opts.eta, maxBatch: 1 });
  return { ...r, fieldPerp: fieldPerp(c, r.field) };
}

const ARRAYS = ['density', 'spinDensity', 'field', 'torque', 'fieldPerp', 'bondCurrents', 'bondSpinCurrents', 'bondCurrentsXY'] as const;

export function register(program: Command): void {
  program
    .command('negf')
    .description('nonequilibrium steady state (density, spin density, exchange field, torque, currents) of one configuration')
    .requiredOption('--config <file>', 'CASE.json (SPEC §6)')
    .requiredOption('--out <path>', 'RESULT.json (or a folder with --format npy)')
    .option('--format <fmt>', 'json | npy', 'json')
    .option('--eta <x>', 'retarded regulator η (default 1e-8)')
    .option('--tol <x>', 'absolute tolerance of the bias-window integral (default 1e-7)')
    .option('--device <d>', 'gpu | cpu | auto (gpu when a WebGPU adapter exists)', 'auto')
    .option('--force', 'replace an existing --format npy folder')
    .action(async (o: { config: string; out: string; format: string; device: string; eta?: string; tol?: string; force?: boolean }, cmd: Command) => {
      if (!['json', 'npy'].includes(o.format)) throw new UserError(`--format: must be json or npy, got ${o.format}`);
      if (!['gpu', 'cpu', 'auto'].includes(o.device)) throw new UserError(`--device: must be gpu, cpu or auto, got ${o.device}`);
      if (!existsSync(o.config)) throw new UserError(`--config: ${o.config} does not exist`);
      const num = (name: string, v?: string) => {
        if (v === undefined) return undefined;
        const x = Number(v);
        if (!(x > 0) || !Number.isFinite(x)) throw new UserError(`--${name}: must be a positive number, got ${v}`);
        return x;
      };
      const eta = num('eta', o.eta), tol = num('tol', o.tol);
      const c = loadNegfCase(o.config);
      const r = await solveOn(o.device, c, { eta, tol }, cmd);
      if (o.format === 'json') {
        writeFileAtomic(o.out, JSON.stringify(r) + '\n');
      } else {
        await withAtomicDir(
          o.out,
          (dir) => {
            const scalars: Record<string, unknown> = {};
            for (const [k, v] of Object.entries(r)) if (!(ARRAYS as readonly string[]).includes(k)) scalars[k] = v;
            writeFileAtomic(join(dir, 'result.json'), JSON.stringify(scalars, null, 2) + '\n');
            for (const k of ARRAYS) {
              if (!(k in r)) continue; // bondCurrentsXY: CPU solver only
              const a = (r as Record<string, unknown>)[k] as number[] | number[][];
              const flat = Float64Array.from((a as (number | number[])[]).flat());
              writeNpy(join(dir, `${k}.npy`), flat, Array.isArray(a[0]) ? [a.length, (a[0] as number[]).length] : [a.length]);
            }
          },
          { overwrite: o.force },
        );
      }
      process.stdout.write(`negf: ${c.lattice.Lx}x${c.lattice.Ly}, ${r.meta.energyPoints} energy points, error estimate ${r.meta.errorEstimate.toExponential(1)}, ${r.meta.seconds.toFixed(2)} s (${r.meta.device}) -> ${o.out}\n`);
    });
}
