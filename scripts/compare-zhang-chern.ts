/**
 * External check of the f64 NEGF solver against Zhang & Chern's NEGF snapshots (SPEC §5).
 * Usage: npm run compare:zhang-chern -- [c0 c200 c500] [--dir DIR]
 *   (default DIR: ../shared/reference/zhang-chern-2022 beside the checkout, or $NEQSPIN_REFERENCE)
 * Prints per file: correlation of F⊥ (columns 5-26), relative F error, |F| error, density error, time.
 */
import { zhangChernReferenceDir } from '../src/io/reference.js';
import { join } from 'node:path';
import { solveNegf } from '../src/negf/solver.js';
import { loadSnapshot, presetCase, compareSnapshot } from '../src/negf/zhangChern.js';

const args = process.argv.slice(2);
const di = args.indexOf('--dir');
const dir = di >= 0 ? args[di + 1] : zhangChernReferenceDir();
if (!dir) throw new Error('reference data not found: pass --dir or set NEQSPIN_REFERENCE');
const names = args.filter((a, k) => !a.startsWith('--') && (di < 0 || k !== di + 1));
for (const name of names.length ? names : ['c0', 'c200', 'c500']) {
  const snap = loadSnapshot(join(dir, name.endsWith('.dat') ? name : `${name}.dat`));
  const res = solveNegf(presetCase(snap.spins));
  const c = compareSnapshot(res, snap);
  console.log(
    `${name}: corr(F⊥, cols 5-26) = ${c.corrFperp.toFixed(5)}  ‖ΔF‖/‖F‖ = ${c.relFError.toExponential(3)}  ` +
      `mean|Δ|F||/mean|F| = ${c.relFMagError.toExponential(3)}  n err max ${c.nMaxError.toExponential(3)} rms ${c.nRmsError.toExponential(3)}  ` +
      `(${res.meta.energyPoints} energies, est. err ${res.meta.errorEstimate.toExponential(1)}, ${res.meta.seconds.toFixed(1)} s)`,
  );
}
