/**
 * Stage 4 of `neqspin demo`: agreement metrics (metrics.json), SVG figures and report.md.
 *
 * Metrics (t in units of ħ/t, x in lattice columns):
 *   - held-out F⊥ error of each μ's model: RMSE (units t) and R², from the training stage's
 *     evaluation on the test split (the held-out NEGF-LL trajectory's snapshots);
 *   - wall velocity v = least-squares slope of x_DW(t) over the samples where the wall exists and
 *     lies at least `EDGE` columns away from both electrodes (a front that has reached an electrode
 *     no longer moves); negative v: the FM phase grows towards the left electrode. v_ML is the
 *     mean over the ML-LL noise realisations from the held-out state (with their standard
 *     deviation; NaN if any realisation has no velocity), v_NEGF that of the held-out NEGF-LL run;
 *     ratio v_ML / v_NEGF per μ, and the paired ratio of the ML-LL run with the NEGF-LL run's own
 *     noise;
 *   - wall-position error |x_ML(t) - x_NEGF(t)| of the paired runs at every sample (max and RMS);
 *   - time per LL step of NEGF-LL (NEGF solve + step, amortised over the lockstep trajectories)
 *     and ML-LL (GPU), and the speed-up;
 *   - the large-lattice run (./large.ts): size, model, mean c_i and FM fraction at its snapshots,
 *     and (under `timing.large`) its ML-LL throughput in spin-steps/s.
 * Everything except `timing` is a deterministic function of the configuration, seed and adapter.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { basename, join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import type { DemoConfig } from './config.js';
import type { Trace } from './run.js';
import type { LargeResult } from './large.js';
import { PALETTE, latticeMapsSvg, linePlotSvg, type Series } from './svg.js';

/** columns kept between the wall and an electrode for the velocity fit */
export const EDGE = 2;

export interface RunResult {
  mu: number;
  negf: Trace;
  ml: Trace;
  /** evaluation.json of the μ's model */
  evaluation: { set: string; regions: Record<string, { rmseTotal: number; r2: number; samples: number }> };
  /** parity.svg of the μ's model, relative to the output folder */
  parity: string;
}

export interface DemoMetrics {
  config: DemoConfig;
  perMu: {
    mu: number;
    heldOutFperp: { set: string; rmse: number; r2: number; samples: number };
    velocity: {
      negf: number;
      /** mean over the ML-LL realisations */
      ml: number;
      /** ml / negf */
      ratio: number;
      /** standard deviation of the realisations' velocities (NaN for one realisation) */
      mlSd: number;
      /** velocity of every ML-LL realisation (the first: paired with the NEGF-LL noise) */
      mlRealisations: number[];
      /** the paired run alone: its velocity and ratio */
      paired: { ml: number; ratio: number };
      /** fit samples of the NEGF-LL run and of the paired ML-LL run */
      fitSamples: { negf: number; ml: number };
    };
    wallPosition: { steps: number[]; negf: number[]; ml: number[]; error: number[]; maxError: number; rmsError: number };
  }[];
  summary: { maxRatioDeviation: number; maxWallError: number; meanFperpRmse: number };
  large: Omit<LargeResult, 'timing'>;
  timing: { negfSecondsPerStep: number; mlSecondsPerStep: number; speedup: number; demoSeconds: number; resumed: boolean; large: LargeResult['timing'] };
}

