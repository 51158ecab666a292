#!/usr/bin/env bash
# Make sure a WebGPU adapter is available to Dawn (npm `webgpu`).
# On Debian bookworm without a GPU driver: install Mesa >= 25 (lavapipe, software Vulkan)
# from bookworm-backports; stock Mesa 22.3 is rejected by Dawn. Idempotent.
set -euo pipefail
log() { echo "[neqspin setup] $*" >&2; }

have_lvp() {
  # a Vulkan ICD from Mesa >= 25 (lavapipe) or any non-Mesa ICD (a real GPU driver)
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  if [ -n "$v" ] && dpkg --compare-versions "$v" ge 25; then return 0; fi
  for f in /usr/share/vulkan/icd.d/*.json /etc/vulkan/icd.d/*.json /usr/local/nvidia/share/vulkan/icd.d/*.json; do
    [ -e "$f" ] || continue
    case "$f" in *lvp*|*radeon*|*intel*|*nouveau*|*virtio*|*freedreno*|*asahi*|*panfrost*|*broadcom*) ;; *) return 0 ;; esac
  done
  return 1
}

if have_lvp; then log "Vulkan driver present"; exit 0; fi

if [ ! -r /etc/os-release ]; then
  log "unknown OS: install a Vulkan driver (Mesa >= 25 lavapipe, or your GPU's driver) by hand"; exit 1
fi
. /etc/os-release
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
case "${ID:-}:${VERSION_CODENAME:-}" in
  debian:bookworm)
    if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
      log "adding bookworm-backports to apt sources"
      echo "deb http://deb.debian.org/debian bookworm-backports main" | $SUDO tee /etc/apt/sources.list.d/neqspin-backports.list >/dev/null
    fi
    $SUDO apt-get update -qq
    log "installing mesa-vulkan-drivers (Mesa 25 lavapipe) from bookworm-backports"
    $SUDO apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
    ;;
  debian:*|ubuntu:*)
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq mesa-vulkan-drivers libvulkan1 >/dev/null
    v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers)
    if ! dpkg --compare-versions "$v" ge 25; then
      log "installed Mesa $v; Dawn needs Mesa >= 25 (e.g. the kisak-mesa PPA on Ubuntu) or a GPU driver"; exit 1
    fi
    ;;
  *)
    log "$PRETTY_NAME: install your GPU's Vulkan driver, or Mesa >= 25 (lavapipe) for a software adapter"; exit 1 ;;
esac
have_lvp && log "Vulkan driver installed" || { log "no usable Vulkan driver after install"; exit 1; }
