/**
 * `neqspin demo --scenario stt` (src/demo/stt.ts, sttReport.ts): the quick pipeline end to end
 * through the CLI, resume reproducing the uninterrupted metrics, and the physics the report rests
 * on, checked on a tiny float64 case:
 *   - the NEGF field under bias is nonconservative: its work around closed loops in configuration
 *     space (all spins rotated about z; one spin rotated about a tilted axis) is nonzero, while at
 *     V = 0 it vanishes (F = -∂Ω/∂S); the wall-rotation work equals π e·(I_s,L + I_s,R), the
 *     torque sum rule with independently computed spin currents;
 *   - a single-potential model has zero net torque and zero wall-rotation work (quick run);
 *   - the FM wall position of a Néel/Bloch texture (fmWallPosition).
 * The quick configuration's agreement numbers are not asserted (docs/demo-stt.md has the default's).
 */
import { expectResumeReproduces } from './helpers/demo.js';
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { Lattice } from '../src/lattice/lattice.js';
import { columnAverages } from '../src/lattice/observables.js';
import { domainWall, tilted, uniform } from '../src/lattice/textures.js';
import { CpuNegfProvider } from '../src/negf/provider.js';
import { fmWallPosition, loopWork, rotationLoop, runSttDemo, sttConfig, netTorque } from '../src/demo/stt.js';
import type { SttMetrics } from '../src/demo/sttReport.js';
import type { Vec3 } from '../src/dynamics/params.js';

