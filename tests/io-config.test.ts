import { describe, it, expect } from 'vitest';
import { parseNegfCase, parseSimulateConfig, parseJsonText } from '../src/io/config.js';
import { ConfigError } from '../src/io/errors.js';

const Lx = 4, Ly = 2;
function goodCase(): Record<string, any> {
  return {
    lattice: { Lx, Ly, periodicY: true },
    model: { t: 1, J: 1 },
    leads: { kind: 'wide-band', gamma: 2 },
    muL: 0.25,
    muR: -0.25,
    temperature: 0,
    spins: Array.from({ length: Lx * Ly }, (_, i) => (i % 2 ? [0, 0, -1] : [0.6, 0, 0.8])),
  };
}

function errorOf(f: () => unknown): ConfigError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('CASE.json (SPEC §6)', () => {
  it('parses a good case: defaults, packed spins', () => {
    const c = parseNegfCase({ ...goodCase(), leads: { kind: 'tight-binding' }, lattice: { Lx, Ly } });
    expect(c.lattice.periodicY).toBe(true);
    expect(c.leads).toEqual({ kind: 'tight-binding', tLead: 1 });
    expect(c.spins).toBeInstanceOf(Float64Array);
    expect(Array.from(c.spins.subarray(0, 6))).toEqual([0.6, 0, 0.8, 0, 0, -1]);
  });

  // each mutation -> the field path that must start the message
  const bad: [string, (c: Record<string, any>) => void, string][] = [
    ['unknown top-level key', (c) => (c.extra = 1), 'extra: unknown key'],
    ['unknown nested key', (c) => (c.leads.eta = 1), 'leads.eta: unknown key'],
    ['Lx < 1', (c) => (c.lattice.Lx = 0), 'lattice.Lx: must be >= 1'],
    ['Lx not integer', (c) => (c.lattice.Lx = 2.5), 'lattice.Lx: must be an integer'],
    ['missing J', (c) => delete c.model.J, 'model.J: required'],
    ['t <= 0', (c) => (c.model.t = 0), 'model.t: must be > 0'],
    ['gamma <= 0', (c) => (c.leads.gamma = -1), 'leads.gamma: must be > 0'],
    ['bad lead kind', (c) => (c.leads = { kind: 'ribbon' }), 'leads.kind: must be one of'],
    ['tLead <= 0', (c) => (c.leads = { kind: 'tight-binding', tLead: 0 }), 'leads.tLead: must be > 0'],
    ['T < 0', (c) => (c.temperature = -0.1), 'temperature: must be >= 0'],
    ['NaN mu', (c) => (c.muL = NaN), 'muL: must be a finite number, got NaN'],
    ['Infinity mu', (c) => (c.muR = Infinity), 'muR: must be a finite number'],
    ['string number', (c) => (c.muR = '0.1'), 'muR: must be a finite number, got "0.1"'],
    ['wrong spins length', (c) => c.spins.pop(), 'spins: length must be Lx*Ly = 8, got 7'],
    ['spin with 2 components', (c) => (c.spins[3] = [0, 1]), 'spins[3]: length must be >= 3'],
    ['non-unit spin', (c) => (c.spins[5] = [0, 0, 1 + 2e-6]), 'spins[5]: |S|-1 = 2.00e-6 exceeds 1e-6'],
    ['NaN spin component', (c) => (c.spins[2] = [NaN, 0, 1]), 'spins[2][0]: must be a finite number'],
    ['onsite length', (c) => (c.model.onsite = [0, 0]), 'model.onsite: length must be Lx*Ly = 8, got 2'],
    ['periodicY not boolean', (c) => (c.lattice.periodicY = 1), 'lattice.periodicY: must be a boolean'],
  ];
  for (const [what, mutate, expected] of bad) {
    it(`rejects ${what} with one line naming the field`, () => {
      const c = goodCase();
      mutate(c);
      const e = errorOf(() => parseNegfCase(c));
      expect(e.message.startsWith(`config error: ${expected}`), e.message).toBe(true);
      expect(e.message).not.toContain('\n');
    });
  }

  it('unit-norm tolerance: |S|-1 = 5e-7 is accepted', () => {
    const c = goodCase();
    c.spins[0] = [0, 0, 1 + 5e-7];
    expect(() => parseNegfCase(c)).not.toThrow();
  });

  it('JSON text with Python NaN tokens is rejected by field, bad JSON by file', () => {
    const text = JSON.stringify(goodCase()).replace('"muL":0.25', '"muL":NaN');
    expect(errorOf(() => parseNegfCase(parseJsonText(text, 'CASE.json'))).message).toBe('config error: muL: must be a finite number, got "NaN"');
    expect(errorOf(() => parseJsonText('{"a": 1,', 'CASE.json')).message).toMatch(/^config error: CASE\.json: invalid JSON/);
    // NaN inside a string stays a string
    expect(parseJsonText('{"s": "NaN x", "v": -Infinity}', 'x')).toEqual({ s: 'NaN x', v: '-Infinity' });
  });
});

