#!/usr/bin/env bash
# Makes sure tools/onnx/node_modules/onnxruntime-node (CPU build, pinned in
# package-lock.json) is installed and loadable; runs `npm ci` only when not.
# Never downloads the CUDA provider. Exits 1 with a message on any problem.
# Usage: tools/onnx/install.sh   (from any directory)
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
die() { echo "tools/onnx/install.sh: $*" >&2; exit 1; }

command -v node >/dev/null 2>&1 || die "node not found on PATH (Node.js >= 16 is needed for onnxruntime-node)"

# Loadable and the pinned version? (prints nothing on success)
probe() {
  (cd "$dir" && node -e '
    const want = require("./package.json").dependencies["onnxruntime-node"];
    const got = require("onnxruntime-node").env.versions.node;
    if (got !== want) { console.error(`onnxruntime-node ${got} installed, ${want} wanted`); process.exit(1); }
  ') 2>&1
}
probe >/dev/null && exit 0

[ "${PLEXUS_NO_INSTALL:-0}" = "1" ] && die "onnxruntime-node is not installed in $dir/node_modules and PLEXUS_NO_INSTALL=1; install it with: (cd $dir && ONNXRUNTIME_NODE_INSTALL=skip npm ci)"
command -v npm >/dev/null 2>&1 || die "npm not found on PATH; it is needed to install onnxruntime-node"
# onnxruntime-node's postinstall (script/install.js) downloads the CUDA/TensorRT
# providers from NuGet on linux/x64 unless ONNXRUNTIME_NODE_INSTALL=skip.
export ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip

do_install() {
  probe >/dev/null && return 0   # another process installed it while we waited
  echo "tools/onnx/install.sh: installing onnxruntime-node into $dir/node_modules (npm ci)" >&2
  (cd "$dir" && npm ci --no-audit --no-fund >&2) || die "npm ci failed in $dir"
  local err
  err="$(probe)" || die "onnxruntime-node still does not load after npm ci: $err"
}
# Serialise concurrent callers (e.g. ctest -j) where flock exists.
if command -v flock >/dev/null 2>&1; then
  exec 9>"$dir/.install.lock"
  flock 9
fi
do_install