/** Least-squares slope of x(t), t = step·dt, over samples with EDGE ≤ x ≤ Lx-1-EDGE; NaN below 3 samples. */
export function wallVelocity(tr: Pick<Trace, 'steps' | 'x'>, Lx: number, dt: number): { v: number; samples: number } {
  const pts: [number, number][] = [];
  tr.steps.forEach((s, k) => {
    const x = tr.x[k];
    if (Number.isFinite(x) && x >= EDGE && x <= Lx - 1 - EDGE) pts.push([s * dt, x]);
  });
  const n = pts.length;
  if (n < 3) return { v: NaN, samples: n };
  const mt = pts.reduce((a, p) => a + p[0], 0) / n, mx = pts.reduce((a, p) => a + p[1], 0) / n;
  let sxy = 0, sxx = 0;
  for (const [t, x] of pts) (sxy += (t - mt) * (x - mx)), (sxx += (t - mt) ** 2);
  return { v: sxx > 0 ? sxy / sxx : NaN, samples: n };
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

function metricsOf(c: DemoConfig, runs: RunResult[], large: LargeResult, timing: { seconds: number; resumed: boolean }): DemoMetrics {
  const perMu = runs.map((r) => {
    const vn = wallVelocity(r.negf, c.lattice.Lx, c.dynamics.dt);
    // realisation 0 is the paired run (r.ml itself)
    const fits = (r.ml.realisations ?? [{ x: r.ml.x }]).map((q) => wallVelocity({ steps: r.ml.steps, x: q.x }, c.lattice.Lx, c.dynamics.dt));
    const vm = fits[0], each = fits.map((f) => f.v);
    const vMean = mean(each);
    const vSd = each.length > 1 ? Math.sqrt(each.reduce((a, v) => a + (v - vMean) ** 2, 0) / (each.length - 1)) : NaN;
    const mlAt = new Map(r.ml.steps.map((s, k) => [s, r.ml.x[k]]));
    const steps = r.negf.steps.filter((s) => mlAt.has(s));
    const negf = steps.map((s) => r.negf.x[r.negf.steps.indexOf(s)]), ml = steps.map((s) => mlAt.get(s)!);
    const error = steps.map((_, k) => Math.abs(ml[k] - negf[k]));
    const finite = error.filter(Number.isFinite);
    const all = r.evaluation.regions.all;
    return {
      mu: r.mu,
      heldOutFperp: { set: r.evaluation.set, rmse: all.rmseTotal, r2: all.r2, samples: all.samples },
      velocity: { negf: vn.v, ml: vMean, ratio: vMean / vn.v, mlSd: vSd, mlRealisations: each, paired: { ml: vm.v, ratio: vm.v / vn.v }, fitSamples: { negf: vn.samples, ml: vm.samples } },
      wallPosition: {
        steps, negf, ml, error,
        maxError: finite.length ? Math.max(...finite) : NaN,
        rmsError: finite.length ? Math.sqrt(finite.reduce((a, e) => a + e * e, 0) / finite.length) : NaN,
      },
    };
  });
  const negfStep = mean(runs.map((r) => r.negf.secondsPerStep)), mlStep = mean(runs.map((r) => r.ml.secondsPerStep));
  return {
    config: c,
    perMu,
    summary: {
      maxRatioDeviation: Math.max(...perMu.map((p) => Math.abs(p.velocity.ratio - 1))),
      maxWallError: Math.max(...perMu.map((p) => p.wallPosition.maxError)),
      meanFperpRmse: mean(perMu.map((p) => p.heldOutFperp.rmse)),
    },
    large: { config: large.config, mu: large.mu, spins: large.spins, trainingLattice: large.trainingLattice, lead: large.lead, zoom: large.zoom, snapshots: large.snapshots },
    timing: { negfSecondsPerStep: negfStep, mlSecondsPerStep: mlStep, speedup: negfStep / mlStep, demoSeconds: timing.seconds, resumed: timing.resumed, large: large.timing },
  };
}

const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toPrecision(d) : 'n/a');

