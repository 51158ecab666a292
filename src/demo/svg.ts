/**
 * Minimal dependency-free SVG figures for the demo report: line/marker plots with linear axes and
 * colour-coded lattice maps (one panel per texture, diverging blue-white-red scale on [-1, 1]; the
 * same scale colours the PNG maps of large lattices, src/io/png.ts).
 * Non-finite values are skipped (a line breaks there).
 */

export interface Series {
  name: string;
  x: ArrayLike<number>;
  y: ArrayLike<number>;
  colour: string;
  /** dashed line */
  dashed?: boolean;
  /** draw markers instead of (or with) a line */
  markers?: boolean;
  /** no connecting line */
  noLine?: boolean;
}

export interface PlotOptions {
  title: string;
  xlabel: string;
  ylabel: string;
  width?: number;
  height?: number;
  /** fixed y range (default: data range) */
  yRange?: [number, number];
}

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b'];

export function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

function range(values: number[]): [number, number] {
  let lo = Infinity, hi = -Infinity;
  for (const v of values) if (Number.isFinite(v)) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  if (!(hi >= lo)) return [0, 1];
  if (hi === lo) return [lo - 1, hi + 1];
  const pad = 0.05 * (hi - lo);
  return [lo - pad, hi + pad];
}

/** Line plot of several series on shared linear axes. */
export function linePlotSvg(series: Series[], o: PlotOptions): string {
  const W = o.width ?? 560, H = o.height ?? 360, ML = 64, MR = 150, MT = 36, MB = 48;
  const PW = W - ML - MR, PH = H - MT - MB;
  const [x0, x1] = range(series.flatMap((s) => Array.from(s.x)));
  const [y0, y1] = o.yRange ?? range(series.flatMap((s) => Array.from(s.y)));
  const X = (v: number) => ML + ((v - x0) / (x1 - x0)) * PW;
  const Y = (v: number) => MT + PH - ((v - y0) / (y1 - y0)) * PH;
  const f = (v: number) => v.toFixed(1);
  const ticks = (a: number, b: number) => [0, 0.25, 0.5, 0.75, 1].map((t) => a + t * (b - a));
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${ML + PW / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(o.title)}</text>`,
    `<rect x="${ML}" y="${MT}" width="${PW}" height="${PH}" fill="none" stroke="black"/>`,
    ...ticks(x0, x1).map((v) => `<text x="${f(X(v))}" y="${MT + PH + 16}" text-anchor="middle">${+v.toPrecision(3)}</text>`),
    ...ticks(y0, y1).map((v) => `<text x="${ML - 6}" y="${f(Y(v))}" text-anchor="end" dominant-baseline="middle">${+v.toPrecision(3)}</text>`),
    `<text x="${ML + PW / 2}" y="${H - 10}" text-anchor="middle">${escapeXml(o.xlabel)}</text>`,
    `<text x="16" y="${MT + PH / 2}" text-anchor="middle" transform="rotate(-90 16 ${MT + PH / 2})">${escapeXml(o.ylabel)}</text>`,
  ];
  series.forEach((s, k) => {
    const style = `stroke="${s.colour}" fill="none" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="6 4"' : ''}`;
    if (!s.noLine) {
      let d = '', pen = false;
      for (let i = 0; i < s.x.length; i++) {
        const ok = Number.isFinite(s.x[i]) && Number.isFinite(s.y[i]);
        if (ok) d += `${pen ? 'L' : 'M'}${f(X(s.x[i]))} ${f(Y(s.y[i]))}`;
        pen = ok;
      }
      if (d) out.push(`<path d="${d}" ${style}/>`);
    }
    if (s.markers) {
      const dots: string[] = [];
      for (let i = 0; i < s.x.length; i++) if (Number.isFinite(s.x[i]) && Number.isFinite(s.y[i])) dots.push(`<circle cx="${f(X(s.x[i]))}" cy="${f(Y(s.y[i]))}" r="3.5"/>`);
      out.push(`<g fill="${s.colour}">${dots.join('')}</g>`);
    }
    const ly = MT + 10 + 18 * k;
    out.push(`<line x1="${ML + PW + 10}" y1="${ly}" x2="${ML + PW + 34}" y2="${ly}" ${style}/>`, `<text x="${ML + PW + 40}" y="${ly + 4}">${escapeXml(s.name)}</text>`);
  });
  out.push('</svg>');
  return out.join('\n') + '\n';
}

