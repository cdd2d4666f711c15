#!/usr/bin/env bash
# Builds Plexus (Release) and runs every test with ctest. Installs missing
# Debian packages first. Usage: tools/run_tests.sh [build-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
plexus_install_missing "${PLEXUS_BASE_PACKAGES[@]}"
build="${1:-build}"
jobs="$(nproc)"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$jobs"
ctest --test-dir "$build" --output-on-failure -j "$jobs"
