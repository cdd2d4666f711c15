#!/usr/bin/env bash
# The Debian packages Plexus' build and tests need, and the function that
# installs the missing ones. Sourced by tools/run_example.sh,
# tools/run_tests.sh and .ci/run; usable alone:
#   tools/deps.sh [extra-package ...]     # the build's packages and those
# Before installing, it says which packages and the apt-get command it runs
# (through sudo when not root). PLEXUS_NO_INSTALL=1 turns installing off: a
# missing package is then an error naming the packages and how to install
# them. Tested by tests/tools/install_missing.sh (ctest tools.install_missing).

# plexus_install_missing <package> ...: returns 0 when all are installed
# (or were installed now), 1 otherwise, with the reason on stderr.
plexus_install_missing() {
  if ! command -v dpkg-query > /dev/null 2>&1; then
    echo "plexus: no dpkg-query (not Debian?): not checking for $*; install their equivalents yourself" >&2
    return 0
  fi
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2> /dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=() as_root=""
  [ "$(id -u)" -ne 0 ] && sudo=(sudo) && as_root="sudo "
  local install="apt-get install -y --no-install-recommends ${missing[*]}"
  if [ "${PLEXUS_NO_INSTALL:-0}" = "1" ]; then
    echo "plexus: missing Debian packages: ${missing[*]}" >&2
    echo "plexus: PLEXUS_NO_INSTALL=1, so nothing is installed; install them with:" >&2
    echo "  ${as_root}apt-get update && ${as_root}$install" >&2
    return 1
  fi
  if [ -n "$as_root" ] && ! command -v sudo > /dev/null 2>&1; then
    echo "plexus: missing Debian packages: ${missing[*]}; not root and no sudo, so install them as root with:" >&2
    echo "  apt-get update && $install" >&2
    return 1
  fi
  echo "plexus: missing Debian packages: ${missing[*]}" >&2
  echo "plexus: installing them now: ${as_root}apt-get update && ${as_root}$install" >&2
  echo "plexus: (PLEXUS_NO_INSTALL=1 turns this off)" >&2
  # sudo resets the environment: the variable goes through env.
  "${sudo[@]}" apt-get update -qq || { echo "plexus: apt-get update failed" >&2; return 1; }
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" ||
    { echo "plexus: installing ${missing[*]} failed" >&2; return 1; }
}

PLEXUS_BASE_PACKAGES=(cmake g++ make libeigen3-dev doctest-dev)
# What tools/run_tests.sh runs besides: the PyTorch tests (torch.reference,
# example.torch_interop), which fail without torch, and the ONNX tests
# (onnx.checker from python3-onnx; ONNX Runtime from npm through Node.js,
# tools/onnx/install.sh).
PLEXUS_TEST_PACKAGES=(python3-numpy python3-torch python3-onnx)
# For -DPLEXUS_WITH_MPI=ON (docs/distributed.md).
PLEXUS_MPI_PACKAGES=(openmpi-bin libopenmpi-dev)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  plexus_install_missing "${PLEXUS_BASE_PACKAGES[@]}" "$@"
fi
