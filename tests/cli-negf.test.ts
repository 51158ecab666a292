import { describe, it, expect, afterAll } from 'vitest';
import { mkdtempSync, existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from './helpers/cli.js';
import { readNpy } from '../src/io/npy.js';

const root = mkdtempSync(join(tmpdir(), 'neqspin-negf-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function spins(N: number): number[][] {
  return Array.from({ length: N }, (_, i) => {
    const th = 0.4 + 0.3 * Math.sin(i), ph = 0.7 * i;
    return [Math.sin(th) * Math.cos(ph), Math.sin(th) * Math.sin(ph), Math.cos(th)];
  });
}
const base = { lattice: { Lx: 6, Ly: 2, periodicY: true }, model: { t: 1, J: 1 }, leads: { kind: 'wide-band', gamma: 2 }, muL: 0.25, muR: -0.25, temperature: 0.05, spins: spins(12) };

/** code and stderr of `neqspin ...args` (stdout is not compared) */
async function run(args: string[]): Promise<{ code: number; err: string }> {
  const { code, err } = await runCli(args);
  return { code, err };
}

describe('neqspin negf (SPEC §6)', () => {
  it('writes RESULT.json with the contract fields; torque = S × F; currentL = -currentR', async () => {
    const cfg = join(root, 'case.json'), out = join(root, 'result.json');
    writeFileSync(cfg, JSON.stringify(base));
    const { code } = await run(['negf', '--config', cfg, '--out', out]);
    expect(code).toBe(0);
    const r = JSON.parse(readFileSync(out, 'utf8'));
    for (const k of ['density', 'spinDensity', 'field', 'torque', 'currentL', 'currentR', 'spinCurrentL', 'spinCurrentR', 'meta']) expect(r).toHaveProperty(k);
    expect(r.density).toHaveLength(12);
    for (const k of ['method', 'energyPoints', 'errorEstimate', 'device', 'seconds']) expect(r.meta).toHaveProperty(k);
    const s = base.spins;
    for (let i = 0; i < 12; i++) {
      const F = r.field[i], S = s[i], t = r.torque[i];
      const c = [S[1] * F[2] - S[2] * F[1], S[2] * F[0] - S[0] * F[2], S[0] * F[1] - S[1] * F[0]];
      for (let a = 0; a < 3; a++) expect(Math.abs(t[a] - c[a])).toBeLessThan(1e-12);
      for (let a = 0; a < 3; a++) expect(Math.abs(F[a] - base.model.J * r.spinDensity[i][a])).toBeLessThan(1e-12);
    }
    expect(r.currentL).toBeGreaterThan(0); // muL > muR: particles flow in from the left
    expect(Math.abs(r.currentL + r.currentR)).toBeLessThan(1e-6 * Math.abs(r.currentL));
  });

  it('--format npy writes a folder of arrays numpy can load', async () => {
    const cfg = join(root, 'case.json'), out = join(root, 'npyout');
    writeFileSync(cfg, JSON.stringify(base));
    expect((await run(['negf', '--config', cfg, '--out', out, '--format', 'npy'])).code).toBe(0);
    const f = readNpy(join(out, 'field.npy'));
    expect(f.shape).toEqual([12, 3]);
    const r = JSON.parse(readFileSync(join(out, 'result.json'), 'utf8'));
    expect(r.meta.device).toBeTruthy();
  });

  const bad: [string, (c: any) => void, RegExp][] = [
    ['unknown key', (c) => (c.extra = 1), /extra: unknown key/],
    ['wrong spins length', (c) => c.spins.pop(), /spins/],
    ['non-unit spin', (c) => (c.spins[3] = [1, 0.01, 0]), /spins\[3\]/],
    ['negative temperature', (c) => (c.temperature = -1), /temperature/],
    ['gamma <= 0', (c) => (c.leads.gamma = 0), /leads\.gamma/],
    ['Lx = 0', (c) => (c.lattice.Lx = 0), /lattice\.Lx/],
  ];
  for (const [name, mutate, re] of bad) {
    it(`bad input (${name}): one line naming the field, exit 2, nothing written`, async () => {
      const c = structuredClone(base);
      mutate(c);
      const cfg = join(root, `bad-${name}.json`), out = join(root, `bad-${name}-result.json`);
      writeFileSync(cfg, JSON.stringify(c));
      const { code, err } = await run(['negf', '--config', cfg, '--out', out]);
      expect(code).toBe(2);
      expect(err).toMatch(re);
      expect(err.trim().split('\n')).toHaveLength(1);
      expect(existsSync(out)).toBe(false);
    });
  }
});
