/**
 * Stage 4 of `neqspin demo --scenario stt`: metrics.json, SVG figures and report.md (./stt.ts).
 *
 * Metrics (time in ħ/t, x in lattice columns, fields and torques in t):
 *   - held-out F⊥ error of each model (two-potential, single-potential, two-potential + bond-torque
 *     head) at every V: RMSE and R²
 *     from the training stage's evaluation on the test split (the held-out NEGF-LL trajectory);
 *   - held-out net torque τ_z = e·Σ S_i × F_i per snapshot: NEGF mean, RMS error of each model
 *     (a single-potential model has τ_z ≡ 0, see stt.ts);
 *   - wall-rotation loop work W = ∮ F·dS of NEGF, of each model, and the sum-rule value
 *     π e·(I_s,L + I_s,R) at the held-out initial state;
 *   - wall velocity: least-squares slope of x_DW(t) over the samples whose wall lies at least
 *     `margin` = max(EDGE, ⌈2Δ⌉) columns from both electrodes (report.ts wallVelocity), for NEGF-LL
 *     and every ML-LL run; ML/NEGF ratios (V ≠ 0); the spin-transfer estimate v_J = -<τ_z>/(2 L_y);
 *     the mobility dv/dV (least squares through the origin over all V);
 *   - wall-position error |x_ML - x_NEGF| at every sample (max, RMS) for every model;
 *   - long strip (stage 3): wall velocity of the torque model's ML-LL on a strip long.factor times
 *     longer (least squares over all samples), against the NEGF-LL velocity of the short strip at
 *     the same V, and the ML-LL throughput there;
 *   - timing (the only part that is not a deterministic function of the configuration and seed).
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { EDGE, wallVelocity } from './report.js';
import { PALETTE, latticeMapsSvg, linePlotSvg, type Series } from './svg.js';
import { MODEL_KINDS as KINDS, MODEL_LABEL as LABEL, perModel, type LongRun, type ModelKind, type SttConfig, type WallTrace } from './stt.js';

type PerModel<T> = Record<ModelKind, T>;

export interface SttRun {
  V: number;
  muL: number;
  muR: number;
  negf: WallTrace;
  ml: PerModel<WallTrace>;
  /** evaluation.json of each model */
  evaluation: PerModel<{ set: string; regions: Record<string, { rmseTotal: number; r2: number; samples: number }> }>;
  /** parity.svg of each model, relative to the output folder */
  parity: PerModel<string>;
  /** net torque τ_z on the held-out snapshots */
  torque: { steps: number[]; negf: number[] } & PerModel<number[]>;
  /** wall-rotation loop work at the held-out initial state; spinCurrent = e·(I_s,L + I_s,R); current = I_L */
  loop: { negf: number; spinCurrent: number; current: number } & PerModel<number>;
}

