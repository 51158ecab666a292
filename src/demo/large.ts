/**
 * Stage 4 of `neqspin demo`: a trained model applied to a lattice ≥ 100× its training lattice
 * (issue 5). ML-LL (src/dynamics/mlDriven.ts, field recomputed on the GPU every step) of the model
 * of μ index `muIndex` (default 0: the lowest μ, farthest below μ_c, whose front is the fastest, so
 * the texture changes most in a short run; the cost per step does not depend on μ) on an
 * Lx × Ly lattice (periodic y, the demo's dynamics and noise kind), with
 *   - the measured throughput in spin-steps/s (pipelines compiled by one warm-up step that is not
 *     timed; the timed part is MlDrivenLL.run only, not the spin read-backs or the images),
 *   - c_i maps (PNG, src/io/png.ts, blue-white-red scale of src/demo/svg.ts) at `snapshots` evenly
 *     spaced steps, with the lattice mean of c_i and the FM fraction (sites with c_i > 0) there:
 *     the whole lattice, and a zoom on its corner x ≥ Lx - seedWidth - 1.5·pitch, y < pitch (the
 *     right-hand front and the nearest disc), where a growth of one or two sites per few dozen
 *     steps is visible.
 *
 * Size: `autoLarge` picks 400×256 (102 400 spins, 30 steps) on a software adapter (lavapipe:
 * ~0.3-0.8 s per step on 2 shared cores) and 1024×1024 (1 048 576 spins, 2000 steps) on a hardware
 * GPU; DemoConfig.large (`--large LxxLy[xSTEPS]`) overrides it.
 *
 * Initial state: Néel AFM along z, FM along (sin θ, 0, cos θ), θ = front.angle, in
 *   - the right front.seedWidth columns across the full width (the training geometry: a straight
 *     front facing the left electrode), and
 *   - discs of radius `nucleusRadius` on a grid of pitch `nucleusPitch` in the bulk (centres at
 *     x = p, 2p, … ≤ Lx - seedWidth - p/2, and Ly/p rows evenly spaced in periodic y),
 * tilted by front.tilt (Gaussian per component, seed of the μ's held-out trajectory). The discs
 * show the AFM → FM conversion at scale in a few dozen steps; their fronts (curved, facing every
 * direction) are outside the training set — the model has only seen straight fronts with the FM
 * phase on the right — so their growth is an extrapolation of the local model, not a validated
 * prediction.
 *
 * Lead awareness on a long lattice: the demo's descriptor (preset `default`) encodes each electrode
 * by min(distance, 4)/4 (`clipped`, src/model/descriptor.ts), so every site ≥ 4 columns from both
 * electrodes has the bulk values (1, 1) — exactly those of columns 4…Lx-5 of the training lattice —
 * and the sites next to the electrodes have the training values (tested in tests/demo-large.test.ts).
 * Nothing is extrapolated in the lead features; a raw-column (`column`) model is refused by
 * MlField on another lattice (src/model/field.ts).
 */
import type { AdapterReport, GpuContext } from '../gpu/context.js';
import { Lattice } from '../lattice/lattice.js';
import { neel, tilted } from '../lattice/textures.js';
import { neighbourCorrelation } from '../lattice/observables.js';
import { MlDrivenLL } from '../dynamics/mlDriven.js';
import type { MlFieldModel } from '../model/field.js';
import type { LeadFeatures } from '../model/descriptor.js';
import type { DemoConfig } from './config.js';

export interface LargeConfig {
  Lx: number;
  Ly: number;
  steps: number;
  /** c_i maps at this many evenly spaced steps (first 0, last `steps`) */
  snapshots: number;
  /** FM discs in the bulk: radius and grid pitch (radius 0: none) */
  nucleusRadius: number;
  nucleusPitch: number;
  /** index into DemoConfig.mu of the model used */
  muIndex: number;
}

export function checkLargeConfig(l: LargeConfig): void {
  const int = (k: keyof LargeConfig, min: number) => {
    if (!Number.isInteger(l[k]) || l[k] < min) throw new Error(`large.${k} must be an integer >= ${min}, got ${l[k]}`);
  };
  int('Lx', 16);
  int('Ly', 5);
  int('steps', 1);
  int('snapshots', 2);
  int('nucleusRadius', 0);
  int('nucleusPitch', 1);
  int('muIndex', 0);
  if (2 * l.nucleusRadius >= l.nucleusPitch) throw new Error(`large.nucleusRadius must be < nucleusPitch/2 = ${l.nucleusPitch / 2}, got ${l.nucleusRadius}`);
  if (l.snapshots > l.steps + 1) throw new Error(`large.snapshots must be <= steps + 1 = ${l.steps + 1}, got ${l.snapshots}`);
}

/** A large-lattice set-up of the given size: nuclei scaled to it (pitch 64, or 128 above 512 sites). */
export function largeFor(Lx: number, Ly: number, steps: number): LargeConfig {
  const pitch = Math.max(Lx, Ly) > 512 ? 128 : 64;
  const l = { Lx, Ly, steps, snapshots: steps >= 100 ? 5 : 3, nucleusRadius: pitch / 16, nucleusPitch: pitch, muIndex: 0 };
  checkLargeConfig(l);
  return l;
}

/** ≥ 1e5 spins on a software adapter (lavapipe), ≥ 1e6 on a hardware GPU. */
export function autoLarge(info: Pick<AdapterReport, 'software'>): LargeConfig {
  return info.software ? largeFor(400, 256, 30) : largeFor(1024, 1024, 2000);
}

/** Steps of the c_i maps: evenly spaced, 0 and `steps` included. */
export function largeSnapshotSteps(l: LargeConfig): number[] {
  return [...new Set(Array.from({ length: l.snapshots }, (_, j) => Math.round((j * l.steps) / (l.snapshots - 1))))];
}

