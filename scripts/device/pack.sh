#!/usr/bin/env bash
# Pack what a bare remote GPU machine (x86-64 Linux, no Node, no network) needs to run neqspin:
# the Node binary and the Dawn addon (xz), the built bundles (dist/) and the authors' reference
# snapshots. Writes .dev/ (gitignored); carry `.dev`, `dist` (and `.gl` for the Vulkan loader).
# On the remote machine, `source scripts/device/env.sh` unpacks them and puts node on PATH.
set -euo pipefail
cd "$(dirname "$0")/../.."
npm run -s build
mkdir -p .dev
node_bin=$(command -v node)
if [ ! -f .dev/node.xz ] || [ "$node_bin" -nt .dev/node.xz ]; then xz -T2 -6 -c "$node_bin" > .dev/node.xz; fi
if [ ! -f .dev/webgpu.tar.xz ] || [ node_modules/webgpu/package.json -nt .dev/webgpu.tar.xz ]; then
  tar -cJf .dev/webgpu.tar.xz node_modules/webgpu/package.json node_modules/webgpu/index.js \
    node_modules/webgpu/dist/linux-x64/dawn.node
fi
ref=$(node -e "import('./dist/index.js').then(m => console.log(m.zhangChernReferenceDir?.() ?? ''))" 2>/dev/null || true)
[ -n "$ref" ] || ref=$(ls -d ../shared/reference/zhang-chern-2022 shared/reference/zhang-chern-2022 2>/dev/null | head -1 || true)
if [ -n "$ref" ] && [ -d "$ref" ]; then mkdir -p .dev/reference && cp -u "$ref"/*.dat .dev/reference/; fi
du -sh .dev dist
