/**
 * `npm run bench`: every benchmark side by side with its baseline in the same run; results are
 * written into BENCHMARKS.md under a section for this device (replacing an older one) by a full run.
 * Options (env): NEQSPIN_BENCH_QUICK=1 for small sizes (printed, not recorded); NEQSPIN_BENCH_ONLY=ll,negf,mlp
 * (a partial run: its tables replace their namesakes in this device's section, the others stay).
 */
import os from 'node:os';
import { getGpu, describe } from '../src/gpu/index.js';
import { measureRoofline } from '../src/bench/roofline.js';
import { benchLL } from '../src/bench/ll.js';
import { bench as benchNegf } from '../src/bench/negf.js';
import { bench as benchMlp } from '../src/bench/mlp.js';
import { renderTables, writeSection, type Table } from '../src/bench/report.js';

const quick = !!process.env.NEQSPIN_BENCH_QUICK;
const only = process.env.NEQSPIN_BENCH_ONLY?.split(',');
const want = (k: string) => !only || only.includes(k);
const log = (s: string) => console.error(`[bench] ${s}`);

const ctx = await getGpu();
const dev = describe(ctx.info);
log(`device: ${dev}`);
const roof = await measureRoofline(ctx, quick ? 16 : 64);
log(`streaming ${roof.streamGBs.toFixed(2)} GB/s, FMA ${roof.fmaGflops.toFixed(1)} GFLOP/s`);
const tables: Table[] = [
  {
    title: 'Device ceilings (same run)',
    columns: ['streaming bandwidth GB/s', 'f32 FMA GFLOP/s', 'timing'],
    rows: [[roof.streamGBs, roof.fmaGflops, ctx.timestamps ? 'timestamp queries' : 'wall clock']],
  },
];
if (want('ll')) {
  const sizes: [number, number][] = quick ? [[100, 100]] : [[100, 100], [316, 316], [1000, 1000]];
  tables.push(await benchLL(ctx, roof, sizes, log));
}
if (want('negf')) tables.push(...(await benchNegf(ctx, roof, { quick, log })));
if (want('mlp')) tables.push(...(await benchMlp(ctx, roof, { quick, log })));
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
// the driver description alone (e.g. "NVIDIA: 580.159.04") does not name the card: prefix the device
// name (a software rasteriser's description already names it, "llvmpipe: Mesa ...")
const heading = ctx.info.device && !ctx.info.software && !dev.includes(ctx.info.device) ? `${ctx.info.device}: ${dev}` : dev;
const body =
  `Date ${new Date().toISOString().slice(0, 10)}; driver: ${ctx.info.description || ctx.info.device}; host CPU: ${cpu} × ${os.cpus().length}; ` +
  `Node ${process.version}${quick ? '; QUICK sizes' : ''}.\n\n` +
  renderTables(tables);
const key = `${ctx.info.vendor}-${ctx.info.device}`.replace(/[^A-Za-z0-9]+/g, '-');
// a full run replaces this device's section, a partial one (NEQSPIN_BENCH_ONLY) its own tables in it;
// quick sizes are never recorded
if (!quick) writeSection('BENCHMARKS.md', key, heading, body, { merge: !!only });
else log('quick run: BENCHMARKS.md left unchanged');
console.log(body);
