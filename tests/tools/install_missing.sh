#!/usr/bin/env bash
# ctest tools.install_missing: tools/deps.sh's plexus_install_missing, and
# tools/run_tests.sh / tools/run_example.sh around it, with stand-ins for
# dpkg-query, apt-get, sudo, id and cmake on PATH (nothing is installed or
# built). Checks: installed packages pass silently; missing ones are named,
# with the apt-get command (sudo when not root), before apt-get runs;
# PLEXUS_NO_INSTALL=1 runs no apt-get and fails naming the packages and the
# command; the scripts stop before cmake when packages are missing.
# Usage: install_missing.sh <source dir> <work dir>
set -euo pipefail
SRC="$1"
WORK="$2"
rm -rf "$WORK" && mkdir -p "$WORK/bin"
cd "$WORK"
fail() { echo "FAIL: $*" >&2; exit 1; }
has() { grep -qF -- "$2" "$1" || fail "$1 lacks '$2'; it holds:$(printf '\n'; cat "$1")"; }
lacks() { ! grep -qF -- "$2" "$1" || fail "$1 has '$2'; it holds:$(printf '\n'; cat "$1")"; }

# Stand-ins. dpkg-query: installed = the words of $FAKE_INSTALLED. The others
# log their arguments to calls.log (and apt-get to stderr too, to see what
# was said before it ran).
cat > bin/dpkg-query <<'STUB'
#!/usr/bin/env bash
pkg="${!#}"
for p in ${FAKE_INSTALLED:-}; do [ "$p" = "$pkg" ] && { printf 'install ok installed'; exit 0; }; done
exit 1
STUB
cat > bin/apt-get <<'STUB'
#!/usr/bin/env bash
echo "apt-get $* (DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-})" >> "$CALLS"
echo "APT-GET RUNS: $*" >&2
STUB
cat > bin/sudo <<'STUB'
#!/usr/bin/env bash
echo "sudo $*" >> "$CALLS"
exec "$@"
STUB
cat > bin/id <<'STUB'
#!/usr/bin/env bash
case "$1" in -u) echo "${FAKE_UID:-0}" ;; -un) echo tester ;; esac
STUB
cat > bin/cmake <<'STUB'
#!/usr/bin/env bash
echo "cmake $*" >> "$CALLS"
STUB
cp bin/cmake bin/ctest && sed -i 's/cmake \$\*/ctest $*/' bin/ctest
chmod +x bin/*
export PATH="$WORK/bin:$PATH" CALLS="$WORK/calls.log"
unset PLEXUS_NO_INSTALL

# Runs plexus_install_missing "$@" in a fresh shell; rc in $rc, stderr in err.txt.
install_missing() {
  : > "$CALLS"
  set +e
  bash -c 'source "$0/tools/deps.sh"; plexus_install_missing "$@"' "$SRC" "$@" > out.txt 2> err.txt
  rc=$?
  set -e
}

# 1. All installed: nothing said, nothing run.
FAKE_INSTALLED="cmake g++" install_missing cmake g++
[ "$rc" -eq 0 ] || fail "installed packages: exit $rc"
[ ! -s err.txt ] || fail "installed packages: said $(cat err.txt)"
[ ! -s "$CALLS" ] || fail "installed packages: ran $(cat "$CALLS")"

# 2. PLEXUS_NO_INSTALL=1 and a missing package: exit 1, the packages and the
# command named, no apt-get.
PLEXUS_NO_INSTALL=1 FAKE_INSTALLED="cmake" FAKE_UID=0 install_missing cmake plexus-no-such-package libfoo-dev
[ "$rc" -eq 1 ] || fail "PLEXUS_NO_INSTALL=1: exit $rc, expected 1"
has err.txt "missing Debian packages: plexus-no-such-package libfoo-dev"
has err.txt "PLEXUS_NO_INSTALL=1, so nothing is installed"
has err.txt "apt-get install -y --no-install-recommends plexus-no-such-package libfoo-dev"
lacks err.txt "sudo"
[ ! -s "$CALLS" ] || fail "PLEXUS_NO_INSTALL=1 ran $(cat "$CALLS")"
# not root: the command it suggests goes through sudo
PLEXUS_NO_INSTALL=1 FAKE_UID=1000 install_missing plexus-no-such-package
[ "$rc" -eq 1 ] || fail "PLEXUS_NO_INSTALL=1, not root: exit $rc"
has err.txt "sudo apt-get update && sudo apt-get install -y --no-install-recommends plexus-no-such-package"
[ ! -s "$CALLS" ] || fail "PLEXUS_NO_INSTALL=1 ran $(cat "$CALLS")"

# 3. Root, missing packages: said first (which, and the command), then
# apt-get update and install of exactly the missing ones, without sudo.
FAKE_INSTALLED="cmake" FAKE_UID=0 install_missing cmake pkg-a pkg-b
[ "$rc" -eq 0 ] || fail "root install: exit $rc"
has err.txt "missing Debian packages: pkg-a pkg-b"
has err.txt "installing them now: apt-get update && apt-get install -y --no-install-recommends pkg-a pkg-b"
has err.txt "PLEXUS_NO_INSTALL=1 turns this off"
said="$(grep -n 'installing them now' err.txt | cut -d: -f1)"
ran="$(grep -n 'APT-GET RUNS' err.txt | head -1 | cut -d: -f1)"
[ "$said" -lt "$ran" ] || fail "apt-get ran before the message: $(cat err.txt)"
has "$CALLS" "apt-get update -qq"
has "$CALLS" "apt-get install -y -qq --no-install-recommends pkg-a pkg-b (DEBIAN_FRONTEND=noninteractive)"
lacks "$CALLS" "sudo"
lacks "$CALLS" " cmake"

# 4. Not root: the same through sudo, which the message says.
FAKE_UID=1000 install_missing pkg-a
[ "$rc" -eq 0 ] || fail "sudo install: exit $rc"
has err.txt "installing them now: sudo apt-get update && sudo apt-get install -y --no-install-recommends pkg-a"
has "$CALLS" "sudo apt-get update -qq"
has "$CALLS" "sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pkg-a"
has "$CALLS" "apt-get install -y -qq --no-install-recommends pkg-a (DEBIAN_FRONTEND=noninteractive)"

# Not root and no sudo: an error that says to install as root (checked
# where the system has no sudo of its own to hide).
mkdir -p nosudo && cp bin/dpkg-query bin/apt-get bin/id nosudo/
if ! PATH="$WORK/nosudo:${PATH#"$WORK/bin:"}" command -v sudo > /dev/null; then
  PATH="$WORK/nosudo:${PATH#"$WORK/bin:"}" FAKE_UID=1000 install_missing pkg-a
  [ "$rc" -eq 1 ] || fail "no sudo: exit $rc"
  has err.txt "not root and no sudo, so install them as root with:"
  has err.txt "apt-get update && apt-get install -y --no-install-recommends pkg-a"
  [ ! -s "$CALLS" ] || fail "no sudo: ran $(cat "$CALLS")"
fi

# 5. A failing apt-get is a failure, said.
printf '#!/usr/bin/env bash\nexit 100\n' > bin/apt-get
FAKE_UID=0 install_missing pkg-a
[ "$rc" -eq 1 ] || fail "failing apt-get: exit $rc"
has err.txt "apt-get update failed"

# 6. The scripts: with PLEXUS_NO_INSTALL=1 and nothing installed they name
# every package they need and stop before cmake.
base="cmake g++ make libeigen3-dev doctest-dev"
for script in run_tests.sh run_example.sh; do
  : > "$CALLS"
  set +e
  PLEXUS_NO_INSTALL=1 FAKE_INSTALLED="" bash "$SRC/tools/$script" "$WORK/build" > out.txt 2> err.txt
  rc=$?
  set -e
  [ "$rc" -ne 0 ] || fail "$script with nothing installed and PLEXUS_NO_INSTALL=1 exited 0"
  has err.txt "missing Debian packages: $base"
  [ ! -s "$CALLS" ] || fail "$script ran $(cat "$CALLS") with packages missing"
done
has err.txt "missing Debian packages: $base"  # run_example.sh: the build's packages only
lacks err.txt "python3-torch"
PLEXUS_NO_INSTALL=1 FAKE_INSTALLED="" bash "$SRC/tools/run_tests.sh" "$WORK/build" > out.txt 2> err.txt || true
has err.txt "missing Debian packages: $base python3-numpy python3-torch python3-onnx"

# 7. Everything installed: run_tests.sh says nothing about packages and goes
# on to configure, build and ctest.
: > "$CALLS"
FAKE_INSTALLED="$base python3-numpy python3-torch python3-onnx" bash "$SRC/tools/run_tests.sh" "$WORK/build" > out.txt 2> err.txt ||
  fail "run_tests.sh with everything installed: $(cat err.txt)"
lacks err.txt "plexus:"
has "$CALLS" "cmake -S . -B $WORK/build -DCMAKE_BUILD_TYPE=Release"
has "$CALLS" "ctest --test-dir $WORK/build"
echo PASS
