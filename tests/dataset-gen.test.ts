import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateDataset, planTasks, type GenerateOptions } from '../src/negf/datasetGen.js';
import { CpuNegfProvider } from '../src/negf/provider.js';
import { readDataset } from '../src/io/dataset.js';
import { zhangChernReferenceDir } from '../src/io/reference.js';
import { main } from '../src/cli/main.js';

const root = mkdtempSync(join(tmpdir(), 'neqspin-dsgen-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const opts: GenerateOptions = {
  lattice: { Lx: 6, Ly: 2, periodicY: false },
  model: { t: 1, J: 3.79 },
  leads: { kind: 'wide-band', gamma: 2 },
  temperature: 0.01,
  dynamics: { alpha: 0.55, dt: 0.5, temperature: 0.0025, noise: 'authors' },
  tilt: 0.05,
  mu: [-3.25, -3.0],
  bias: [0, 0.4],
  trajectories: 1,
  steps: 6,
  every: 2,
  perturbed: 1,
  random: 1,
  seed: 5,
};
// per setting: 3 trajectory snapshots (steps 0, 2, 4) + 1 perturbed + 1 random; 4 settings
const EXPECTED = 4 * 5;

async function capture(argv: string[]): Promise<{ code: number; err: string }> {
  const errs: string[] = [];
  const orig = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((x: string) => (errs.push(String(x)), true)) as typeof process.stderr.write;
  try {
    return { code: await main(argv), err: errs.join('') };
  } finally {
    process.stderr.write = orig;
  }
}

describe('neqspin dataset generation', () => {
  const straight = join(root, 'straight');

  it('writes a readable dataset with the right shapes, split by trajectory', async () => {
    const s = await generateDataset(straight, opts);
    expect(s.count).toBe(EXPECTED);
    const { meta, data } = readDataset(straight);
    const N = 12;
    expect(meta.count).toBe(EXPECTED);
    expect(meta.arrays.find((a) => a.name === 'spins')!.shape).toEqual([EXPECTED, N, 3]);
    expect(meta.arrays.find((a) => a.name === 'density')!.shape).toEqual([EXPECTED, N]);
    // every planned trajectory id is in exactly one split part
    const ids = new Set(data.trajectory);
    expect(ids.size).toBe(planTasks(opts).length);
    const all = [...meta.split!.train, ...meta.split!.val, ...meta.split!.test].sort((a, b) => a - b);
    expect(all).toEqual([...ids].sort((a, b) => a - b));
    // the first trajectory: steps 0, 2, 4 at muL = muR = -3.25
    const rows = [...data.trajectory].flatMap((t, k) => (t === 0 ? [k] : []));
    expect(rows.map((k) => data.step[k])).toEqual([0, 2, 4]);
    expect(Array.from(data.params.subarray(3 * rows[0], 3 * rows[0] + 3))).toEqual([-3.25, -3.25, 0.01]);
    // biased setting present: muL - muR = 0.4
    expect([...Array(EXPECTED).keys()].some((k) => Math.abs(data.params[3 * k] - data.params[3 * k + 1] - 0.4) < 1e-12)).toBe(true);
    // the stored field is the NEGF field of the stored spins (f32 storage: 1e-5 relative to |F| ≲ 4)
    const k = rows[2];
    const p = new CpuNegfProvider({ ...opts, muL: data.params[3 * k], muR: data.params[3 * k + 1] });
    const f = await p.fields(data.spins.subarray(3 * N * k, 3 * N * (k + 1)));
    for (let a = 0; a < 3 * N; a++) expect(Math.abs(f.F[a] - data.field[3 * N * k + a])).toBeLessThan(1e-4);
  });

  it('resumes after a simulated kill without duplicating snapshots', async () => {
    const out = join(root, 'killed');
    const part = await generateDataset(out, opts, { haltAfter: 7 });
    expect(part.complete).toBe(false);
    expect(existsSync(out)).toBe(false);
    expect(existsSync(`${out}.partial`)).toBe(true);
    const s = await generateDataset(out, opts, { resume: true });
    expect(s.skipped).toBe(7);
    const a = readDataset(straight).data, b = readDataset(out).data;
    expect(b.trajectory.length).toBe(EXPECTED);
    const keys = new Set([...b.trajectory].map((t, k) => `${t}:${b.step[k]}`));
    expect(keys.size).toBe(EXPECTED);
    // deterministic: identical to the uninterrupted run
    expect(Array.from(b.spins)).toEqual(Array.from(a.spins));
    expect(Array.from(b.fieldPerp)).toEqual(Array.from(a.fieldPerp));
  });

  it('refuses to resume with different options', async () => {
    const out = join(root, 'other');
    await generateDataset(out, opts, { haltAfter: 1 });
    await expect(generateDataset(out, { ...opts, seed: 6 }, { resume: true })).rejects.toThrow(/^resume: .* different options/);
  });

  it('bad flags: one-line errors naming the flag, exit 2, nothing written', async () => {
    const out = join(root, 'bad');
    for (const [flag, val, re] of [
      ['--mu', '-3.25,x', /^neqspin: --mu: /],
      ['--every', '0', /^neqspin: --every: /],
      ['--steps', '1.5', /^neqspin: --steps: /],
      ['--preset', 'nope', /^neqspin: --preset: /],
    ] as const) {
      const r = await capture(['dataset', '--out', out, flag, val, '--quiet']);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(re);
      expect(r.err.trim().split('\n').length).toBe(1);
    }
    expect((await capture(['dataset', '--quiet'])).code).toBe(2); // --out is required
    expect(existsSync(out) || existsSync(`${out}.partial`)).toBe(false);
  });

  it.skipIf(!zhangChernReferenceDir())("--import-authors builds a dataset from the authors' snapshots", async () => {
    const out = join(root, 'authors');
    const r = await capture(['dataset', '--import-authors', '--out', out, '--quiet']);
    expect(r).toEqual({ code: 0, err: '' });
    const { meta, data } = readDataset(out);
    expect(meta.arrays.find((a) => a.name === 'spins')!.shape).toEqual([3, 768, 3]);
    expect(Array.from(data.step)).toEqual([0, 200, 500]);
    expect(meta.split).toEqual({ train: [0], val: [], test: [] });
  });
});
