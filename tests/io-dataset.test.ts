import { zhangChernReferenceDir } from '../src/io/reference.js';
import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import {
  writeDataset, readDataset, appendSnapshots, recoverDataset, concatSnapshots, splitTrajectories, perpendicular,
  type Snapshots, type DatasetInfo,
} from '../src/io/dataset.js';
import { importAuthorsDat, parseAuthorsDat, ZHANG_CHERN_2022 } from '../src/io/authors-dat.js';
import { appendRows, writeNpy } from '../src/io/npy.js';
import { FormatError } from '../src/io/errors.js';
import { Lattice } from '../src/lattice/lattice.js';
import { neighbourCorrelation } from '../src/lattice/observables.js';
import { random } from '../src/lattice/textures.js';

const REF = zhangChernReferenceDir() ?? '';
const hasRef = REF !== '' && existsSync(join(REF, 'c0.dat'));
const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'neqspin-ds-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const lat = new Lattice({ Lx: 6, Ly: 3 });
const info = (split?: DatasetInfo['split']): DatasetInfo => ({
  lattice: { Lx: 6, Ly: 3, periodicY: true },
  model: { t: 1, J: 2 },
  leads: { kind: 'wide-band', gamma: 2 },
  provenance: { generator: 'test' },
  ...(split ? { split } : {}),
});

/** S synthetic snapshots with random spins and a field derived from them (values only matter for round-trips). */
function synth(S: number, trajectory: number, seed: number): Snapshots {
  const parts: Snapshots[] = [];
  if (S === 0) {
    const [f, d, i] = [() => new Float32Array(0), () => new Float64Array(0), () => new Int32Array(0)];
    return { spins: f(), field: f(), fieldPerp: f(), density: f(), params: d(), trajectory: i(), step: i() };
  }
  for (let s = 0; s < S; s++) {
    const spins = random(lat, seed * 100 + s);
    const field = spins.map((v, k) => 2 * v + 0.1 * Math.cos(k));
    parts.push({
      spins: Float32Array.from(spins),
      field: Float32Array.from(field),
      fieldPerp: Float32Array.from(perpendicular(spins, field)),
      density: Float32Array.from({ length: lat.N }, (_, i) => 1 + 0.01 * i),
      params: Float64Array.from([0.25, -0.25, 0.01 * s]),
      trajectory: Int32Array.of(trajectory),
      step: Int32Array.of(10 * s),
    });
  }
  return concatSnapshots(parts);
}

