#!/usr/bin/env bash
# What to measure when a GPU machine is lent (run there in the repository root, after
#   bash scripts/device/pack.sh   (here)   and   source scripts/device/env.sh   (there)):
#   1. the benchmarks (all, or MEASURE_BENCH=ll,negf,mlp, or none) (BENCHMARKS.md section of that device; the f64 NEGF reference is
#      reused from .neqspin-cache/bench when carried, see src/bench/negf.ts);
#   2. the default demo for several seeds, one after another (agreement robustness, GPU timings);
#   3. optionally the zhang-chern-2022 demo preset (MEASURE_PRESET=1). Its output folder lives outside
#      $OUT (MEASURE_PRESET_DIR, default .neqspin-runs/zc2022, kept while the machine stays warm) so
#      that a run longer than one call (10 min) continues with --resume in the next call, e.g.
#        MEASURE_BENCH=none MEASURE_SEEDS= MEASURE_PRESET=1 \
#        MEASURE_PRESET_ARGS="--steps 5000 --every 20 --resume" timeout 580 bash scripts/device/measure.sh
#      (repeat the same line until the log says the report is written; a killed run keeps its
#      checkpoints in <dir>.partial/). The finished report is copied to $OUT/zc2022.
# Results go to $OUT (default out/device): BENCHMARKS.md, bench.log, demos.tar.gz, summary.txt.
#   MEASURE_BENCH=all  MEASURE_SEEDS="0 1 2"  MEASURE_PRESET=1  bash scripts/device/measure.sh
set -uo pipefail
OUT=${OUT:-out/device}
mkdir -p "$OUT" "$OUT/demos"
export NEQSPIN_PYTHON=${NEQSPIN_PYTHON:-$(command -v python3)}
export NEQSPIN_BENCH_F64_CACHE=${NEQSPIN_BENCH_F64_CACHE:-$PWD/.neqspin-cache/bench}
summary() { echo "$*" | tee -a "$OUT/summary.txt"; }
t0=$SECONDS
bench=${MEASURE_BENCH:-all}
if [ "$bench" != none ]; then
  if [ "$bench" = all ]; then node dist/bench.js > "$OUT/bench.log" 2>&1; else NEQSPIN_BENCH_ONLY=$bench node dist/bench.js > "$OUT/bench.log" 2>&1; fi
  summary "bench ($bench): rc $? after $((SECONDS - t0)) s"
  cp BENCHMARKS.md "$OUT/"
fi
for s in ${MEASURE_SEEDS:-0 1 2}; do
  t1=$SECONDS
  node dist/cli.js demo --out "$OUT/demos/seed$s" --seed "$s" --force > "$OUT/demos/seed$s.log" 2>&1
  summary "demo seed $s: rc $? in $((SECONDS - t1)) s: $(tail -1 "$OUT/demos/seed$s.log")"
  node scripts/check-demo.mjs "$OUT/demos/seed$s" >> "$OUT/summary.txt" 2>&1
done
if [ -n "${MEASURE_PRESET:-}" ]; then
  t1=$SECONDS
  dir=${MEASURE_PRESET_DIR:-.neqspin-runs/zc2022}
  mkdir -p "$(dirname "$dir")"
  # shellcheck disable=SC2086 # the arguments are meant to split
  node dist/cli.js demo --preset zhang-chern-2022 --out "$dir" ${MEASURE_PRESET_ARGS:---force} > "$OUT/zc2022.log" 2>&1
  summary "demo zhang-chern-2022 (${MEASURE_PRESET_ARGS:---force}): rc $? in $((SECONDS - t1)) s: $(tail -1 "$OUT/zc2022.log")"
  if [ -d "$dir" ]; then cp -r "$dir" "$OUT/zc2022"; fi
fi
tar -czf "$OUT/demos.tar.gz" -C "$OUT" demos && rm -rf "$OUT/demos"
summary "total $((SECONDS - t0)) s"
