#!/usr/bin/env node
// Agreement check of the main job (issue 5): reads <out>/metrics.json of `neqspin demo` on the
// embedded default and fails (exit 1) unless the ML-LL / NEGF-LL wall-velocity ratio is within
// `tol` (default 10 %) of 1 at every electrode potential and the wall-position error is finite
// (v_ML: the mean over the ML-LL noise realisations from the held-out state, docs/demo.md).
// .ci/run calls it after scripts/setup.sh has run the demo, so the agreement is tested on every CI
// run without running the 7-minute demo twice. For a `--scenario stt` folder it checks the
// two-potential + bond-torque model's ratio at every V ≠ 0 (≥ 2 biases) instead.
//   node scripts/check-demo.mjs [out/demo] [tol]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2] ?? 'out/demo';
const tol = Number(process.argv[3] ?? 0.1);
const m = JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8'));
let ok = m.config?.name === 'default';
if (!ok) console.error(`check-demo: ${dir} is not a run of the embedded default (config.name = ${m.config?.name})`);
if (m.scenario === 'stt') {
  const biased = m.perBias.filter((p) => p.V !== 0);
  for (const p of biased) {
    const r = p.velocity.ratio.torque, dev = Math.abs(r - 1);
    const good = Number.isFinite(dev) && dev <= tol;
    ok &&= good;
    console.log(
      `check-demo: stt V = ${p.V}: v_ML/v_NEGF two+torque ${r.toFixed(3)} (|Δ| ${(100 * dev).toFixed(1)} %, limit ${(100 * tol).toFixed(0)} %), ` +
        `two-potential ${p.velocity.ratio.two.toFixed(3)}, held-out F⊥ R² two+torque ${p.heldOutFperp.torque.r2.toFixed(3)} / two ${p.heldOutFperp.two.r2.toFixed(3)} ${good ? 'ok' : 'FAIL'}`,
    );
  }
  if (biased.length < 2) (ok = false), console.error(`check-demo: ${biased.length} biases V ≠ 0, need ≥ 2`);
  process.exit(ok ? 0 : 1);
}
for (const p of m.perMu) {
  const dev = Math.abs(p.velocity.ratio - 1);
  const good = Number.isFinite(dev) && dev <= tol && Number.isFinite(p.wallPosition.rmsError);
  ok &&= good;
  console.log(
    `check-demo: μ = ${p.mu}: v_ML/v_NEGF = ${p.velocity.ratio?.toFixed(3)} (|Δ| ${(100 * dev).toFixed(1)} %, limit ${(100 * tol).toFixed(0)} %; ` +
      `ML mean of ${p.velocity.mlRealisations.length} noise realisations, sd ${(100 * Math.abs(p.velocity.mlSd / p.velocity.ml)).toFixed(1)} %, paired ${p.velocity.paired.ratio?.toFixed(3)}), ` +
      `rms wall-position error ${p.wallPosition.rmsError.toFixed(2)} columns, held-out F⊥ R² ${p.heldOutFperp.r2.toFixed(3)} ${good ? 'ok' : 'FAIL'}`,
  );
}
if (m.perMu.length < 3) (ok = false), console.error(`check-demo: ${m.perMu.length} electrode potentials, need ≥ 3`);
process.exit(ok ? 0 : 1);
