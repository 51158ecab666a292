/**
 * Raster images of lattice fields (PNG, 8-bit RGB via `pngjs`), for lattices too large for the
 * SVG maps of src/demo/svg.ts (one <rect> per site is ~100 bytes; a 1024×1024 lattice would be a
 * 100 MB SVG).
 *
 * Geometry: site i = x + Lx*y is drawn with x to the right and y UPWARDS (row y = Ly-1 at the top),
 * as in the SVG maps. The image has `scale` pixels per site when the lattice fits in `maxPixels`
 * (scale = ⌊maxPixels / max(Lx, Ly)⌋ ≥ 1); a larger lattice is reduced by block averaging of the
 * values over k×k sites, k = ⌈max(Lx, Ly) / maxPixels⌉ (partial blocks at the edges average what
 * they hold), before the colour map is applied. Non-finite values are drawn as grey.
 */
import { PNG } from 'pngjs';

export type Rgb = [number, number, number];

const NAN_RGB: Rgb = [128, 128, 128];

/** PNG file bytes of a width × height RGB image (`rgb` row-major from the top, 3 bytes per pixel). */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  if (!Number.isInteger(width) || width < 1 || !Number.isInteger(height) || height < 1) throw new Error(`png: width and height must be positive integers, got ${width}x${height}`);
  if (rgb.length !== 3 * width * height) throw new Error(`png.rgb must have length 3*width*height = ${3 * width * height}, got ${rgb.length}`);
  const png = new PNG({ width, height, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Pixels per site (> 0: magnification) or sites per pixel block (< 0: -k, block averaging). */
export function latticeImageScale(Lx: number, Ly: number, maxPixels: number): number {
  const m = Math.max(Lx, Ly);
  return m <= maxPixels ? Math.floor(maxPixels / m) : -Math.ceil(m / maxPixels);
}

/**
 * PNG of a lattice field: `values` (Lx*Ly, i = x + Lx*y) coloured by `colour`, y upwards, at most
 * `maxPixels` (default 1024) pixels along the longer side (see the file comment).
 */
export function latticePng(values: ArrayLike<number>, Lx: number, Ly: number, colour: (v: number) => Rgb, maxPixels = 1024): { png: Buffer; width: number; height: number } {
  if (values.length !== Lx * Ly) throw new Error(`png.values must have length Lx*Ly = ${Lx * Ly}, got ${values.length}`);
  const s = latticeImageScale(Lx, Ly, maxPixels);
  // block grid: bx × by cells of k×k sites, each drawn as up×up pixels
  const k = s < 0 ? -s : 1, up = s > 0 ? s : 1;
  const bx = Math.ceil(Lx / k), by = Math.ceil(Ly / k);
  const cell = new Float64Array(bx * by), count = new Float64Array(bx * by);
  for (let y = 0; y < Ly; y++) {
    for (let x = 0; x < Lx; x++) {
      const b = Math.floor(x / k) + bx * Math.floor(y / k);
      cell[b] += values[x + Lx * y];
      count[b]++;
    }
  }
  const W = bx * up, H = by * up;
  const rgb = new Uint8Array(3 * W * H);
  for (let cy = 0; cy < by; cy++) {
    for (let cx = 0; cx < bx; cx++) {
      const v = cell[cx + bx * cy] / count[cx + bx * cy];
      const c = Number.isFinite(v) ? colour(v) : NAN_RGB;
      for (let py = 0; py < up; py++) {
        const row = (by - 1 - cy) * up + py;
        for (let px = 0; px < up; px++) rgb.set(c, 3 * (row * W + cx * up + px));
      }
    }
  }
  return { png: encodePng(W, H, rgb), width: W, height: H };
}
