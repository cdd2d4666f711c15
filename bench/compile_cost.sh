#!/usr/bin/env bash
# What including Plexus costs a file to compile, against Eigen alone
# (docs/install.md#install_compile_cost). Each row compiles one file with
# g++ -std=c++17 -O2 -fopenmp, `rounds` times, and prints the fastest CPU
# time (user + system, /usr/bin/time), the compiler's peak memory and, for
# the rows that link, the program's size.
#   eigen      #include <Eigen/Dense> and one 64x64 product
#   empty      #include <plexus/plexus.hpp> and an empty main
#   readme     the README's example (Dense, Adam, MSE, 500 steps)
# header-only, and in compiled mode (-DPLEXUS_COMPILED_LIB, linked against a
# build's libplexus_compiled.a, compiled once first).
# Usage: bench/compile_cost.sh [rounds=3] [CXX=g++]
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-3}"
cxx="${CXX:-g++}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
eigen_inc="$(pkg-config --cflags eigen3 2> /dev/null || echo -I/usr/include/eigen3)"
flags=(-std=c++17 -O2 -fopenmp -Iinclude $eigen_inc)

cat > "$work/eigen.cpp" << 'CPP'
#include <Eigen/Dense>
int main() {
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(64, 64);
  Eigen::MatrixXf b = a * a;
  return b(0, 0) > 0;
}
CPP
printf '#include <plexus/plexus.hpp>\nint main() {}\n' > "$work/empty.cpp"
awk '/^```cpp/{f=1; next} /^```/{if (f) exit} f' README.md > "$work/readme.cpp"

# best CPU seconds of `rounds` compiles; also sets peak_mb
best=""
peak_mb=""
measure() {
  best=""
  for _ in $(seq "$rounds"); do
    /usr/bin/time -f "%U %S %M" -o "$work/t" "$@"
    read -r u s m < "$work/t"
    t="$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')"
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN { exit !(a < b) }'; then best="$t"; fi
    peak_mb=$((m / 1024))
  done
}

echo "compiling the compiled library once (src/plexus_compiled_float.cpp, src/plexus_compiled_double.cpp)..."
"$cxx" "${flags[@]}" -c src/plexus_compiled_float.cpp -o "$work/lib_float.o"
"$cxx" "${flags[@]}" -c src/plexus_compiled_double.cpp -o "$work/lib_double.o"
ar rcs "$work/libplexus_compiled.a" "$work/lib_float.o" "$work/lib_double.o"

printf '%-30s %8s %10s %10s\n' "file" "CPU s" "peak MB" "binary KB"
row() {  # name, extra flags..., then the source
  local name="$1" src="$2"
  shift 2
  measure "$cxx" "${flags[@]}" "$@" "$src" -o "$work/a.out" ${LIBS:-}
  printf '%-30s %8s %10s %10s\n' "$name" "$best" "$peak_mb" "$(($(stat -c %s "$work/a.out") / 1024))"
}
row "eigen (one product)" "$work/eigen.cpp"
row "empty, header-only" "$work/empty.cpp"
row "readme, header-only" "$work/readme.cpp"
LIBS="$work/libplexus_compiled.a" row "empty, compiled mode" "$work/empty.cpp" -DPLEXUS_COMPILED_LIB
LIBS="$work/libplexus_compiled.a" row "readme, compiled mode" "$work/readme.cpp" -DPLEXUS_COMPILED_LIB
