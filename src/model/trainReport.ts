/**
 * Evaluation of a trained force model against reference fields: per-region RMSE of each F⊥
 * component, R² and weighted loss, and a dependency-free SVG parity plot (predicted vs reference
 * components, one colour per region).
 *
 * Regions are set by the column distance to the electrodes: `left` x < R, `right` x ≥ Lx - R,
 * `bulk` otherwise, with R = min(leadRange, floor(Lx/3)) (so every region exists when Lx ≥ 3).
 * R² = 1 - Σ|h - t|² / Σ|t - t̄|² with t̄ the per-component mean over the region's sites.
 */
export const REGIONS = ['bulk', 'left', 'right'] as const;
export type Region = (typeof REGIONS)[number];

/** Region index (into REGIONS) of every site i = x + Lx*y. */
export function siteRegions(Lx: number, Ly: number, leadRange: number): Uint8Array {
  if (!(Number.isInteger(leadRange) && leadRange >= 0)) throw new Error(`leadRange must be a non-negative integer, got ${leadRange}`);
  const R = Math.min(leadRange, Math.floor(Lx / 3));
  const out = new Uint8Array(Lx * Ly);
  for (let i = 0; i < out.length; i++) {
    const x = i % Lx;
    out[i] = x < R ? 1 : x >= Lx - R ? 2 : 0;
  }
  return out;
}

export interface RegionMetrics {
  /** site samples (snapshots × sites) */
  samples: number;
  /** RMSE of the x, y, z components of h - F⊥ (units t) */
  rmse: [number, number, number];
  /** sqrt(mean |h - F⊥|²) */
  rmseTotal: number;
  r2: number;
}

export type Evaluation = Record<Region | 'all', RegionMetrics>;

/** Metrics of predictions h against targets t (both S×N×3) for each region and overall. */
export function evaluateFields(h: ArrayLike<number>, t: ArrayLike<number>, regions: Uint8Array): Evaluation {
  const N = regions.length;
  if (h.length !== t.length || h.length % (3 * N) !== 0) throw new Error(`evaluate: h (${h.length}) and target (${t.length}) must both hold S×${N}×3 values`);
  const groups: (Region | 'all')[] = [...REGIONS, 'all'];
  const acc = groups.map(() => ({ n: 0, se: [0, 0, 0], sum: [0, 0, 0], sq: [0, 0, 0] }));
  for (let r = 0; r < h.length / 3; r++) {
    for (const g of [regions[r % N], REGIONS.length]) {
      const a = acc[g];
      a.n++;
      for (let k = 0; k < 3; k++) {
        const tv = t[3 * r + k];
        a.se[k] += (h[3 * r + k] - tv) ** 2;
        a.sum[k] += tv;
        a.sq[k] += tv * tv;
      }
    }
  }
  const out = {} as Evaluation;
  groups.forEach((g, idx) => {
    const a = acc[idx];
    const n = Math.max(a.n, 1);
    const se = a.se[0] + a.se[1] + a.se[2];
    const ss = [0, 1, 2].reduce((s, k) => s + a.sq[k] - (a.sum[k] * a.sum[k]) / n, 0);
    out[g] = {
      samples: a.n,
      rmse: a.se.map((v) => Math.sqrt(v / n)) as [number, number, number],
      rmseTotal: Math.sqrt(se / n),
      r2: a.n > 0 && ss > 0 ? 1 - se / ss : NaN,
    };
  });
  return out;
}

const COLOURS: Record<Region, string> = { bulk: '#1f77b4', left: '#d62728', right: '#2ca02c' };

/**
 * Parity plot: every component of every site as a point (reference, predicted), coloured by
 * region; at most `maxPoints` points (evenly strided) are drawn.
 */
export function parityPlotSvg(h: ArrayLike<number>, t: ArrayLike<number>, regions: Uint8Array, opts: { title?: string; maxPoints?: number } = {}): string {
  const N = regions.length;
  const total = h.length;
  const stride = Math.max(1, Math.ceil(total / (opts.maxPoints ?? 6000)));
  let lo = Infinity, hi = -Infinity;
  for (let e = 0; e < total; e++) {
    lo = Math.min(lo, h[e], t[e]);
    hi = Math.max(hi, h[e], t[e]);
  }
  if (!(hi > lo)) [lo, hi] = [lo - 1, hi + 1];
  const pad = 0.05 * (hi - lo);
  lo -= pad;
  hi += pad;
  const W = 480, M = 56, P = W - 2 * M;
  const X = (v: number) => (M + ((v - lo) / (hi - lo)) * P).toFixed(1);
  const Y = (v: number) => (W - M - ((v - lo) / (hi - lo)) * P).toFixed(1);
  const dots = REGIONS.map(() => [] as string[]);
  for (let e = 0; e < total; e += stride) dots[regions[Math.floor(e / 3) % N]].push(`<circle cx="${X(t[e])}" cy="${Y(h[e])}" r="1.6"/>`);
  const ticks = [lo + pad, (lo + hi) / 2, hi - pad].map((v) => v.toPrecision(3));
  const lines = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${W}" viewBox="0 0 ${W} ${W}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${W}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(opts.title ?? 'F⊥ parity: predicted vs reference (units t)')}</text>`,
    `<rect x="${M}" y="${M}" width="${P}" height="${P}" fill="none" stroke="black"/>`,
    `<line x1="${X(lo)}" y1="${Y(lo)}" x2="${X(hi)}" y2="${Y(hi)}" stroke="#888" stroke-dasharray="4 3"/>`,
    ...ticks.map((v) => `<text x="${X(+v)}" y="${W - M + 16}" text-anchor="middle">${v}</text><text x="${M - 6}" y="${Y(+v)}" text-anchor="end" dominant-baseline="middle">${v}</text>`),
    `<text x="${W / 2}" y="${W - 14}" text-anchor="middle">reference F⊥ component</text>`,
    `<text x="16" y="${W / 2}" text-anchor="middle" transform="rotate(-90 16 ${W / 2})">predicted h component</text>`,
    ...REGIONS.map((r, k) => `<g fill="${COLOURS[r]}" fill-opacity="0.6">${dots[k].join('')}</g>`),
    ...REGIONS.map((r, k) => `<circle cx="${M + 12}" cy="${M + 14 + 16 * k}" r="4" fill="${COLOURS[r]}"/><text x="${M + 22}" y="${M + 18 + 16 * k}">${r}</text>`),
    '</svg>',
  ];
  return lines.join('\n') + '\n';
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}