/** Whether (x, y) lies in a bulk FM nucleus (see the file comment). */
function inNucleus(l: LargeConfig, seedWidth: number, x: number, y: number): boolean {
  const p = l.nucleusPitch, r = l.nucleusRadius;
  if (r === 0) return false;
  const a = Math.round(x / p);
  if (a < 1 || a * p > l.Lx - seedWidth - p / 2) return false;
  const rows = Math.max(1, Math.round(l.Ly / p)), h = l.Ly / rows;
  const cy = (Math.floor(y / h) + 0.5) * h;
  // the centre of y's own row cell is the nearest one (rows tile the periodic width)
  return (x - a * p) ** 2 + (y - cy) ** 2 <= r * r;
}

/** Initial state of the large run (see the file comment). */
export function largeInitialState(c: DemoConfig, l: LargeConfig, lat: Lattice, seed: number): Float64Array {
  const { seedWidth, angle, tilt } = c.front;
  const s = neel(lat);
  const fm = [Math.sin(angle), 0, Math.cos(angle)];
  for (let i = 0; i < lat.N; i++) {
    const x = lat.xOf(i), y = lat.yOf(i);
    if (x >= lat.Lx - seedWidth || inNucleus(l, seedWidth, x, y)) s.set(fm, 3 * i);
  }
  return tilt > 0 ? tilted(s, tilt, seed) : s;
}

export interface LargeSnapshot {
  step: number;
  /** lattice mean of c_i */
  cMean: number;
  /** fraction of sites with c_i > 0 */
  fmFraction: number;
  /** PNG files (whole lattice, zoom), relative to the output folder */
  image: string;
  zoom: string;
}

export interface LargeResult {
  config: LargeConfig;
  mu: number;
  spins: number;
  /** the model's training lattice and lead features */
  trainingLattice: { Lx: number; Ly: number };
  lead: LeadFeatures;
  /** zoom window: first column and row, width and height */
  zoom: { x0: number; y0: number; width: number; height: number };
  snapshots: LargeSnapshot[];
  /** timed ML-LL (warm-up excluded) */
  timing: { secondsPerStep: number; spinStepsPerSecond: number; chunks: number; adapter: string; software: boolean };
}

/** The zoom window of the c_i maps (see the file comment), clipped to the lattice. */
export function zoomWindow(c: DemoConfig, l: LargeConfig): LargeResult['zoom'] {
  const width = Math.min(l.Lx, Math.ceil(1.5 * l.nucleusPitch) + c.front.seedWidth), height = Math.min(l.Ly, l.nucleusPitch);
  return { x0: l.Lx - width, y0: 0, width, height };
}

/** Values of the sites in a window of the lattice (row-major, x fastest). */
function crop(v: ArrayLike<number>, Lx: number, w: LargeResult['zoom']): Float64Array {
  const out = new Float64Array(w.width * w.height);
  for (let y = 0; y < w.height; y++) for (let x = 0; x < w.width; x++) out[x + w.width * y] = v[w.x0 + x + Lx * (w.y0 + y)];
  return out;
}

/**
 * Run the large-lattice ML-LL; `image(name, values, Lx, Ly)` stores a c_i map (`name` relative to
 * the output folder): the whole lattice and the zoom at every snapshot step.
 */
export async function runLarge(ctx: GpuContext, c: DemoConfig, l: LargeConfig, model: MlFieldModel, seed: number, image: (name: string, values: Float64Array, Lx: number, Ly: number) => void): Promise<LargeResult> {
  checkLargeConfig(l);
  if (l.muIndex >= c.mu.length) throw new Error(`large.muIndex must be < ${c.mu.length} (the number of μ), got ${l.muIndex}`);
  const lat = new Lattice({ Lx: l.Lx, Ly: l.Ly, periodicY: true });
  const s0 = largeInitialState(c, l, lat, seed);
  const ml = await MlDrivenLL.create(ctx, lat, model, { integrator: 'midpoint', ...c.dynamics, seed });
  try {
    ml.setSpins(s0, 0);
    await ml.run(1); // compile the pipelines outside the timed run
    ml.setSpins(s0, 0);
    const snapshots: LargeSnapshot[] = [];
    const zoom = zoomWindow(c, l);
    const observe = (step: number, s: ArrayLike<number>) => {
      const ci = neighbourCorrelation(lat, s);
      let sum = 0, fm = 0;
      for (const v of ci) (sum += v), (fm += v > 0 ? 1 : 0);
      const name = `figures/large-t${step}.png`, zoomName = `figures/large-zoom-t${step}.png`;
      image(name, ci, l.Lx, l.Ly);
      image(zoomName, crop(ci, l.Lx, zoom), zoom.width, zoom.height);
      snapshots.push({ step, cMean: sum / lat.N, fmFraction: fm / lat.N, image: name, zoom: zoomName });
    };
    observe(0, s0);
    let timed = 0;
    for (const target of largeSnapshotSteps(l).slice(1)) {
      const t0 = performance.now();
      await ml.run(target - ml.step);
      timed += performance.now() - t0;
      observe(target, await ml.getSpins());
    }
    const secondsPerStep = timed / 1000 / l.steps;
    return {
      config: l,
      mu: c.mu[l.muIndex],
      spins: lat.N,
      trainingLattice: { Lx: c.lattice.Lx, Ly: c.lattice.Ly },
      lead: model.descriptor.lead,
      zoom,
      snapshots,
      timing: { secondsPerStep, spinStepsPerSecond: lat.N / secondsPerStep, chunks: ml.field.chunks, adapter: ctx.info.description || ctx.info.device, software: ctx.info.software },
    };
  } finally {
    ml.destroy();
  }
}
