#!/usr/bin/env bash
# Builds Plexus (Release: library tests, examples, benchmarks when Google
# Benchmark is installed) and runs every test with ctest, the PyTorch ones
# included. First installs the Debian packages that are missing, after
# saying which and the apt-get command (sudo when not root):
#   build: cmake g++ make libeigen3-dev doctest-dev
#   tests: python3-numpy python3-torch (torch.reference, example.torch_interop),
#          python3-onnx and ONNX Runtime (npm onnxruntime-node, tools/onnx/install.sh;
#          Debian's nodejs npm when there is no Node.js) for the onnx tests
# PLEXUS_NO_INSTALL=1 installs nothing (a missing package is then an error).
# Usage: tools/run_tests.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
plexus_install_missing "${PLEXUS_BASE_PACKAGES[@]}" "${PLEXUS_TEST_PACKAGES[@]}"
# ONNX Runtime for the onnx tests: npm's onnxruntime-node, with Debian's
# Node.js when the machine has none.
command -v node > /dev/null 2>&1 || plexus_install_missing nodejs npm
tools/onnx/install.sh
build="${1:-build}"
jobs="$(nproc)"
# A unity build (ten files per translation unit) compiles the headers'
# templates once per ten files instead of once per file, and the programs
# link the compiled-mode library (PLEXUS_DEV_COMPILED). Without
# -march=native (PLEXUS_NATIVE=OFF: the engines' kernels are chosen at run
# time either way) that is the installed library itself, compiled once
# rather than twice; the test programs compile at -O1 (tests/CMakeLists.txt).
# From a clean clone: 443 to 499 s in three runs on 2 cores, 553 s before
# these changes (docs/install.md#install_compile_cost). .ci/run builds the
# sanitizer pass with -march=native.
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON -DCMAKE_UNITY_BUILD_BATCH_SIZE=10 \
  -DPLEXUS_NATIVE=OFF
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"
