/**
 * `neqspin demo --quick` end to end (src/demo, src/cli/demo.ts): the report files and finite
 * metrics; a run killed between stages and resumed reproduces the uninterrupted run's metrics
 * exactly (all but the timings are deterministic); bad flags give one line and exit code 2.
 * The quick configuration (8×4, 2 potentials, 30-step trajectories) checks the pipeline, not the
 * physics: its agreement numbers are not asserted (docs/demo.md has those of the default).
 */
import { expectResumeReproduces } from './helpers/demo.js';
import { describe, it, expect, afterAll } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { demoConfig, trajectorySeed } from '../src/demo/config.js';
import { readTrace, runDemo, textureSteps } from '../src/demo/run.js';
import { wallVelocity, type DemoMetrics } from '../src/demo/report.js';
import { latticeMapsSvg, linePlotSvg } from '../src/demo/svg.js';

const root = mkdtempSync(join(tmpdir(), 'neqspin-demo-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const run = runCli;

/** metrics without the timings (the only non-deterministic part) */
const physics = (m: DemoMetrics) => ({ config: m.config, perMu: m.perMu, summary: m.summary, large: m.large });

const first = join(root, 'first');

describe('neqspin demo', () => {
  it('--quick writes report, figures and finite metrics; the output folder appears only when complete', async () => {
    const r = await run(['-q', 'demo', '--quick', '--out', first]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/v_ML\/v_NEGF/);
    expect(existsSync(`${first}.partial`)).toBe(false);
    const m = JSON.parse(readFileSync(join(first, 'metrics.json'), 'utf8')) as DemoMetrics;
    const c = demoConfig('quick', 0);
    expect(m.perMu.map((p) => p.mu)).toEqual(c.mu);
    for (const p of m.perMu) {
      for (const v of [p.heldOutFperp.rmse, p.heldOutFperp.r2, p.wallPosition.maxError]) expect(Number.isFinite(v)).toBe(true);
      expect(p.heldOutFperp.set).toBe('test');
      expect(p.wallPosition.steps[0]).toBe(0);
      expect(p.wallPosition.steps.at(-1)).toBe(c.compare.steps);
      // both runs start from the same state: no error at t = 0
      expect(p.wallPosition.error[0]).toBeLessThan(1e-5);
      // ML velocity: mean over the noise realisations, the first being the paired run
      const v = p.velocity;
      expect(v.mlRealisations).toHaveLength(c.compare.realisations);
      expect(v.mlRealisations[0]).toBe(v.paired.ml);
      // JSON wrote NaN (a realisation whose front left the fit window) as null: then the mean is NaN too
      const each = v.mlRealisations.map((x) => x ?? NaN);
      if (each.some(Number.isNaN)) expect([v.ml, v.ratio]).toEqual([null, null]);
      else {
        expect(v.ml).toBeCloseTo(each.reduce((a, b) => a + b, 0) / each.length, 12);
        expect(v.ratio).toBeCloseTo(v.ml / v.negf, 12);
      }
    }
    // the realisations share the initial state (x at step 0) but not the noise (the traces differ)
    for (const [m, mu] of c.mu.entries()) {
      const tr = readTrace(join(first, `ml-mu${m}.json`));
      const seeds = tr.realisations!.map((q) => q.seed);
      expect(seeds[0], `μ = ${mu}`).toBe(trajectorySeed(c, m, c.dataset.trajectories));
      expect(new Set(seeds).size).toBe(c.compare.realisations);
      expect(tr.realisations![0].x).toEqual(tr.x);
      const [a, b] = tr.realisations!.map((q) => q.x);
      expect(b[0]).toBe(a[0]);
      expect(a.some((x, k) => x !== b[k] && Number.isFinite(x))).toBe(true);
    }
    for (const v of [m.timing.negfSecondsPerStep, m.timing.mlSecondsPerStep, m.timing.speedup]) expect(v).toBeGreaterThan(0);
    const md = readFileSync(join(first, 'report.md'), 'utf8');
    const figs = [...md.matchAll(/\]\((figures\/[^)]+\.svg)\)/g)].map((x) => x[1]);
    expect(figs.length).toBe(3 + 2 * c.mu.length);
    for (const f of figs) expect(readFileSync(join(first, f), 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    for (const d of ['data-mu0', 'model-mu1', 'negf-mu0.json', 'ml-mu1.json', 'large.json']) expect(existsSync(join(first, d))).toBe(true);
    // stage 4: the large-lattice maps (whole lattice and zoom per snapshot) are linked PNG files
    const pngs = [...new Set([...md.matchAll(/\]\((figures\/large-[^)]+\.png)\)/g)].map((x) => x[1]))];
    expect(pngs.length).toBe(2 * c.large!.snapshots);
    for (const f of pngs) expect(readFileSync(join(first, f)).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    expect(m.large.spins).toBe(c.large!.Lx * c.large!.Ly);
    expect(m.large.snapshots.map((s) => s.step)).toEqual([0, 3, 6]);
    for (const s of m.large.snapshots) expect(s.fmFraction).toBeGreaterThan(0);
    expect(m.timing.large.spinStepsPerSecond).toBeGreaterThan(0);
  });

  it('resumes after a kill between stages with the same metrics as an uninterrupted run', async () => {
    await expectResumeReproduces(runDemo, demoConfig('quick', 0), join(root, 'resumed'), first, physics);
  });

  it('bad flags and an existing output give one line and exit code 2', async () => {
    for (const args of [
      ['demo', '--seed', 'x', '--out', join(root, 'bad1')],
      ['demo', '--seed', '-3', '--out', join(root, 'bad2')],
      ['demo', '--bogus'],
      ['demo', '--preset', 'nope', '--out', join(root, 'bad3')],
      ['demo', '--preset', 'zhang-chern-2022', '--quick', '--out', join(root, 'bad4')],
      ['demo', '--quick', '--negf-device', 'tpu', '--out', join(root, 'bad5')],
      ['demo', '--quick', '--large', '10x10', '--out', join(root, 'bad6')],
      ['demo', '--quick', '--potentials', 'phi', '--out', join(root, 'bad7')],
      ['demo', '--scenario', 'stt', '--potentials', 'two', '--out', join(root, 'bad8')],
      ['demo', '--quick', '--out', first],
    ]) {
      const r = await run(['-q', ...args]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(/^neqspin: /);
    }
    expect(existsSync(join(root, 'bad1.partial'))).toBe(false);
  });
});

describe('demo metrics and figures', () => {
  it('wall velocity is the least-squares slope, restricted to walls away from the electrodes', () => {
    // x = 10 - 0.02 t (dt = 0.5): slope -0.02; points at x < 1 or x > Lx - 2 and NaN are ignored
    const steps = [0, 10, 20, 30, 40, 50, 60];
    const x = steps.map((s) => 10 - 0.02 * s * 0.5);
    expect(wallVelocity({ steps: [...steps, 70, 80], x: [...x, NaN, 0.2] }, 16, 0.5)).toEqual({ v: expect.closeTo(-0.02, 12), samples: 7 });
    expect(wallVelocity({ steps: [0, 10], x: [3, 4] }, 16, 0.5).v).toBeNaN();
  });

  it('texture steps are multiples of the sample interval from 0 to the last step', () => {
    const c = demoConfig('default', 0);
    const s = textureSteps(c);
    expect(s[0]).toBe(0);
    expect(s.at(-1)).toBe(c.compare.steps);
    expect(s.length).toBe(c.compare.snapshots);
    for (const v of s) expect(v % c.compare.sampleEvery).toBe(0);
  });

  it('SVG figures are well formed', () => {
    const line = linePlotSvg([{ name: 'a<b', x: [0, 1, 2], y: [1, NaN, 3], colour: '#000' }], { title: 't', xlabel: 'x', ylabel: 'y' });
    expect(line).toMatch(/^<svg[\s\S]*<\/svg>\n$/);
    expect(line).toContain('a&lt;b');
    expect(line.match(/<path d="([^"]*)"/)![1].match(/M/g)).toHaveLength(2); // the NaN breaks the line
    const map = latticeMapsSvg([{ label: 'r', panels: [{ label: 'p', values: [-1, 0, 1, 0.5] }] }], 2, 2, { title: 'm', scaleLabel: 'c' });
    expect(map).toContain('fill="#ffffff"');
    expect(map.match(/<rect x="[^"]*" y="[^"]*" width="\d+" height="\d+" fill="#/g)!.length).toBe(4);
  });
});
