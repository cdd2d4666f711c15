#!/usr/bin/env bash
# Builds the flagship example and runs `matrix_inverse train` with its
# defaults (the improved recipe, at most 5 minutes on 2 cores); the model
# goes to runs/model.plx, the plots and curve to runs/train. Extra
# arguments go to `matrix_inverse train`. First installs the Debian
# packages that are missing (cmake g++ make libeigen3-dev doctest-dev),
# after saying which and the apt-get command (sudo when not root);
# PLEXUS_NO_INSTALL=1 installs nothing (a missing package is then an error).
# PLEXUS_BUILD_DIR sets the build folder (default: build).
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/deps.sh
plexus_install_missing "${PLEXUS_BASE_PACKAGES[@]}"
build="${PLEXUS_BUILD_DIR:-build}"
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release
cmake --build "$build" -j "$(nproc)" --target matrix_inverse
mkdir -p runs
exec "$build/examples/matrix_inverse/matrix_inverse" train --model runs/model.plx --out runs/train "$@"