export interface SttMetrics {
  scenario: 'stt';
  config: SttConfig;
  perBias: {
    V: number;
    muL: number;
    muR: number;
    current: number;
    heldOutFperp: PerModel<{ set: string; rmse: number; r2: number; samples: number }>;
    /** τ_z per held-out snapshot (steps), NEGF and every model; NEGF mean; RMS error of each model */
    torque: { steps: number[]; negf: number[]; negfMean: number; rmse: PerModel<number> } & PerModel<number[]>;
    loopWork: { negf: number; sumRule: number } & PerModel<number>;
    velocity: { negf: number; spinTransfer: number; ratio: PerModel<number>; fitSamples: { negf: number } & PerModel<number> } & PerModel<number>;
    wallPosition: { steps: number[]; negf: number[]; maxError: PerModel<number>; rmsError: PerModel<number> } & PerModel<number[]>;
  }[];
  /** maxRatioDeviation: largest |v_ML/v_NEGF − 1| over V ≠ 0 per model (maxRatioDeviationTwo: the two-potential one) */
  summary: { margin: number; mobility: { negf: number } & PerModel<number>; meanFperpRmse: PerModel<number>; maxRatioDeviation: PerModel<number>; maxRatioDeviationTwo: number };
  /** the torque model on the long strip (v: its velocity; vNegf: NEGF-LL on the short strip, same V) */
  long: { V: number; lattice: LongRun['lattice']; spins: number; factor: number; steps: number; v: number; fitSamples: number; vNegf: number; ratio: number; displacement: number; spinStepsPerSecond: number };
  timing: { negfSecondsPerStep: number; mlSecondsPerStep: number; speedup: number; demoSeconds: number; resumed: boolean };
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
const rms = (v: number[]) => Math.sqrt(mean(v.map((x) => x * x)));

/** Slope of v = s·V through the origin (least squares over the finite velocities). */
function mobility(V: number[], v: number[]): number {
  let vv = 0, VV = 0;
  V.forEach((x, k) => Number.isFinite(v[k]) && ((vv += x * v[k]), (VV += x * x)));
  return VV > 0 ? vv / VV : NaN;
}

function metricsOf(c: SttConfig, runs: SttRun[], long: LongRun, timing: { seconds: number; resumed: boolean }): SttMetrics {
  const { Lx, Ly } = c.lattice, dt = c.dynamics.dt;
  const margin = Math.max(EDGE, Math.ceil(2 * c.wall.width));
  const fit = (tr: WallTrace) => wallVelocity({ steps: tr.steps, x: tr.x.map((x) => (x >= margin && x <= Lx - 1 - margin ? x : NaN)) }, Lx, dt);
  const perBias = runs.map((r) => {
    const vn = fit(r.negf), vm = perModel((kind) => fit(r.ml[kind]));
    const at = (tr: WallTrace) => new Map(tr.steps.map((s, k) => [s, tr.x[k]]));
    const mlAt = perModel((kind) => at(r.ml[kind]));
    const steps = r.negf.steps.filter((s) => KINDS.every((kind) => mlAt[kind].has(s)));
    const negf = steps.map((s) => r.negf.x[r.negf.steps.indexOf(s)]);
    const ml = perModel((kind) => steps.map((s) => mlAt[kind].get(s)!));
    const err = (kind: ModelKind) => steps.map((_, k) => Math.abs(ml[kind][k] - negf[k])).filter(Number.isFinite);
    const maxErr = (kind: ModelKind) => (err(kind).length ? Math.max(...err(kind)) : NaN);
    const rmsErr = (kind: ModelKind) => (err(kind).length ? rms(err(kind)) : NaN);
    const ev = (kind: ModelKind) => {
      const a = r.evaluation[kind].regions.all;
      return { set: r.evaluation[kind].set, rmse: a.rmseTotal, r2: a.r2, samples: a.samples };
    };
    const tRmse = (kind: ModelKind) => rms(r.torque[kind].map((t, k) => t - r.torque.negf[k]));
    const negfMean = mean(r.torque.negf);
    return {
      V: r.V, muL: r.muL, muR: r.muR, current: r.loop.current,
      heldOutFperp: perModel(ev),
      torque: { ...r.torque, negfMean, rmse: perModel(tRmse) },
      loopWork: { negf: r.loop.negf, sumRule: Math.PI * r.loop.spinCurrent, ...perModel((kind) => r.loop[kind]) },
      velocity: {
        negf: vn.v, ...perModel((kind) => vm[kind].v), spinTransfer: -negfMean / (2 * Ly),
        ratio: perModel((kind) => (r.V !== 0 ? vm[kind].v / vn.v : NaN)),
        fitSamples: { negf: vn.samples, ...perModel((kind) => vm[kind].samples) },
      },
      wallPosition: { steps, negf, ...ml, maxError: perModel(maxErr), rmsError: perModel(rmsErr) },
    };
  });
  const V = perBias.map((p) => p.V);
  const biased = perBias.filter((p) => p.V !== 0);
  const negfStep = mean(runs.map((r) => r.negf.secondsPerStep)), mlStep = mean(runs.flatMap((r) => KINDS.map((k) => r.ml[k].secondsPerStep)));
  return {
    scenario: 'stt',
    config: c,
    perBias,
    summary: {
      margin,
      mobility: { negf: mobility(V, perBias.map((p) => p.velocity.negf)), ...perModel((kind) => mobility(V, perBias.map((p) => p.velocity[kind]))) },
      meanFperpRmse: perModel((kind) => mean(perBias.map((p) => p.heldOutFperp[kind].rmse))),
      maxRatioDeviation: perModel((kind) => (biased.length ? Math.max(...biased.map((p) => Math.abs(p.velocity.ratio[kind] - 1))) : NaN)),
      maxRatioDeviationTwo: biased.length ? Math.max(...biased.map((p) => Math.abs(p.velocity.ratio.two - 1))) : NaN,
    },
    long: longMetrics(c, perBias, long),
    timing: { negfSecondsPerStep: negfStep, mlSecondsPerStep: mlStep, speedup: negfStep / mlStep, demoSeconds: timing.seconds, resumed: timing.resumed },
  };
}

function longMetrics(c: SttConfig, perBias: SttMetrics['perBias'], long: LongRun): SttMetrics['long'] {
  const { Lx } = long.lattice;
  const fit = wallVelocity({ steps: long.steps, x: long.x }, Lx, c.dynamics.dt);
  const short = perBias.find((p) => p.V === long.V);
  const vNegf = short ? short.velocity.negf : NaN;
  const finite = long.x.filter((x) => Number.isFinite(x));
  const last = finite.length ? finite[finite.length - 1] : NaN;
  return {
    V: long.V, lattice: long.lattice, spins: long.spins, factor: c.long.factor, steps: c.long.steps,
    v: fit.v, fitSamples: fit.samples, vNegf, ratio: fit.v / vNegf, displacement: last - long.x[0],
    spinStepsPerSecond: long.spins / long.secondsPerStep,
  };
}

const fmt = (v: number, d = 3) => (Number.isFinite(v) ? v.toPrecision(d) : 'n/a');

/** Write metrics.json, figures/*.svg and report.md into `dir`; returns the metrics. */
export function writeSttReport(dir: string, c: SttConfig, runs: SttRun[], long: LongRun, timing: { seconds: number; resumed: boolean }): SttMetrics {
  const m = metricsOf(c, runs, long, timing);
  const figs = join(dir, 'figures');
  mkdirSync(figs, { recursive: true });
  const dt = c.dynamics.dt, { Lx, Ly } = c.lattice;
  const t = (steps: number[]) => steps.map((s) => s * dt);
  const colour = (k: number) => PALETTE[k % PALETTE.length];
  const svg = (name: string, text: string) => writeFileAtomic(join(figs, name), text);

  for (const kind of KINDS) {
    svg(
      kind === 'two' ? 'wall-position.svg' : `wall-position-${kind}.svg`,
      linePlotSvg(
        runs.flatMap((r, k) => [
          { name: `NEGF V=${r.V}`, x: t(r.negf.steps), y: r.negf.x, colour: colour(k) },
          { name: `ML V=${r.V}`, x: t(r.ml[kind].steps), y: r.ml[kind].x, colour: colour(k), dashed: true },
        ]),
        { title: `FM wall position: NEGF-LL (solid) vs ${LABEL[kind]} ML-LL (dashed)`, xlabel: 'time (ħ/t)', ylabel: 'x_DW (columns)', yRange: [0, Lx - 1] },
      ),
    );
  }
  const V = m.perBias.map((p) => p.V);
  const byBias = (f: (p: SttMetrics['perBias'][number]) => number) => m.perBias.map(f);
  svg(
    'wall-velocity.svg',
    linePlotSvg(
      [
        { name: 'NEGF-LL', x: V, y: byBias((p) => p.velocity.negf), colour: PALETTE[0], markers: true },
        { name: 'ML-LL two-pot.', x: V, y: byBias((p) => p.velocity.two), colour: PALETTE[1], markers: true, dashed: true },
        { name: 'ML-LL single-pot.', x: V, y: byBias((p) => p.velocity.single), colour: PALETTE[2], markers: true, dashed: true },
        { name: 'ML-LL two-pot. + torque', x: V, y: byBias((p) => p.velocity.torque), colour: PALETTE[4], markers: true, dashed: true },
        { name: '-τ_z/(2 Ly)', x: V, y: byBias((p) => p.velocity.spinTransfer), colour: PALETTE[3], markers: true, noLine: true },
      ],
      { title: 'Wall velocity vs bias', xlabel: 'V = muL - muR (t)', ylabel: 'v (columns per ħ/t)' },
    ),
  );
  svg(
    'fperp-error.svg',
    linePlotSvg(
      KINDS.map((kind, k) => ({ name: LABEL[kind], x: V, y: byBias((p) => p.heldOutFperp[kind].rmse), colour: PALETTE[k + 1], markers: true })),
      { title: 'Held-out F⊥ RMSE: single vs two potentials vs two + bond torque', xlabel: 'V (t)', ylabel: 'RMSE of F⊥ (t)' },
    ),
  );
  svg(
    'torque.svg',
    linePlotSvg(
      runs.flatMap((r, k): Series[] => [
        { name: `NEGF V=${r.V}`, x: t(r.torque.steps), y: r.torque.negf, colour: colour(k) },
        { name: `two V=${r.V}`, x: t(r.torque.steps), y: r.torque.two, colour: colour(k), dashed: true },
        { name: `single V=${r.V}`, x: t(r.torque.steps), y: r.torque.single, colour: colour(k), markers: true, noLine: true },
        { name: `torque V=${r.V}`, x: t(r.torque.steps), y: r.torque.torque, colour: colour(k), dashed: true, markers: true },
      ]),
      { title: 'Net torque τ_z = z·Σ S×F on the held-out trajectory', xlabel: 'time (ħ/t)', ylabel: 'τ_z (t)', height: 420 },
    ),
  );
  const shortRun = runs.find((r) => r.V === long.V);
  const shift = (x: number[]) => x.map((v) => v - x[0]);
  svg(
    'long-strip.svg',
    linePlotSvg(
      [
        { name: `ML-LL two + torque, ${long.lattice.Lx}×${long.lattice.Ly}`, x: t(long.steps), y: shift(long.x), colour: PALETTE[4], markers: true },
        ...(shortRun ? [{ name: `NEGF-LL ${Lx}×${Ly}`, x: t(shortRun.negf.steps), y: shift(shortRun.negf.x), colour: PALETTE[0] }] : []),
      ],
      { title: `Wall displacement at V = ${long.V}: ${c.long.factor}× longer strip (ML) vs the NEGF strip`, xlabel: 'time (ħ/t)', ylabel: 'x_DW(t) − x_DW(0) (columns)' },
    ),
  );
  const last = runs.length - 1;
  const row = (label: string, tr: WallTrace) => ({ label, panels: tr.maps.map((x) => ({ label: `t = ${x.step * dt}`, values: x.values })) });
  svg(
    'textures.svg',
    latticeMapsSvg([row('NEGF-LL', runs[last].negf), row('ML two-pot.', runs[last].ml.two), row('ML single-pot.', runs[last].ml.single), row('ML two + torque', runs[last].ml.torque)], Lx, Ly, {
      title: `S_z at V = ${runs[last].V} (red +z, blue -z)`,
      scaleLabel: 'S_z',
    }),
  );
  runs.forEach((r, k) => KINDS.forEach((kind) => copyFileSync(join(dir, r.parity[kind]), join(figs, `parity-v${k}-${kind}.svg`))));
  writeFileAtomic(join(dir, 'metrics.json'), JSON.stringify(m, null, 2) + '\n');

  const P = m.perBias;
  const md = [
    `# neqspin demo --scenario stt: current-driven ferromagnetic wall (${c.name})`,
    '',
    `Metallic ferromagnetic strip ${Lx}×${Ly} (periodic y), s-d coupling J = ${c.model.J}, wide-band leads Γ = ${c.leads.gamma}, electron T = ${c.temperature}, ` +
      `muL = ${c.mu0} + V/2, muR = ${c.mu0} − V/2 (half-metal: only majority electrons at the Fermi level). Local spins: Heisenberg J_H = ${c.dynamics.JH}, ` +
      `easy axis z with K = ${c.dynamics.K}; midpoint LL α = ${c.dynamics.alpha}, dt = ${dt}, kT = ${c.dynamics.temperature} (${c.dynamics.noise} noise). ` +
      `Initial ${c.wall.type === 'neel' ? 'Néel' : 'Bloch'} wall of width ${c.wall.width} (+z left, −z right), tilt ${c.wall.tilt}. Per V: ${c.wall.train.length} training ` +
      `trajectories (walls at x = ${c.wall.train.join(', ')}) of ${c.dataset.steps} steps, snapshot every ${c.dataset.every}; held-out trajectory from x = ${c.wall.heldOut} ` +
      `(other tilt and noise seed), ${c.compare.steps} steps; two models per V with the same data, descriptor (rc 2, column index), network (hidden ${c.train.hidden.join(',')}, ` +
      `${c.train.epochs} epochs) and seed ${c.seed}: with the nonconservative potential Φ (two-potential), without it (single-potential), and with Φ plus the ` +
      `bond-torque head h_i += S_i × Σ_k a_k S_k + (Σ_k b_k S_k)⊥ over the four nearest bonds (coefficients predicted per site by the same network; src/model/torque.ts).`,
    '',
    '## Held-out F⊥: one potential vs two (vs two + bond torque)',
    '',
    '| V | muL / muR | F⊥ RMSE single | R² single | F⊥ RMSE two | R² two | F⊥ RMSE torque | R² torque | <τ_z> NEGF | τ_z RMSE single | τ_z RMSE two | τ_z RMSE torque | W NEGF | π I_s,z | W two | W single | W torque |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...P.map(
      (p) =>
        `| ${p.V} | ${p.muL} / ${p.muR} | ${fmt(p.heldOutFperp.single.rmse)} | ${fmt(p.heldOutFperp.single.r2, 4)} | ${fmt(p.heldOutFperp.two.rmse)} | ${fmt(p.heldOutFperp.two.r2, 4)} | ` +
        `${fmt(p.heldOutFperp.torque.rmse)} | ${fmt(p.heldOutFperp.torque.r2, 4)} | ` +
        `${fmt(p.torque.negfMean)} | ${fmt(p.torque.rmse.single)} | ${fmt(p.torque.rmse.two)} | ${fmt(p.torque.rmse.torque)} | ${fmt(p.loopWork.negf)} | ${fmt(p.loopWork.sumRule)} | ` +
        `${fmt(p.loopWork.two)} | ${fmt(p.loopWork.single)} | ${fmt(p.loopWork.torque)} |`,
    ),
    '',
    'RMSE and R² of F⊥ on the held-out trajectory (units t). τ_z = z·Σ_i S_i × F_i is the generalised force on the wall-rotation angle (the adiabatic ' +
      'spin-transfer torque); a single-potential model has τ_z ≡ 0 for every configuration (its E is rotation invariant). W = ∮ F·dS along the loop that ' +
      'rotates every spin about z by 2π, from the held-out initial state: zero for a conservative field; for NEGF it equals π e·(I_s,L + I_s,R) by the torque sum rule.',
    '',
    '## Wall velocity',
    '',
    '| V | current I_L | v NEGF | v two | v single | v torque | −τ_z/(2 L_y) | v two / v NEGF | v single / v NEGF | v torque / v NEGF | max \\|Δx\\| two | max \\|Δx\\| single | max \\|Δx\\| torque |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|---|',
    ...P.map(
      (p) =>
        `| ${p.V} | ${fmt(p.current)} | ${fmt(p.velocity.negf)} | ${fmt(p.velocity.two)} | ${fmt(p.velocity.single)} | ${fmt(p.velocity.torque)} | ${fmt(p.velocity.spinTransfer)} | ` +
        `${fmt(p.velocity.ratio.two)} | ${fmt(p.velocity.ratio.single)} | ${fmt(p.velocity.ratio.torque)} | ${fmt(p.wallPosition.maxError.two)} | ${fmt(p.wallPosition.maxError.single)} | ${fmt(p.wallPosition.maxError.torque)} |`,
    ),
    '',
    `Velocities in columns per ħ/t, fitted where the wall is ≥ ${m.summary.margin} columns from both electrodes; negative: towards the left electrode, ` +
      `against the electron flow (SPEC's LL convention, see docs/demo-stt.md). Mobility dv/dV: NEGF ${fmt(m.summary.mobility.negf)}, two-potential ` +
      `${fmt(m.summary.mobility.two)}, single-potential ${fmt(m.summary.mobility.single)}, two + bond torque ${fmt(m.summary.mobility.torque)} (columns per ħ/t per t). ` +
      `Largest |v_ML/v_NEGF − 1| over V ≠ 0: two-potential ${fmt(m.summary.maxRatioDeviation.two)}, two + bond torque ${fmt(m.summary.maxRatioDeviation.torque)}.`,
    '',
    `## Beyond NEGF's reach: a ${c.long.factor}× longer strip`,
    '',
    `The two + bond-torque model of V = ${m.long.V} (trained on ${Lx}×${Ly}; translation-invariant descriptor) drives ML-LL on a ` +
      `${m.long.lattice.Lx}×${m.long.lattice.Ly} strip (${m.long.spins} spins, ${c.long.factor}× the NEGF lattice) from a wall at its centre for ${c.long.steps} steps: ` +
      `v = ${fmt(m.long.v)} columns per ħ/t (${m.long.fitSamples} samples; displacement ${fmt(m.long.displacement)} columns) against v_NEGF = ${fmt(m.long.vNegf)} ` +
      `on the ${Lx}×${Ly} strip at the same V: ratio ${fmt(m.long.ratio)}. In the ballistic half-metal the current, and so the torque per unit wall, ` +
      `does not depend on the strip length. ML-LL throughput there: ${fmt(m.long.spinStepsPerSecond)} spin-steps/s.`,
    '',
    '![long strip](figures/long-strip.svg)',
    '',
    '## Cost',
    '',
    `Time per LL step: NEGF-LL ${fmt(m.timing.negfSecondsPerStep * 1e3)} ms (float64 CPU solve), ML-LL ${fmt(m.timing.mlSecondsPerStep * 1e3)} ms (GPU): ` +
      `speed-up ${fmt(m.timing.speedup)}×. This run took ${fmt(m.timing.demoSeconds)} s${m.timing.resumed ? ' (resumed: the part after the restart)' : ''}.`,
    '',
    '## Figures',
    '',
    '![wall position, two-potential](figures/wall-position.svg)',
    '',
    '![wall position, single-potential](figures/wall-position-single.svg)',
    '',
    '![wall position, two-potential + bond torque](figures/wall-position-torque.svg)',
    '',
    '![wall velocity](figures/wall-velocity.svg)',
    '',
    '![held-out F⊥ error](figures/fperp-error.svg)',
    '',
    '![net torque](figures/torque.svg)',
    '',
    '![textures](figures/textures.svg)',
    '',
    ...runs.flatMap((r, k) => [`### Parity at V = ${r.V}`, '', ...KINDS.flatMap((kind) => [`![parity ${kind}](figures/parity-v${k}-${kind}.svg)`, ''])]),
  ];
  writeFileAtomic(join(dir, 'report.md'), md.join('\n'));
  return m;
}
