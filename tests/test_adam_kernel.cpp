// detail::adam_update, Adam's and AdamW's parameter update, on every engine
// this CPU runs: against the formulas in double precision, and on the
// avx512 engines bit for bit against the Eigen array expressions Adam used
// before the engines (as g++ builds them with -march=native).
#include "engines.hpp"

#include <doctest/doctest.h>

#include <plexus/plexus.hpp>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace plexus;
using plexus_test::ForcedEngine;

namespace {

template <typename T>
struct State {
  std::vector<T> p, g, m, v;
};

// Parameters, gradients and moments like a training step's, with zeros,
// denormals and tiny second moments where Adam's square root has edges.
template <typename T>
State<T> make_state(Index n, unsigned seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> u(-1, 1);
  State<T> s;
  const auto un = static_cast<std::size_t>(n);
  s.p.resize(un), s.g.resize(un), s.m.resize(un), s.v.resize(un);
  for (std::size_t i = 0; i < un; ++i) {
    s.p[i] = T(u(gen));
    s.g[i] = T(1e-2 * u(gen));
    s.m[i] = T(1e-3 * u(gen));
    s.v[i] = T(1e-5 * std::abs(u(gen)));
    if (i % 97 == 0) s.v[i] = T(0);
    if (i % 89 == 0) s.v[i] = std::numeric_limits<T>::denorm_min();
    if (i % 83 == 0) s.g[i] = T(0);
  }
  return s;
}

template <typename T>
detail::AdamCoefficients<T> coefficients(int t, double wd, bool decoupled) {
  const double lr = 1e-3, b1 = 0.9, b2 = 0.999;
  detail::AdamCoefficients<T> c;
  c.step_size = T(lr / (1 - std::pow(b1, t)));
  c.bias2_sqrt = T(std::sqrt(1 - std::pow(b2, t)));
  c.beta1 = T(b1), c.beta2 = T(b2), c.one_minus_beta1 = T(1 - b1), c.one_minus_beta2 = T(1 - b2);
  c.eps = T(1e-8);
  if (decoupled) c.decay = T(1 - lr * wd);
  else c.weight_decay = T(wd);
  return c;
}

// The formulas in double (long double for double inputs).
template <typename T>
void reference(State<T>& s, const detail::AdamCoefficients<T>& c) {
  using R = long double;
  for (std::size_t i = 0; i < s.p.size(); ++i) {
    R p = s.p[i];
    const R g = R(s.g[i]) + R(c.weight_decay) * p;
    p *= R(c.decay);
    const R m = R(c.beta1) * s.m[i] + R(c.one_minus_beta1) * g;
    const R v = R(c.beta2) * s.v[i] + R(c.one_minus_beta2) * g * g;
    p -= R(c.step_size) * m / (std::sqrt(v) / R(c.bias2_sqrt) + R(c.eps));
    s.p[i] = T(p), s.m[i] = T(m), s.v[i] = T(v);
  }
}

template <typename T>
void check_formula(Engine e, Index n, const detail::AdamCoefficients<T>& c) {
  State<T> want = make_state<T>(n, 7), got = want;
  reference(want, c);
  {
    ForcedEngine forced(e);
    detail::adam_update(got.p.data(), got.g.data(), got.m.data(), got.v.data(), n, c);
  }
  const double tol = sizeof(T) == 4 ? 2e-6 : 1e-14;
  double worst_p = 0, worst_m = 0, worst_v = 0;
  for (std::size_t i = 0; i < want.p.size(); ++i) {
    // Where v is zero, m / eps moves p far: its error is relative to the new p.
    worst_p = std::max(
        worst_p, std::abs(double(got.p[i]) - double(want.p[i])) / (std::abs(double(want.p[i])) + double(c.step_size)));
    worst_m = std::max(worst_m, std::abs(double(got.m[i]) - double(want.m[i])) / (1e-3 + std::abs(double(want.m[i]))));
    worst_v = std::max(worst_v, std::abs(double(got.v[i]) - double(want.v[i])) / (1e-30 + std::abs(double(want.v[i]))));
  }
  CHECK(worst_p < 4 * tol);
  CHECK(worst_m < tol);
  CHECK(worst_v < 4 * tol);
}

}  // namespace

TEST_CASE("adam_update: every engine follows Adam's and AdamW's formulas, float and double") {
  for (int i = 0; i < kEngineCount; ++i) {
    const auto e = static_cast<Engine>(i);
    const std::string name = to_string(e);
    if (!engine_supported(e)) {
      MESSAGE(("engine " + name + " skipped: the CPU lacks " + engine_missing(e)));
      continue;
    }
    CAPTURE(name);
    for (Index n : {1, 15, 16, 17, 100, 1000}) {
      CAPTURE(n);
      for (int t : {1, 10}) {
        check_formula<float>(e, n, coefficients<float>(t, 0.0, false));
        check_formula<float>(e, n, coefficients<float>(t, 0.01, false));
        check_formula<float>(e, n, coefficients<float>(t, 0.01, true));
        check_formula<double>(e, n, coefficients<double>(t, 0.0, false));
        check_formula<double>(e, n, coefficients<double>(t, 0.01, false));
        check_formula<double>(e, n, coefficients<double>(t, 0.01, true));
      }
    }
  }
}

