#!/usr/bin/env bash
# Installs the Debian packages Plexus' build needs when they are missing.
# Sourced by tools/run_example.sh and tools/run_tests.sh; usable alone:
#   tools/deps.sh [extra-package ...]
plexus_install_missing() {
  local missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "plexus: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null && sudo="sudo"
  $sudo apt-get update -qq || return 1
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
}

PLEXUS_BASE_PACKAGES=(cmake g++ make libeigen3-dev doctest-dev)
# For -DPLEXUS_WITH_MPI=ON (docs/distributed.md).
PLEXUS_MPI_PACKAGES=(openmpi-bin libopenmpi-dev)

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  set -euo pipefail
  plexus_install_missing "${PLEXUS_BASE_PACKAGES[@]}" "$@"
fi
