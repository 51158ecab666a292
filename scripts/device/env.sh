# Source on a remote GPU machine in the repository root after pack.sh's .dev/ and dist/ arrived:
# unpacks Node and the Dawn addon, installs the Vulkan loader from .gl/ when the system lacks one,
# and points neqspin at the carried reference data.
if ! ldconfig -p | grep -q libvulkan.so.1 && ls .gl/*.deb >/dev/null 2>&1; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done; ldconfig
fi
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json ] \
  && ! ls /usr/share/vulkan/icd.d/*nvidia* /etc/vulkan/icd.d/*nvidia* >/dev/null 2>&1; then
  export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
fi
if ! command -v node >/dev/null 2>&1; then
  mkdir -p /tmp/nodebin && xz -dc .dev/node.xz > /tmp/nodebin/node && chmod +x /tmp/nodebin/node
  export PATH=/tmp/nodebin:$PATH
fi
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || tar -xJf .dev/webgpu.tar.xz
[ -d .dev/reference ] && export NEQSPIN_REFERENCE=$PWD/.dev/reference