/** Write metrics.json, figures/*.svg and report.md into `dir`; returns the metrics. */
export function writeReport(dir: string, c: DemoConfig, runs: RunResult[], large: LargeResult, timing: { seconds: number; resumed: boolean }): DemoMetrics {
  const m = metricsOf(c, runs, large, timing);
  const figs = join(dir, 'figures');
  mkdirSync(figs, { recursive: true });
  const dt = c.dynamics.dt, Lx = c.lattice.Lx;
  const t = (steps: number[]) => steps.map((s) => s * dt);

  const wallSeries: Series[] = runs.flatMap((r, k) => [
    { name: `NEGF μ=${r.mu}`, x: t(r.negf.steps), y: r.negf.x, colour: PALETTE[k % PALETTE.length] },
    { name: `ML μ=${r.mu}`, x: t(r.ml.steps), y: r.ml.x, colour: PALETTE[k % PALETTE.length], dashed: true },
  ]);
  writeFileAtomic(join(figs, 'wall-position.svg'), linePlotSvg(wallSeries, { title: 'AFM|FM wall position: NEGF-LL (solid) vs ML-LL (dashed)', xlabel: 'time (ħ/t)', ylabel: 'x_DW (columns)', yRange: [0, Lx - 1] }));
  const mus = m.perMu.map((p) => p.mu);
  writeFileAtomic(
    join(figs, 'wall-velocity.svg'),
    linePlotSvg(
      [
        { name: 'NEGF-LL', x: mus, y: m.perMu.map((p) => p.velocity.negf), colour: PALETTE[0], markers: true },
        { name: 'ML-LL (mean)', x: mus, y: m.perMu.map((p) => p.velocity.ml), colour: PALETTE[1], markers: true, dashed: true },
        {
          name: 'ML-LL (each noise)',
          x: m.perMu.flatMap((p) => p.velocity.mlRealisations.map(() => p.mu)),
          y: m.perMu.flatMap((p) => p.velocity.mlRealisations),
          colour: PALETTE[4], markers: true, noLine: true,
        },
      ],
      { title: 'Wall velocity vs electrode potential', xlabel: 'μ (t)', ylabel: 'v (columns per ħ/t)' },
    ),
  );
  writeFileAtomic(
    join(figs, 'wall-error.svg'),
    linePlotSvg(
      m.perMu.map((p, k) => ({ name: `μ=${p.mu}`, x: t(p.wallPosition.steps), y: p.wallPosition.error, colour: PALETTE[k % PALETTE.length] })),
      { title: 'Wall-position error |x_ML - x_NEGF|', xlabel: 'time (ħ/t)', ylabel: 'columns' },
    ),
  );
  runs.forEach((r, k) => {
    copyFileSync(join(dir, r.parity), join(figs, `parity-mu${k}.svg`));
    const row = (label: string, tr: Trace) => ({ label, panels: tr.textures.map((x) => ({ label: `t = ${x.step * dt}`, values: x.c })) });
    writeFileAtomic(
      join(figs, `textures-mu${k}.svg`),
      latticeMapsSvg([row('NEGF-LL', r.negf), row('ML-LL', r.ml)], Lx, c.lattice.Ly, { title: `c_i = mean_j S_i·S_j at μ = ${r.mu} (blue AFM, red FM)`, scaleLabel: 'c_i' }),
    );
  });
  writeFileAtomic(join(dir, 'metrics.json'), JSON.stringify(m, null, 2) + '\n');

  const rows = m.perMu.map(
    (p) =>
      `| ${p.mu} | ${fmt(p.heldOutFperp.rmse)} | ${fmt(p.heldOutFperp.r2, 4)} | ${fmt(p.velocity.negf)} | ${fmt(p.velocity.ml)} ± ${fmt(p.velocity.mlSd, 2)} | ${fmt(p.velocity.ratio)} | ${fmt(p.velocity.paired.ratio)} | ${fmt(p.wallPosition.maxError)} | ${fmt(p.wallPosition.rmsError)} |`,
  );
  const md = [
    `# neqspin demo: voltage-driven AFM|FM front, NEGF-LL vs ML-LL (${c.name})`,
    '',
    `Lattice ${c.lattice.Lx}×${c.lattice.Ly} (periodic y), J = ${c.model.J}, wide-band leads, electron T = ${c.temperature}, ` +
      `midpoint LL α = ${c.dynamics.alpha}, dt = ${dt}, kT = ${c.dynamics.temperature} (${c.dynamics.noise} noise); physics of preset \`${c.preset}\`. ` +
      (c.initialFile
        ? `Initial state: the authors' snapshot ${basename(c.initialFile)}, tilt ${c.front.tilt}. `
        : `Initial state: Néel AFM along z with the right ${c.front.seedWidth} columns ferromagnetic at ${fmt((c.front.angle * 180) / Math.PI)}° from z, tilt ${c.front.tilt}. `) +
      `Per μ: ${c.dataset.trajectories} NEGF-LL training trajectories of ${c.dataset.steps} steps (snapshot every ${c.dataset.every}), ` +
      `one model (${c.train.potentials === 'two' ? 'potentials E and Φ' : 'potential E alone, Φ ≡ 0: at muL = muR the NEGF field is conservative'}; hidden ${c.train.hidden.join(',')}, ${c.train.epochs} epochs), and a held-out comparison of ${c.compare.steps} steps (seed ${c.seed}).`,
    '',
    '## Agreement',
    '',
    `| μ | F⊥ RMSE (t) | F⊥ R² | v NEGF | v ML (mean ± sd, ${c.compare.realisations} noise) | v ML/NEGF | paired ML/NEGF | max \\|Δx\\| | rms \\|Δx\\| |`,
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Velocities in columns per ħ/t (negative: the FM phase grows towards the left electrode), fitted where the wall is ≥ ${EDGE} columns from both electrodes. ` +
      `v ML: mean ± standard deviation over ${c.compare.realisations} ML-LL runs from the held-out state with different thermal noise; "paired": the one with the NEGF-LL run's own noise, ` +
      `whose wall-position error |Δx| is given. ` +
      `F⊥ errors on the held-out trajectory (test split). Largest |v_ML/v_NEGF − 1|: ${fmt(m.summary.maxRatioDeviation)}.` +
      (m.perMu.some((p) => p.velocity.fitSamples.negf < 3 || p.velocity.fitSamples.ml < 3)
        ? ` n/a: fewer than 3 samples with the wall that far from the electrodes (${m.perMu.map((p) => `μ = ${p.mu}: ${p.velocity.fitSamples.negf} NEGF, ${p.velocity.fitSamples.ml} ML`).join('; ')}); a longer run moves the front into the bulk.`
        : ''),
    '',
    '## Cost',
    '',
    `Time per LL step: NEGF-LL ${fmt(m.timing.negfSecondsPerStep * 1e3)} ms (${c.negfDevice === 'gpu' ? 'f32 GPU solve, batched over the trajectories of a μ' : 'float64 CPU solve'}), ML-LL ${fmt(m.timing.mlSecondsPerStep * 1e3)} ms (GPU): speed-up ${fmt(m.timing.speedup)}×. ` +
      `This run took ${fmt(m.timing.demoSeconds)} s${m.timing.resumed ? ' (resumed: the part after the restart)' : ''}.`,
    '',
    '## Figures',
    '',
    '![wall position](figures/wall-position.svg)',
    '',
    '![wall velocity](figures/wall-velocity.svg)',
    '',
    '![wall-position error](figures/wall-error.svg)',
    '',
    ...runs.flatMap((r, k) => [`### μ = ${r.mu}`, '', `![textures](figures/textures-mu${k}.svg)`, '', `![parity](figures/parity-mu${k}.svg)`, '']),
    ...largeSection(c, large),
  ];
  writeFileAtomic(join(dir, 'report.md'), md.join('\n'));
  return m;
}

