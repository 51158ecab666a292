#!/usr/bin/env bash
# neqspin fresh-machine setup + main job.
#   bash scripts/setup.sh            # install driver (if needed), deps, build, run the main job
#   NEQSPIN_SETUP_ONLY=1 bash scripts/setup.sh   # everything but the main job
# Idempotent: re-running skips what is already in place.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "[neqspin setup] $*" >&2; }

major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$major" -lt 20 ]; then log "Node.js >= 20 is required (found: $(node --version 2>/dev/null || echo none))"; exit 1; fi

# 1. a Vulkan driver Dawn accepts (software lavapipe from Mesa >= 25 on GPU-less Debian)
if [ "$(uname -s)" = Linux ]; then bash scripts/setup-vulkan.sh; else log "not Linux: using the system's Metal/D3D12 driver"; fi

# 2. dependencies and build
if [ ! -d node_modules/webgpu ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "installing npm dependencies"; npm ci --no-audit --no-fund --loglevel=error
fi
log "building"; npm run --silent build

# 3. check the adapter, then run the main job on its embedded default configuration
node bin/neqspin.js info
if [ -z "${NEQSPIN_SETUP_ONLY:-}" ]; then
  # the paper's experiment end to end (docs/demo.md); --resume continues a killed run from
  # out/demo.partial/, --force replaces the report of an earlier run
  log "running the main job: neqspin demo (embedded default, ~7 min on 2 cores without a GPU) -> out/demo/report.md"
  node bin/neqspin.js demo --out out/demo --resume --force
fi