describe('simulate config', () => {
  const good = () => ({
    lattice: { Lx: 8, Ly: 4 },
    initial: { kind: 'afm-fm', seedWidth: 3, tilt: 0.01 },
    dynamics: { alpha: 0.55, dt: 0.5, steps: 100 },
  });

  it('applies documented defaults and normalises axes', () => {
    const c = parseSimulateConfig({ ...good(), fields: { easyAxis: [0, 0, 2] } });
    expect(c.dynamics).toEqual({ integrator: 'midpoint', alpha: 0.55, dt: 0.5, steps: 100, temperature: 0, noise: 'fdt', seed: 0, sampleEvery: 10, snapshotEvery: 0 });
    expect(c.fields).toEqual({ B: [0, 0, 0], K: 0, easyAxis: [0, 0, 1], Kh: 0, hardAxis: [1, 0, 0], JH: 0 });
    expect(c.output).toEqual({ ovf: 'binary4', npy: true });
    expect(c.force).toEqual({ kind: 'none' });
  });

  it('accepts a NEGF force with tight-binding default tLead = t', () => {
    const c = parseSimulateConfig({
      ...good(),
      force: { kind: 'negf', model: { t: 1.5, J: 3.79 }, leads: { kind: 'tight-binding' }, muL: -3.25, muR: -3.25, temperature: 0.01 },
    });
    expect(c.force.kind === 'negf' && c.force.leads).toEqual({ kind: 'tight-binding', tLead: 1.5 });
  });

  const bad: [string, (c: Record<string, any>) => void, string][] = [
    ['dt <= 0', (c) => (c.dynamics.dt = 0), 'dynamics.dt: must be > 0, got 0'],
    ['negative alpha', (c) => (c.dynamics.alpha = -1), 'dynamics.alpha: must be >= 0'],
    ['bad integrator', (c) => (c.dynamics.integrator = 'rk4'), 'dynamics.integrator: must be one of "midpoint" | "heun" | "depondt"'],
    ['bad noise', (c) => (c.dynamics.noise = 'white'), 'dynamics.noise: must be one of'],
    ['sampleEvery 0', (c) => (c.dynamics.sampleEvery = 0), 'dynamics.sampleEvery: must be >= 1'],
    ['steps fractional', (c) => (c.dynamics.steps = 1.5), 'dynamics.steps: must be an integer'],
    ['unknown texture', (c) => (c.initial = { kind: 'skyrmion' }), 'initial.kind: must be one of'],
    ['unknown texture key', (c) => (c.initial.radius = 2), 'initial.radius: unknown key'],
    ['seed wider than lattice', (c) => (c.initial.seedWidth = 9), 'initial.seedWidth: must be <= Lx = 8'],
    ['zero easy axis', (c) => (c.fields = { easyAxis: [0, 0, 0] }), 'fields.easyAxis: must be a non-zero vector'],
    ['bad ovf mode', (c) => (c.output = { ovf: 'binary8' }), 'output.ovf: must be one of "text" | "binary4"'],
    ['missing dynamics', (c) => delete c.dynamics, 'dynamics: required'],
    ['wall width <= 0', (c) => (c.initial = { kind: 'neel-wall', width: 0 }), 'initial.width: must be > 0'],
  ];
  for (const [what, mutate, expected] of bad) {
    it(`rejects ${what}`, () => {
      const c: Record<string, any> = structuredClone(good());
      mutate(c);
      const e = errorOf(() => parseSimulateConfig(c));
      expect(e.message.startsWith(`config error: ${expected}`), e.message).toBe(true);
      expect(e.message).not.toContain('\n');
    });
  }
});
