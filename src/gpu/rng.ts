/** Float64 / integer twin of shaders/lib/rng.wgsl (Philox4x32-10 + Box-Muller). */
function mulhilo(a: number, b: number): [number, number] {
  const p = BigInt(a >>> 0) * BigInt(b >>> 0);
  return [Number(p >> 32n) >>> 0, Number(p & 0xffffffffn) >>> 0];
}

export function philox4x32(ctr: ArrayLike<number>, key: ArrayLike<number>): [number, number, number, number] {
  let [c0, c1, c2, c3] = [ctr[0] >>> 0, ctr[1] >>> 0, ctr[2] >>> 0, ctr[3] >>> 0];
  let [k0, k1] = [key[0] >>> 0, key[1] >>> 0];
  for (let r = 0; r < 10; r++) {
    const [h0, l0] = mulhilo(0xd2511f53, c0);
    const [h1, l1] = mulhilo(0xcd9e8d57, c2);
    [c0, c1, c2, c3] = [(h1 ^ c1 ^ k0) >>> 0, l1, (h0 ^ c3 ^ k1) >>> 0, l0];
    k0 = (k0 + 0x9e3779b9) >>> 0;
    k1 = (k1 + 0xbb67ae85) >>> 0;
  }
  return [c0, c1, c2, c3];
}

export function u01(x: number): number {
  return ((x >>> 8) + 1) / 16777216;
}

export function normal4(ctr: ArrayLike<number>, key: ArrayLike<number>): [number, number, number, number] {
  const r = philox4x32(ctr, key);
  const ra = Math.sqrt(-2 * Math.log(u01(r[0])));
  const rb = Math.sqrt(-2 * Math.log(u01(r[2])));
  const ta = 2 * Math.PI * u01(r[1]);
  const tb = 2 * Math.PI * u01(r[3]);
  return [ra * Math.cos(ta), ra * Math.sin(ta), rb * Math.cos(tb), rb * Math.sin(tb)];
}

/** Split a JS number seed into the two 32-bit key words used by the shaders. */
export function seedKey(seed: number): [number, number] {
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`seed must be a non-negative integer, got ${seed}`);
  return [seed >>> 0, Math.floor(seed / 4294967296) >>> 0];
}