#if defined(__AVX512F__) && defined(__GNUC__) && !defined(__clang__)
namespace {
// Adam's update as optim/adam.hpp wrote it before the engines, over one chunk.
template <typename T>
void eigen_adam(State<T>& s, Index i0, Index n, const detail::AdamCoefficients<T>& c) {
  using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
  Eigen::Map<Array> pc(s.p.data() + i0, n), mc(s.m.data() + i0, n), vc(s.v.data() + i0, n);
  const Eigen::Map<const Array> gc(s.g.data() + i0, n);
  const T b1 = c.beta1, b2 = c.beta2, one_b1 = c.one_minus_beta1, one_b2 = c.one_minus_beta2, wd = c.weight_decay;
  if (wd == T(0)) {
    mc = b1 * mc + one_b1 * gc;
    vc = b2 * vc + one_b2 * gc * gc;
  } else {
    mc = b1 * mc + one_b1 * (gc + wd * pc);
    vc = b2 * vc + one_b2 * (gc + wd * pc) * (gc + wd * pc);
  }
  pc -= c.step_size * (mc / (vc.sqrt() / c.bias2_sqrt + c.eps));
}

template <typename T>
void check_eigen(Engine e, Index n, const detail::AdamCoefficients<T>& c) {
  // Eigen's vectors are 64-byte aligned in an AVX-512 build, and Adam cut
  // them in chunks of 2^14: whole registers from the start of each chunk.
  constexpr Index chunk = Index(1) << 14;
  State<T> want = make_state<T>(n, 11), got = want;
  ForcedEngine forced(e);
  for (Index i0 = 0; i0 < n; i0 += chunk) {
    const Index len = std::min(chunk, n - i0);
    eigen_adam(want, i0, len, c);
    detail::adam_update(got.p.data() + i0, got.g.data() + i0, got.m.data() + i0, got.v.data() + i0, len, c);
  }
  CHECK(std::memcmp(got.p.data(), want.p.data(), want.p.size() * sizeof(T)) == 0);
  CHECK(std::memcmp(got.m.data(), want.m.data(), want.m.size() * sizeof(T)) == 0);
  CHECK(std::memcmp(got.v.data(), want.v.data(), want.v.size() * sizeof(T)) == 0);
}

// Whether this build fuses a * b + c into one multiply-add, as g++ does from
// -O2 (not at -O1): the Eigen reference's bits are an optimized build's only
// then. (1 + 2^-12)^2 - 1 is 2^-11 rounded, 2^-11 + 2^-24 fused.
__attribute__((noinline)) float multiply_add(float a, float b, float c) { return a * b + c; }
bool build_fuses_multiply_add() {
  volatile float a = 1.0f + 0x1p-12f, c = -1.0f;
  return multiply_add(a, a, c) == std::fma(static_cast<float>(a), static_cast<float>(a), static_cast<float>(c));
}
}  // namespace

TEST_CASE("adam_update: on the avx512 engines, the bits of the Eigen expressions it replaced") {
  if (!build_fuses_multiply_add()) {
    MESSAGE(
        "PLEXUS_SKIPPED: this build does not fuse a * b + c into a multiply-add (g++ does from -O2), so Eigen's "
        "expressions do not give an optimized build's bits here");
    return;
  }
  for (const Engine e : {Engine::avx512, Engine::avx512_bf16, Engine::amx}) {
    const std::string name = to_string(e);
    if (!engine_supported(e)) {
      MESSAGE(("engine " + name + " skipped: the CPU lacks " + engine_missing(e)));
      continue;
    }
    CAPTURE(name);
    for (Index n : {1, 15, 16, 17, 1000, 16384, 40000}) {
      CAPTURE(n);
      for (int t : {1, 3, 100}) {
        check_eigen<float>(e, n, coefficients<float>(t, 0.0, false));
        check_eigen<float>(e, n, coefficients<float>(t, 0.01, false));
        check_eigen<double>(e, n, coefficients<double>(t, 0.0, false));
        check_eigen<double>(e, n, coefficients<double>(t, 0.01, false));
      }
    }
  }
}
#else
TEST_CASE("adam_update: on the avx512 engines, the bits of the Eigen expressions it replaced") {
  MESSAGE(
      "PLEXUS_SKIPPED: the reference is Eigen's AVX-512 code as g++ builds it (needs g++ and -march with AVX-512: "
      "PLEXUS_NATIVE=ON on an AVX-512 host)");
}
#endif
