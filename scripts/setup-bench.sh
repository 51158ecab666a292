#!/usr/bin/env bash
# Optional: the CPU baselines `npm run bench` compares against (Debian packages; idempotent).
#   python3-numpy  float64 numpy NEGF baseline (scripts/baselines/negf_numpy.py)
#   python3-torch  PyTorch CPU MLP baseline (scripts/baselines/mlp_torch.py)
set -euo pipefail
if /usr/bin/python3 -c 'import numpy, torch' 2>/dev/null; then echo "[neqspin bench setup] baselines present" >&2; exit 0; fi
if ! command -v apt-get >/dev/null; then echo "[neqspin bench setup] install numpy and torch for /usr/bin/python3 by hand" >&2; exit 1; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq python3-numpy python3-scipy python3-torch >/dev/null
echo "[neqspin bench setup] installed python3-numpy, python3-scipy, python3-torch" >&2