/** The report section of the large-lattice run (./large.ts). */
function largeSection(c: DemoConfig, r: LargeResult): string[] {
  const l = r.config, t = r.timing, dt = c.dynamics.dt;
  const ratio = r.spins / (r.trainingLattice.Lx * r.trainingLattice.Ly);
  return [
    '## Large lattice',
    '',
    `The model of μ = ${r.mu} (trained on ${r.trainingLattice.Lx}×${r.trainingLattice.Ly}) drives ML-LL on ${l.Lx}×${l.Ly} = ${r.spins} spins (${fmt(ratio)}× the training lattice) for ${l.steps} steps (t = ${l.steps * dt} ħ/t). ` +
      `Initial state: Néel AFM along z with the right ${c.front.seedWidth} columns ferromagnetic at ${fmt((c.front.angle * 180) / Math.PI)}° from z across the full width` +
      (l.nucleusRadius > 0 ? ` and FM discs of radius ${l.nucleusRadius} on a ${l.nucleusPitch}-site grid in the bulk` : '') +
      `, tilt ${c.front.tilt}. The straight front at the right electrode is the training geometry; the discs' curved fronts are not in the training set (their growth extrapolates the local model). ` +
      (r.lead.kind === 'column'
        ? 'Lead features: the raw column index (extrapolated beyond the training lattice).'
        : `Lead features: ${r.lead.kind} distance to each electrode with range ${r.lead.range}, so sites ≥ ${r.lead.range} columns from both electrodes carry exactly the bulk values of the training lattice.`),
    '',
    `**Throughput: ${fmt(t.spinStepsPerSecond)} spin-steps/s** (${fmt(t.secondsPerStep * 1e3)} ms per step, ${t.chunks} field chunk${t.chunks > 1 ? 's' : ''}; ${t.adapter}${t.software ? ', software adapter' : ''}; warm-up step excluded).`,
    '',
    'Colour: c_i = mean_j S_i·S_j over the nearest neighbours, blue −1 (AFM), white 0 (wall), red +1 (FM), grey: no value; ' +
      `x to the right (left electrode at the left edge), y upwards. Zoom: columns ${r.zoom.x0}-${r.zoom.x0 + r.zoom.width - 1}, rows ${r.zoom.y0}-${r.zoom.y0 + r.zoom.height - 1} (the right-hand front and the nearest disc).`,
    '',
    '| step | t (ħ/t) | mean c_i | FM fraction (c_i > 0) | map | zoom |',
    '|---|---|---|---|---|---|',
    ...r.snapshots.map((s) => `| ${s.step} | ${s.step * dt} | ${fmt(s.cMean, 4)} | ${fmt(s.fmFraction, 4)} | [map](${s.image}) | [zoom](${s.zoom}) |`),
    '',
    ...r.snapshots.flatMap((s) => [`t = ${s.step * dt}: ![c_i at t = ${s.step * dt}](${s.image}) ![zoom at t = ${s.step * dt}](${s.zoom})`, '']),
  ];
}