/** Diverging colour map on [-1, 1] as 8-bit RGB: blue (-1), white (0), red (+1); clamped, non-finite → white. */
export function divergingRgb(v: number): [number, number, number] {
  const t = Math.max(-1, Math.min(1, Number.isFinite(v) ? v : 0));
  const a = Math.abs(t);
  const mix = (c: number) => Math.round(255 + (c - 255) * a);
  return t >= 0 ? [mix(214), mix(39), mix(40)] : [mix(31), mix(119), mix(180)];
}

/** divergingRgb as a CSS hex colour. */
export function divergingColour(v: number): string {
  return `#${divergingRgb(v).map((c) => c.toString(16).padStart(2, '0')).join('')}`;
}

export interface MapPanel {
  label: string;
  /** Lx*Ly values, i = x + Lx*y, drawn with x to the right and y upwards */
  values: ArrayLike<number>;
}

/** Rows of lattice maps (values in [-1, 1]) with a colour bar; `rows[r]` is one row of panels. */
export function latticeMapsSvg(rows: { label: string; panels: MapPanel[] }[], Lx: number, Ly: number, o: { title: string; scaleLabel: string }): string {
  const cell = Math.max(6, Math.min(18, Math.floor(200 / Lx))), gap = 14, left = 90, top = 40;
  const pw = Lx * cell, ph = Ly * cell;
  const cols = Math.max(...rows.map((r) => r.panels.length));
  const W = left + cols * (pw + gap) + 70, H = top + rows.length * (ph + 30) + 20;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2}" y="20" text-anchor="middle" font-size="14">${escapeXml(o.title)}</text>`,
  ];
  rows.forEach((row, r) => {
    const y0 = top + r * (ph + 30) + 14;
    out.push(`<text x="${left - 8}" y="${y0 + ph / 2}" text-anchor="end" dominant-baseline="middle">${escapeXml(row.label)}</text>`);
    row.panels.forEach((p, c) => {
      const x0 = left + c * (pw + gap);
      out.push(`<text x="${x0 + pw / 2}" y="${y0 - 4}" text-anchor="middle">${escapeXml(p.label)}</text>`);
      const cells: string[] = [];
      for (let i = 0; i < Lx * Ly; i++) {
        const x = i % Lx, y = Math.floor(i / Lx);
        cells.push(`<rect x="${x0 + x * cell}" y="${y0 + (Ly - 1 - y) * cell}" width="${cell}" height="${cell}" fill="${divergingColour(p.values[i])}"/>`);
      }
      out.push(`<g>${cells.join('')}</g>`, `<rect x="${x0}" y="${y0}" width="${pw}" height="${ph}" fill="none" stroke="#444"/>`);
    });
  });
  const bx = W - 50, by = top + 10, bh = Math.max(60, H - top - 50);
  for (let k = 0; k < 20; k++) out.push(`<rect x="${bx}" y="${(by + (k * bh) / 20).toFixed(1)}" width="14" height="${(bh / 20 + 0.5).toFixed(1)}" fill="${divergingColour(1 - (2 * k + 1) / 20)}"/>`);
  out.push(
    `<text x="${bx + 18}" y="${by + 8}">+1</text>`,
    `<text x="${bx + 18}" y="${by + bh}">-1</text>`,
    `<text x="${bx + 7}" y="${by + bh + 16}" text-anchor="middle">${escapeXml(o.scaleLabel)}</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}