describe('dataset', () => {
  it('write/read round-trip is exact; meta lists arrays with shapes', async () => {
    const data = synth(4, 0, 1);
    const target = join(dir, 'ds');
    const meta = await writeDataset(target, info({ train: [0], val: [], test: [] }), data);
    expect(meta.count).toBe(4);
    expect(meta.arrays.find((a) => a.name === 'spins')?.shape).toEqual([4, 18, 3]);
    const back = readDataset(target);
    expect(back.data).toEqual(data);
    expect(back.meta.lattice).toEqual({ Lx: 6, Ly: 3, periodicY: true });
    expect(readdirSync(target).sort()).toEqual(['density.npy', 'field.npy', 'fieldPerp.npy', 'meta.json', 'params.npy', 'spins.npy', 'step.npy', 'trajectory.npy']);
  });

  it('appendSnapshots grows the dataset; an empty dataset can be the start', async () => {
    const target = join(dir, 'ds');
    await writeDataset(target, info(), synth(0, 0, 0));
    expect(appendSnapshots(target, synth(2, 0, 1))).toBe(2);
    expect(appendSnapshots(target, synth(3, 1, 2))).toBe(5);
    const back = readDataset(target);
    expect(back.data).toEqual(concatSnapshots([synth(2, 0, 1), synth(3, 1, 2)]));
    expect(Array.from(back.data.trajectory)).toEqual([0, 0, 1, 1, 1]);
  });

  it('an interrupted append (journal, rows appended, meta not committed) is rolled back', async () => {
    const target = join(dir, 'ds');
    const first = synth(2, 0, 1);
    await writeDataset(target, info(), first);
    // simulate a crash after appending rows to two arrays, before meta.json
    writeFileSync(join(target, 'append.journal.json'), JSON.stringify({ from: 2, to: 3 }));
    const extra = synth(1, 0, 9);
    appendRows(join(target, 'spins.npy'), extra.spins, 2);
    appendRows(join(target, 'field.npy'), extra.field, 2);
    expect(() => readDataset(target)).toThrow(/append\.journal\.json: interrupted append/);
    expect(recoverDataset(target)).toBe('rolled-back');
    expect(readDataset(target).data).toEqual(first);
    expect(recoverDataset(target)).toBe('clean');
  });

  it('a thrown error while writing leaves nothing at the target', async () => {
    const data = synth(2, 0, 1);
    data.density[3] = NaN;
    const target = join(dir, 'ds');
    await expect(writeDataset(target, info(), data)).rejects.toThrow(/density: element 3 is NaN/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('validation: one-line errors naming the file and field', async () => {
    const target = join(dir, 'ds');
    await writeDataset(target, info({ train: [0], val: [], test: [] }), synth(2, 0, 1));
    const expectError = (re: RegExp) => {
      try {
        readDataset(target);
      } catch (e) {
        expect(e).toBeInstanceOf(FormatError);
        expect((e as Error).message).toMatch(re);
        expect((e as Error).message).not.toContain('\n');
        return;
      }
      throw new Error('expected a FormatError');
    };
    const metaFile = join(target, 'meta.json');
    const meta = JSON.parse(readFileSync(metaFile, 'utf8'));
    writeNpy(join(target, 'density.npy'), new Float32Array(3 * 18), [3, 18]);
    expectError(/density\.npy: shape: \(3,18\), expected \(2,18\)/);
    writeNpy(join(target, 'density.npy'), new Float64Array(2 * 18), [2, 18]);
    expectError(/density\.npy: dtype: <f8, expected <f4/);
    writeNpy(join(target, 'density.npy'), new Float32Array(2 * 18), [2, 18]);
    writeFileSync(metaFile, JSON.stringify({ ...meta, lattice: { Lx: 0, Ly: 3 } }));
    expectError(/meta\.json: lattice\.Lx: must be >= 1/);
    writeFileSync(metaFile, JSON.stringify({ ...meta, split: { train: [], val: [], test: [] } }));
    expectError(/meta\.json: split: trajectory 0 is not assigned/);
    writeFileSync(metaFile, JSON.stringify(meta));
    const bad = synth(2, 0, 1);
    bad.spins[4] = 1.5;
    writeNpy(join(target, 'spins.npy'), bad.spins, [2, 18, 3]);
    expectError(/spins\.npy: snapshot 0 site 1: \|S\|-1 = /);
  });

  it('splitTrajectories: deterministic, disjoint, covers all ids', () => {
    const ids = Array.from({ length: 50 }, (_, k) => k);
    const s = splitTrajectories(ids, { val: 0.1, test: 0.2 }, 3);
    expect(splitTrajectories(ids, { val: 0.1, test: 0.2 }, 3)).toEqual(s);
    expect([s.val.length, s.test.length, s.train.length]).toEqual([5, 10, 35]);
    expect([...s.train, ...s.val, ...s.test].sort((a, b) => a - b)).toEqual(ids);
  });

  it.skipIf(!hasNumpy)('numpy reads the dataset as docs/dataset.md shows', async () => {
    const target = join(dir, 'ds');
    const data = synth(3, 2, 4);
    await writeDataset(target, info({ train: [2], val: [], test: [] }), data);
    appendSnapshots(target, synth(1, 2, 5));
    const r = spawnSync('python3', ['-c',
      `import json, numpy as np\nd = '${target}'\nmeta = json.load(open(f"{d}/meta.json"))\n` +
      `A = {a["name"]: np.load(f"{d}/{a['file']}") for a in meta["arrays"]}\n` +
      `S = A["spins"].reshape(-1, meta["lattice"]["Ly"], meta["lattice"]["Lx"], 3)\n` +
      `print(json.dumps([A["spins"].shape, str(A["params"].dtype), float(S[1, 2, 5, 2]), int(np.isin(A["trajectory"], meta["split"]["train"]).sum())]))`,
    ], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const [shape, dt, s, ntrain] = JSON.parse(r.stdout);
    expect(shape).toEqual([4, 18, 3]);
    expect(dt).toBe('float64');
    expect(s).toBe(data.spins[3 * (18 + 5 + 6 * 2) + 2]); // snapshot 1, site x=5, y=2
    expect(ntrain).toBe(4);
  });
});

describe.skipIf(!hasRef)("authors' .dat snapshots", () => {
  const files = ['c0.dat', 'c200.dat', 'c500.dat'].map((f) => join(REF, f));
  const { Lx, Ly } = ZHANG_CHERN_2022.lattice;

  it('rows are x fastest: row r holds site i = x + Lx*y = r', () => {
    for (const f of files) {
      const rows = readFileSync(f, 'utf8').split('\n').filter((l) => l.trim());
      expect(rows.length).toBe(768);
      rows.forEach((l, r) => {
        const [x, y] = l.trim().split(/\s+/).map(Number);
        expect(x + Lx * y).toBe(r);
      });
    }
  });

  it("the files' c column equals our c_i computed from the parsed spins (mapping and periodic y)", () => {
    const lat = new Lattice(ZHANG_CHERN_2022.lattice);
    for (const f of files) {
      const snap = parseAuthorsDat(readFileSync(f, 'utf8'), Lx, Ly, f);
      const c = neighbourCorrelation(lat, snap.spins);
      let err = 0;
      for (let i = 0; i < lat.N; i++) err = Math.max(err, Math.abs(c[i] - snap.c[i]));
      // the files print 12 significant digits (measured max difference 1.4e-12); a wrong site
      // mapping or open y boundaries would give O(1) differences
      expect(err).toBeLessThan(1e-11);
    }
  });

  it('imports 3 snapshots: unit spins, steps from names, F⊥ ⟂ S, preset parameters', async () => {
    const { info: inf, data } = importAuthorsDat(files);
    expect(data.trajectory.length).toBe(3);
    expect(Array.from(data.step)).toEqual([0, 200, 500]);
    expect(Array.from(data.params.subarray(0, 3))).toEqual([-3.25, -3.25, 0.01]);
    for (let i = 0; i < data.spins.length / 3; i++) {
      const [sx, sy, sz] = data.spins.subarray(3 * i, 3 * i + 3);
      // f32 storage of unit vectors: |S|-1 < 3 ulp(1) ≈ 2e-7
      expect(Math.abs(Math.hypot(sx, sy, sz) - 1)).toBeLessThan(2e-7);
      const [px, py, pz] = data.fieldPerp.subarray(3 * i, 3 * i + 3);
      // f32 rounding of F (|F| ≲ 4) and S: |S·F⊥| < 4 · 3e-7 · 3
      expect(Math.abs(sx * px + sy * py + sz * pz)).toBeLessThan(4e-6);
    }
    const target = join(dir, 'authors');
    await writeDataset(target, { ...inf, split: splitTrajectories([0], { val: 0, test: 0 }) }, data);
    expect(readDataset(target).data).toEqual(data);
  });
});