const root = mkdtempSync(join(tmpdir(), 'neqspin-stt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const run = runCli;

/** metrics without the timings (the only non-deterministic part) */
const physics = (m: SttMetrics) => ({ config: m.config, perBias: m.perBias, summary: m.summary });
const first = join(root, 'first');

describe('neqspin demo --scenario stt', () => {
  it('--quick writes report, figures and metrics; single-potential torque and loop work vanish, NEGF loop work obeys the sum rule', async () => {
    const r = await run(['-q', 'demo', '--scenario', 'stt', '--quick', '--out', first]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^demo stt: V=0: /);
    expect(existsSync(`${first}.partial`)).toBe(false);
    const m = JSON.parse(readFileSync(join(first, 'metrics.json'), 'utf8')) as SttMetrics;
    const c = sttConfig('quick', 0);
    expect(m.scenario).toBe('stt');
    expect(m.perBias.map((p) => p.V)).toEqual(c.biases);
    for (const p of m.perBias) {
      for (const kind of ['two', 'single', 'torque'] as const) {
        expect(p.heldOutFperp[kind].set).toBe('test');
        for (const v of [p.heldOutFperp[kind].rmse, p.heldOutFperp[kind].r2, p.torque.rmse[kind], p.loopWork[kind]]) expect(Number.isFinite(v)).toBe(true);
        // same initial state for NEGF-LL and ML-LL (ML samples from f32 spins: 1e-5)
        expect(Math.abs(p.wallPosition[kind][0] - p.wallPosition.negf[0])).toBeLessThan(1e-5);
      }
      // sum rule: W = 2π τ_z = π e·(I_s,L + I_s,R); both sides from the same float64 solve family, fixed grid error ≲ 1e-4 (provider.ts)
      expect(Math.abs(p.loopWork.negf - p.loopWork.sumRule)).toBeLessThan(1e-3 * Math.max(1, Math.abs(p.loopWork.sumRule)));
      // a rotation-invariant E has Σ S × h = 0 exactly: float64 twin, round-off only
      expect(Math.abs(p.loopWork.single)).toBeLessThan(1e-9);
      for (const t of p.torque.single) expect(Math.abs(t)).toBeLessThan(1e-9);
      expect(p.torque.steps.length).toBe(Math.ceil(c.compare.steps / c.dataset.every));
    }
    // the torque model on the long strip: the wall is tracked at every sample (the quick model is
    // untrained noise, so only the bookkeeping is checked here; docs/demo-stt.md has the default)
    expect(m.long.spins).toBe(c.long.factor * c.lattice.Lx * c.lattice.Ly);
    expect(m.long.V).toBe(c.biases.at(-1));
    expect(m.long.fitSamples).toBe(c.long.steps / c.long.sampleEvery + 1);
    expect(Number.isFinite(m.long.displacement) && Number.isFinite(m.long.v)).toBe(true);
    expect(m.long.spinStepsPerSecond).toBeGreaterThan(0);
    const biased = m.perBias.find((p) => p.V !== 0)!, zero = m.perBias.find((p) => p.V === 0)!;
    // the current-driven wall moves against the electron flow (SPEC's LL convention), towards x = 0
    expect(biased.current).toBeGreaterThan(0);
    expect(biased.loopWork.negf).toBeGreaterThan(0);
    expect(Math.abs(zero.loopWork.negf)).toBeLessThan(1e-6);
    const md = readFileSync(join(first, 'report.md'), 'utf8');
    const figs = [...md.matchAll(/\]\((figures\/[^)]+\.svg)\)/g)].map((x) => x[1]);
    expect(figs.length).toBe(8 + 3 * c.biases.length); // 8 summary figures, one parity plot per model and V
    for (const f of figs) expect(readFileSync(join(first, f), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
  });

  it('resumes after a kill between stages with the same metrics as an uninterrupted run', async () => {
    await expectResumeReproduces(runSttDemo, sttConfig('quick', 0), join(root, 'resumed'), first, physics);
  });

  it('bad --scenario, and afm-fm flags with stt, give one line and exit code 2', async () => {
    for (const args of [
      ['demo', '--scenario', 'skyrmion', '--out', join(root, 'bad1')],
      ['demo', '--scenario', 'stt', '--steps', '10', '--out', join(root, 'bad2')],
    ]) {
      const r = await run(args);
      expect(r.code).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/--scenario|--steps/);
    }
  });
});

describe('STT physics on a tiny float64 case', () => {
  // 8-site chain, half-metal: majority band [-4, 0], minority [0, 4]; window [-2.4, -1.6] inside the majority band only
  const lat = new Lattice({ Lx: 8, Ly: 1, periodicY: false });
  const s0 = tilted(domainWall(lat, 'neel', { x0: 3.7, width: 1.5 }), 0.2, 5);
  const provider = (V: number) =>
    new CpuNegfProvider({ lattice: { Lx: 8, Ly: 1 }, model: { t: 1, J: 2 }, leads: { kind: 'wide-band', gamma: 1 }, muL: -2 + V / 2, muR: -2 - V / 2, temperature: 0.05 }, { realPanels: 4 });
  const field = (p: CpuNegfProvider) => async (s: Float64Array) => (await p.fields(s)).F;
  // 16 nodes: the periodic trapezoid rule converges geometrically for the smooth F(φ)
  const M = 16;
  const loops = { rotation: rotationLoop(s0), spin: rotationLoop(s0, [1, 1, 1], [3]) };

  it('the work of F around closed loops vanishes at V = 0 and not under bias; wall-rotation work = π e·(I_s,L + I_s,R)', async () => {
    const eq = provider(0), neq = provider(0.8);
    const scale = Math.max(...Array.from((await eq.fields(s0)).F, Math.abs)); // |F| ~ J n
    for (const loop of Object.values(loops)) {
      const w0 = await loopWork(field(eq), loop, M), w1 = await loopWork(field(neq), loop, M);
      // equilibrium: F = -∂Ω/∂S, exact differential; the contour error of CpuNegfProvider is ≲ 1e-8·|F|
      expect(Math.abs(w0)).toBeLessThan(1e-6 * scale);
      // nonequilibrium: a nonconservative part far above that tolerance
      expect(Math.abs(w1)).toBeGreaterThan(1e-3 * scale);
    }
    const r = neq.solve(s0);
    const w = await loopWork(field(neq), loops.rotation, M);
    // the wall-rotation work from 16 solves vs one solve's spin currents (realPanels 4: ≲ 1e-6)
    expect(Math.abs(w - Math.PI * (r.spinCurrentL[2] + r.spinCurrentR[2]))).toBeLessThan(1e-5 * Math.abs(w));
    // and equals 2π τ_z at any point of the loop (rotation symmetry about z)
    expect(Math.abs(w - 2 * Math.PI * netTorque(s0, (await neq.fields(s0)).F))).toBeLessThan(1e-5 * Math.abs(w));
  });

  it('loopWork integrates a known field exactly: F = -∇(Σ B·S) has zero work, F = S × B-rotation has 2π|S⊥|² per spin', async () => {
    const B: Vec3 = [0.3, -0.2, 0.9];
    const constant = () => Float64Array.from({ length: 3 * lat.N }, (_, p) => B[p % 3]);
    expect(Math.abs(await loopWork(constant, loops.rotation, 8))).toBeLessThan(1e-12);
    // F_i = z × S_i is the loop tangent itself: W = 2π Σ |z × S_i|²
    const swirl = (s: Float64Array) => rotationLoop(s).tangent(0);
    let want = 0;
    for (let i = 0; i < lat.N; i++) want += 2 * Math.PI * (s0[3 * i] ** 2 + s0[3 * i + 1] ** 2);
    expect(Math.abs((await loopWork(swirl, loops.rotation, 8)) - want)).toBeLessThan(1e-12 * want);
  });
});

describe('fmWallPosition', () => {
  const lat = new Lattice({ Lx: 20, Ly: 3, periodicY: true });
  it('finds the centre of Néel and Bloch walls: exact at a half-integer centre, within the interpolation bound elsewhere', () => {
    for (const type of ['neel', 'bloch'] as const) {
      expect(fmWallPosition(columnAverages(lat, domainWall(lat, type, { x0: 9.5, width: 2 })))).toBeCloseTo(9.5, 12);
      // S_z = -tanh((x-x0)/Δ): linear interpolation over one column errs by ≤ max|p''|/(8 min|p'|) ≈ 0.19/(8·0.45) < 0.06 for Δ = 2
      for (const x0 of [6.3, 11.8, 13.05]) expect(Math.abs(fmWallPosition(columnAverages(lat, domainWall(lat, type, { x0, width: 2 }))) - x0)).toBeLessThan(0.06);
    }
  });
  it('follows the easy axis: a rotated texture with the rotated axis gives the same position; no wall gives NaN', () => {
    const s = domainWall(lat, 'neel', { x0: 7.3, width: 1.5 });
    const R = (v: Vec3): Vec3 => [v[2], v[0], v[1]]; // cyclic permutation: a proper rotation taking z to x
    const r = new Float64Array(s.length);
    for (let i = 0; i < lat.N; i++) r.set(R([s[3 * i], s[3 * i + 1], s[3 * i + 2]]), 3 * i);
    expect(fmWallPosition(columnAverages(lat, r), R([0, 0, 1]))).toBeCloseTo(fmWallPosition(columnAverages(lat, s)), 12);
    expect(fmWallPosition(columnAverages(lat, uniform(lat)))).toBeNaN();
  });
});
