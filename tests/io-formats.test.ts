import { describe, it, expect, beforeEach, afterEach } from 'vitest';
import { mkdtempSync, rmSync, readFileSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { encodeNpy, decodeNpy, writeNpy, readNpy, appendRows, truncateRows } from '../src/io/npy.js';
import { encodeOvf, decodeOvf, writeOvf, readOvf, spinField } from '../src/io/ovf.js';
import { encodeSafetensors, decodeSafetensors, writeSafetensors } from '../src/io/safetensors.js';
import { CsvWriter, formatCsv, parseCsv } from '../src/io/csv.js';
import { writeFileAtomic, withAtomicDir } from '../src/io/atomic.js';
import { UserError } from '../src/io/errors.js';
import { Lattice } from '../src/lattice/lattice.js';
import { random, neel } from '../src/lattice/textures.js';
import { initialSpins, readSpinsFile } from '../src/io/spins.js';

const hasNumpy = spawnSync('python3', ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
function python(code: string): string {
  const r = spawnSync('python3', ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout.trim();
}

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'neqspin-io-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const samples = () => ({
  f4: Float32Array.from({ length: 24 }, (_, k) => Math.sin(k) * 1e3),
  f8: Float64Array.from({ length: 24 }, (_, k) => Math.PI * k - 1e-300),
  i4: Int32Array.from({ length: 24 }, (_, k) => (k - 12) * 123456789),
  u4: Uint32Array.from({ length: 24 }, (_, k) => 4294967295 - k),
});

describe('npy', () => {
  it('round-trips every dtype and shape; header is a multiple of 64 bytes', () => {
    for (const [name, data] of Object.entries(samples())) {
      for (const shape of [[24], [2, 3, 4], [24, 1], [4, 6]]) {
        const buf = encodeNpy(data, shape);
        const hlen = buf[8] | (buf[9] << 8);
        expect((10 + hlen) % 64, name).toBe(0);
        expect(String.fromCharCode(buf[10 + hlen - 1])).toBe('\n');
        const back = decodeNpy(buf);
        expect(back.shape).toEqual(shape);
        expect(back.data).toEqual(data);
        expect(back.dtype).toBe({ f4: '<f4', f8: '<f8', i4: '<i4', u4: '<u4' }[name]);
      }
    }
  });

  it('rejects a shape that does not hold the data, bad magic, truncated data', () => {
    expect(() => encodeNpy(new Float32Array(5), [2, 3])).toThrow(/shape/);
    const buf = encodeNpy(new Float32Array(6), [2, 3]);
    expect(() => decodeNpy(buf.subarray(0, buf.length - 4), 'x.npy')).toThrow(/^x\.npy: data:/);
    const bad = buf.slice();
    bad[1] = 0;
    expect(() => decodeNpy(bad, 'x.npy')).toThrow(/magic/);
  });

  it('appends rows in place and truncates back (header length unchanged)', () => {
    const p = join(dir, 'a.npy');
    writeNpy(p, Float32Array.from([1, 2, 3, 4, 5, 6]), [2, 3]);
    const size0 = readFileSync(p).length;
    expect(appendRows(p, Float32Array.from([7, 8, 9]), 2)).toBe(3);
    expect(readNpy(p).shape).toEqual([3, 3]);
    expect(Array.from(readNpy(p).data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    truncateRows(p, 2);
    expect(readFileSync(p).length).toBe(size0);
    expect(readNpy(p).shape).toEqual([2, 3]);
  });

  it.skipIf(!hasNumpy)('numpy loads what we write and we read what numpy writes', () => {
    const s = samples();
    for (const [name, data] of Object.entries(s)) writeNpy(join(dir, `${name}.npy`), data, [2, 3, 4]);
    const out = python(
      `import numpy as np, json\n` +
        `r = {n: (str(a.dtype), list(a.shape), float(a.astype('f8').sum())) for n in ['f4','f8','i4','u4'] for a in [np.load('${dir}/' + n + '.npy')]}\n` +
        `np.save('${dir}/np.npy', np.arange(12, dtype='<f8').reshape(3, 4) * 0.5)\n` +
        `print(json.dumps(r))`,
    );
    const r = JSON.parse(out) as Record<string, [string, number[], number]>;
    const dt = { f4: 'float32', f8: 'float64', i4: 'int32', u4: 'uint32' } as Record<string, string>;
    for (const [name, data] of Object.entries(s)) {
      expect(r[name][0]).toBe(dt[name]);
      expect(r[name][1]).toEqual([2, 3, 4]);
      const sum = Array.from(data as ArrayLike<number>).reduce((a, b) => a + b, 0);
      expect(r[name][2]).toBeCloseTo(sum, 6);
    }
    const back = readNpy(join(dir, 'np.npy'));
    expect(back.shape).toEqual([3, 4]);
    expect(Array.from(back.data)).toEqual(Array.from({ length: 12 }, (_, k) => k * 0.5));
  });
});

describe('ovf', () => {
  const lat = new Lattice({ Lx: 5, Ly: 3 });
  const spins = random(lat, 1);

  it('binary4 round-trip (f32-exact), check value and header fields', () => {
    const buf = encodeOvf(spinField(5, 3, spins, { title: 'm', desc: ['t = 0'] }), 'binary4');
    const text = Buffer.from(buf).toString('latin1');
    expect(text.startsWith('# OOMMF OVF 2.0\n')).toBe(true);
    for (const h of ['# Segment count: 1', '# xnodes: 5', '# ynodes: 3', '# znodes: 1', '# valuedim: 3', '# Begin: Data Binary 4', '# End: Data Binary 4', '# End: Segment'])
      expect(text).toContain(h);
    const start = text.indexOf('# Begin: Data Binary 4\n') + '# Begin: Data Binary 4\n'.length;
    expect(new DataView(buf.buffer, buf.byteOffset + start, 4).getFloat32(0, true)).toBe(1234567.0);
    const back = decodeOvf(buf);
    expect(back.format).toBe('binary4');
    expect(back.nodes).toEqual([5, 3, 1]);
    expect(back.desc).toEqual(['t = 0']);
    expect(Array.from(back.data)).toEqual(Array.from(Float32Array.from(spins)));
  });

  it('text and binary8 round-trips are exact in f64; node order is i = x + Lx*y', () => {
    for (const fmt of ['text', 'binary8'] as const) {
      writeOvf(join(dir, `m.${fmt}.ovf`), spinField(5, 3, spins), fmt);
      const back = readOvf(join(dir, `m.${fmt}.ovf`));
      expect(back.format).toBe(fmt);
      expect(Array.from(back.data)).toEqual(Array.from(spins));
    }
    const lines = readFileSync(join(dir, 'm.text.ovf'), 'utf8').split('\n');
    const first = lines.indexOf('# Begin: Data Text') + 1;
    // data line k is node k = x + 5*y: line 7 is (x=2, y=1)
    expect(lines[first + 7].split(' ').map(Number)).toEqual(Array.from(spins.subarray(21, 24)));
  });

  it('rejects a bad check value and a wrong count, naming the file', () => {
    const buf = encodeOvf(spinField(5, 3, spins), 'binary4');
    const text = Buffer.from(buf).toString('latin1');
    const start = text.indexOf('# Begin: Data Binary 4\n') + '# Begin: Data Binary 4\n'.length;
    const bad = buf.slice();
    bad[start] ^= 0xff;
    expect(() => decodeOvf(bad, 'f.ovf')).toThrow(/^f\.ovf: data: bad check value/);
    const txt = new TextDecoder().decode(encodeOvf(spinField(5, 3, spins), 'text')).replace('# xnodes: 5', '# xnodes: 6');
    expect(() => decodeOvf(new TextEncoder().encode(txt), 'g.ovf')).toThrow(/^g\.ovf: data: 45 values, expected 54/);
  });

  it.skipIf(!hasNumpy)('a minimal numpy OVF parser (as ubermag/mumax read it) recovers the field', () => {
    writeOvf(join(dir, 'm.ovf'), spinField(5, 3, spins), 'binary4');
    const out = python(
      `import numpy as np\n` +
        `b = open('${dir}/m.ovf','rb').read()\n` +
        `h = b[:b.index(b'# Begin: Data Binary 4\\n')].decode()\n` +
        `kv = dict(l[2:].split(': ',1) for l in h.splitlines() if ': ' in l)\n` +
        `nx, ny, nz = int(kv['xnodes']), int(kv['ynodes']), int(kv['znodes'])\n` +
        `s = b.index(b'# Begin: Data Binary 4\\n') + 23\n` +
        `a = np.frombuffer(b, '<f4', 1 + 3*nx*ny*nz, s)\n` +
        `assert a[0] == 1234567.0\n` +
        `m = a[1:].reshape(nz, ny, nx, 3)\n` +
        `print(repr(float(m[0, 1, 2, 2])))`,
    );
    expect(Number(out)).toBe(Math.fround(spins[3 * (2 + 5 * 1) + 2]));
  });
});

describe('safetensors', () => {
  const tensors = {
    'layer0.weight': { data: Float32Array.from({ length: 12 }, (_, k) => k / 7), shape: [3, 4] },
    'layer0.bias': { data: Float64Array.from([1e-10, 2, 3]), shape: [3] },
    steps: { data: Int32Array.from([42]), shape: [] as number[] },
  };

  it('round-trips tensors and metadata; 8-byte aligned header; contiguous offsets', () => {
    const buf = encodeSafetensors(tensors, { arch: '539-64-2', activation: 'silu' });
    const n = Number(new DataView(buf.buffer).getBigUint64(0, true));
    expect(n % 8).toBe(0);
    const back = decodeSafetensors(buf);
    expect(back.metadata).toEqual({ arch: '539-64-2', activation: 'silu' });
    for (const [k, t] of Object.entries(tensors)) {
      expect(back.tensors[k].shape).toEqual(t.shape);
      expect(back.tensors[k].data).toEqual(t.data);
    }
    expect(back.tensors['layer0.bias'].dtype).toBe('F64');
  });

  it('rejects overlapping/holed offsets and bad dtypes, naming the tensor', () => {
    const buf = encodeSafetensors(tensors);
    const n = Number(new DataView(buf.buffer).getBigUint64(0, true));
    const header = JSON.parse(Buffer.from(buf.subarray(8, 8 + n)).toString());
    const rebuild = (h: object) => {
      let j = JSON.stringify(h);
      j += ' '.repeat((8 - (j.length % 8)) % 8);
      const out = new Uint8Array(8 + j.length + buf.length - 8 - n);
      new DataView(out.buffer).setBigUint64(0, BigInt(j.length), true);
      out.set(Buffer.from(j), 8);
      out.set(buf.subarray(8 + n), 8 + j.length);
      return out;
    };
    expect(() => decodeSafetensors(rebuild({ ...header, steps: { ...header.steps, dtype: 'BF16' } }), 'm.st')).toThrow(/^m\.st: steps\.dtype/);
    const shifted = { ...header, steps: { ...header.steps, data_offsets: header['layer0.bias'].data_offsets } };
    expect(() => decodeSafetensors(rebuild(shifted), 'm.st')).toThrow(/^m\.st: steps\.data_offsets/);
  });

  it.skipIf(!hasNumpy)('python (safetensors if installed, else a pure-numpy parse) reads our file', () => {
    writeSafetensors(join(dir, 'm.safetensors'), tensors, { note: 'x' });
    const out = python(
      `import json, numpy as np\n` +
        `p = '${dir}/m.safetensors'\n` +
        `try:\n  from safetensors.numpy import load_file\n  t = load_file(p)\n` +
        `except ImportError:\n  b = open(p,'rb').read(); n = int.from_bytes(b[:8],'little'); h = json.loads(b[8:8+n])\n` +
        `  dt = {'F32':'<f4','F64':'<f8','I32':'<i4'}\n` +
        `  t = {k: np.frombuffer(b[8+n+v['data_offsets'][0]:8+n+v['data_offsets'][1]], dt[v['dtype']]).reshape(v['shape']) for k,v in h.items() if k != '__metadata__'}\n` +
        `print(json.dumps({k: [list(v.shape), v.astype('f8').ravel().tolist()] for k,v in t.items()}))`,
    );
    const r = JSON.parse(out) as Record<string, [number[], number[]]>;
    for (const [k, t] of Object.entries(tensors)) {
      expect(r[k][0]).toEqual(t.shape);
      expect(r[k][1]).toEqual(Array.from(t.data as ArrayLike<number>));
    }
  });
});

describe('csv', () => {
  it('writes header + rows that parse back exactly', () => {
    const rows = [
      [0, 1.5, -2e-17],
      [1, NaN, 1 / 3],
    ];
    const p = join(dir, 'obs.csv');
    const w = new CsvWriter(p, ['step', 'wall', 'mz']);
    rows.forEach((r) => w.row(r));
    w.close();
    const text = readFileSync(p, 'utf8');
    expect(text).toBe(formatCsv(['step', 'wall', 'mz'], rows));
    const back = parseCsv(text);
    expect(back.columns).toEqual(['step', 'wall', 'mz']);
    expect(back.rows[0]).toEqual(rows[0]);
    expect(back.rows[1][2]).toBe(1 / 3);
    expect(() => w.row([1, 2, 3])).toThrow(/closed/);
    expect(() => formatCsv(['a,b'], [])).toThrow(/column name/);
    expect(() => formatCsv(['a'], [[1, 2]])).toThrow(/2 values/);
  });
});

describe('atomic output', () => {
  it('writeFileAtomic replaces the file and leaves no temporary files', () => {
    const p = join(dir, 'r.json');
    writeFileAtomic(p, 'old');
    writeFileAtomic(p, 'new');
    expect(readFileSync(p, 'utf8')).toBe('new');
    expect(readdirSync(dir)).toEqual(['r.json']);
  });

  it('withAtomicDir: success renames into place; an error leaves no target and no partial dir', async () => {
    const target = join(dir, 'run');
    await expect(
      withAtomicDir(target, (d) => {
        writeFileSync(join(d, 'a.txt'), 'x');
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
    await withAtomicDir(target, (d) => writeFileSync(join(d, 'a.txt'), 'ok'));
    expect(readFileSync(join(target, 'a.txt'), 'utf8')).toBe('ok');
    await expect(withAtomicDir(target, () => {})).rejects.toThrow(UserError);
    await withAtomicDir(target, (d) => writeFileSync(join(d, 'b.txt'), 'v2'), { overwrite: true });
    expect(readdirSync(target)).toEqual(['b.txt']);
    expect(readdirSync(dir)).toEqual(['run']);
  });
});

describe('initial spins from files', () => {
  const lat = new Lattice({ Lx: 4, Ly: 3 });
  it('reads .ovf and .npy (f32) back to the texture within f32 rounding, renormalised', () => {
    const s = random(lat, 2);
    writeOvf(join(dir, 's.ovf'), spinField(4, 3, Float32Array.from(s)), 'binary4');
    writeNpy(join(dir, 's.npy'), Float32Array.from(s), [12, 3]);
    for (const f of ['s.ovf', 's.npy']) {
      const back = initialSpins(lat, { kind: 'file', path: join(dir, f) });
      // f32 storage: componentwise error <= 2^-24 relative, plus renormalisation
      for (let k = 0; k < s.length; k++) expect(Math.abs(back[k] - s[k])).toBeLessThan(2e-7);
    }
    expect(initialSpins(lat, { kind: 'neel' })).toEqual(neel(lat));
  });

  it('rejects a lattice mismatch and non-unit spins, naming the file', () => {
    writeNpy(join(dir, 'w.npy'), new Float32Array(30), [10, 3]);
    expect(() => readSpinsFile(join(dir, 'w.npy'), lat)).toThrow(/w\.npy: shape: \(10,3\)/);
    writeNpy(join(dir, 'z.npy'), new Float32Array(36), [12, 3]);
    expect(() => readSpinsFile(join(dir, 'z.npy'), lat)).toThrow(/z\.npy: site 0: \|S\|-1/);
  });
});
