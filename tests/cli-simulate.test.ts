import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSimulation, analyticWallVelocity } from '../src/cli/simulate.js';
import { parseSimulateConfig } from '../src/io/config.js';
import { readNpy } from '../src/io/npy.js';
import { readOvf } from '../src/io/ovf.js';
import { parseCsv } from '../src/io/csv.js';
import { main } from '../src/cli/main.js';

const root = mkdtempSync(join(tmpdir(), 'neqspin-sim-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A Walker wall in a thin strip: B = 0.4 B_W, Δ(φ) ≈ 4.6, v_analytic ≈ 0.23; the wall angle relaxes
// within t ~ 1/(α Kh) = 20, the velocity is fitted over t in [150, 300].
const walker = {
  lattice: { Lx: 160, Ly: 2, periodicY: false },
  initial: { kind: 'neel-wall', x0: 40, width: 5 },
  dynamics: { integrator: 'heun', alpha: 0.5, dt: 0.1, steps: 3000, sampleEvery: 50, snapshotEvery: 1000 },
  fields: { B: [0, 0, 0.02], K: 0.02, easyAxis: [0, 0, 1], Kh: 0.1, hardAxis: [0, 1, 0], JH: 1 },
  output: { ovf: 'text', npy: true },
};

describe('neqspin simulate', () => {
  it('drives a Walker wall at the analytic velocity (5%) and writes OVF/npy/CSV', async () => {
    const cfg = parseSimulateConfig(walker);
    const out = join(root, 'walker');
    const s = (await runSimulation(cfg, out, { quiet: true }))!;
    const ref = analyticWallVelocity(cfg)!;
    expect(ref.model).toMatch(/Walker/);
    expect(Math.abs(s.wall.velocity! / ref.v - 1)).toBeLessThan(0.05);
    for (const f of ['config.json', 'observables.csv', 'final.ovf', 'final.npy', 'summary.json', 'snapshots/step_00001000.ovf']) expect(existsSync(join(out, f))).toBe(true);
    expect(existsSync(`${out}.partial`)).toBe(false);
    expect(existsSync(join(out, 'checkpoint.npy'))).toBe(false);
    const fin = readNpy(join(out, 'final.npy'));
    expect(fin.shape).toEqual([2, 160, 3]);
    const ovf = readOvf(join(out, 'final.ovf'));
    for (let k = 0; k < fin.data.length; k++) expect(Math.abs(ovf.data[k] - Number(fin.data[k]))).toBeLessThan(1e-6);
    const csv = parseCsv(readFileSync(join(out, 'observables.csv'), 'utf8'));
    expect(csv.columns).toEqual(['step', 't', 'mx', 'my', 'mz', 'cMean', 'wall']);
    expect(csv.rows.length).toBe(3000 / 50);
  });

  it('resumes a killed run to the same final state (Heun: no history to lose)', async () => {
    const cfg = parseSimulateConfig({ ...walker, dynamics: { ...walker.dynamics, steps: 600, snapshotEvery: 200, temperature: 0.01, seed: 9 } });
    const a = join(root, 'straight'), b = join(root, 'killed');
    await runSimulation(cfg, a, { quiet: true });
    expect(await runSimulation(cfg, b, { quiet: true, haltAfter: 200 })).toBeUndefined();
    expect(existsSync(b)).toBe(false); // nothing at the target while unfinished
    expect(existsSync(join(`${b}.partial`, 'checkpoint.json'))).toBe(true);
    await runSimulation(cfg, b, { quiet: true, resume: true });
    const fa = readNpy(join(a, 'final.npy')).data, fb = readNpy(join(b, 'final.npy')).data;
    expect(Array.from(fb)).toEqual(Array.from(fa));
    expect(readFileSync(join(a, 'observables.csv'), 'utf8')).toBe(readFileSync(join(b, 'observables.csv'), 'utf8'));
  });

  it('bad config: one-line error naming the field, exit 2, nothing written', async () => {
    const bad = join(root, 'bad.json');
    writeFileSync(bad, JSON.stringify({ ...walker, dynamics: { ...walker.dynamics, dt: -1 } }));
    const out = join(root, 'never');
    const errs: string[] = [];
    const orig = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((s: string) => (errs.push(String(s)), true)) as typeof process.stderr.write;
    let code: number;
    try {
      code = await main(['simulate', '--config', bad, '--out', out, '--quiet']);
    } finally {
      process.stderr.write = orig;
    }
    expect(code).toBe(2);
    expect(errs.join('')).toMatch(/^neqspin: config error: dynamics\.dt: .*\n$/);
    expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
  });
});
