// The engines chosen at run time: CPU feature detection against the
// kernel's /proc/cpuinfo, PLEXUS_ENGINE and set_engine (and their errors),
// bf16 conversions against the instruction, and on every engine this CPU
// runs: the one-row dot products against double sums, lane sums and
// finiteness checks (the same bits everywhere), and Adam's update against
// its formula (and, on avx512, against the Eigen expressions it replaced).
#include "engines.hpp"
#include "messages.hpp"

#include <doctest/doctest.h>

#include <plexus/plexus.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

using namespace plexus;
using plexus_test::engines_here;
using plexus_test::ForcedEngine;
using plexus_test::from_bits;
using plexus_test::has;
using plexus_test::message_of;

namespace {

template <typename T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

// The flags of the first processor in /proc/cpuinfo (empty where there is none).
std::set<std::string> cpuinfo_flags() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("flags", 0) == 0) {
      std::istringstream words(line.substr(line.find(':') + 1));
      std::set<std::string> flags;
      for (std::string w; words >> w;) flags.insert(w);
      return flags;
    }
  return {};
}

#if defined(__x86_64__) || defined(__i386__)
__attribute__((target("avx512f,avx512bf16,avx512vl"))) std::uint16_t hardware_bf16(float f) {
  const __m128bh r = _mm_cvtneps_pbh(_mm_set1_ps(f));
  std::uint16_t out[8];
  std::memcpy(out, &r, sizeof out);
  return out[0];
}
#endif

}  // namespace

TEST_CASE("cpu: the features detected agree with /proc/cpuinfo") {
  const std::set<std::string> flags = cpuinfo_flags();
  if (flags.empty()) {
    MESSAGE("no /proc/cpuinfo flags here: nothing to compare the detection with");
    return;
  }
  const CpuFeatures& f = cpu_features();
  MESSAGE(("detected: " + f.text));
  CHECK(!f.text.empty());
  const std::pair<const char*, bool> expected[] = {
      {"avx2", f.avx2},         {"fma", f.fma},           {"f16c", f.f16c},         {"avx512f", f.avx512f},
      {"avx512bw", f.avx512bw}, {"avx512dq", f.avx512dq}, {"avx512vl", f.avx512vl}, {"avx512_bf16", f.avx512_bf16},
      {"amx_tile", f.amx_tile}, {"amx_bf16", f.amx_bf16}};
  for (const auto& e : expected) {
    CAPTURE(e.first);
    CHECK(flags.count(e.first) == (e.second ? 1u : 0u));
  }
  CHECK(engine_supported(best_engine()));
  CHECK(engine_supported(Engine::generic));
  CHECK(engine_missing(Engine::generic).empty());
}

TEST_CASE("engine: PLEXUS_ENGINE picks an engine, and a bad or unsupported one is a clear error") {
  CHECK(detail::engine_from_environment(nullptr) == best_engine());
  CHECK(detail::engine_from_environment("") == best_engine());
  CHECK(detail::engine_from_environment("generic") == Engine::generic);
  const std::string unknown = message_of([] { detail::engine_from_environment("avx9000"); });
  CHECK(has(unknown, "PLEXUS_ENGINE"));
  CHECK(has(unknown, "unknown engine 'avx9000'"));
  CHECK(has(unknown, "generic, avx2, avx512, avx512_bf16, amx"));
  CHECK_THROWS_AS(detail::engine_from_environment("AVX2"), value_error);  // names are exact
  bool some_unsupported = false;
  for (int i = 0; i < kEngineCount; ++i) {
    const auto e = static_cast<Engine>(i);
    const std::string name = to_string(e);
    CAPTURE(name);
    if (engine_supported(e)) {
      CHECK(detail::engine_from_environment(name.c_str()) == e);
      continue;
    }
    some_unsupported = true;
    const std::string m = message_of([&] { detail::engine_from_environment(name.c_str()); });
    CHECK(has(m, "PLEXUS_ENGINE"));
    CHECK(has(m, "'" + name + "'"));
    CHECK(has(m, "the CPU lacks " + engine_missing(e)));
    CHECK_THROWS_AS(detail::engine_from_environment(name.c_str()), value_error);
  }
  if (!some_unsupported) MESSAGE("this CPU runs every engine: no unsupported one to force");
}

TEST_CASE("engine: set_engine switches, refuses what the CPU lacks, and reset_engine restores the default") {
  const Engine before = engine();
  for (const Engine e : engines_here()) {
    set_engine(e);
    CHECK(engine() == e);
    CHECK(engine_name() == to_string(e));
    CHECK(bf16_emulated() == (e != Engine::avx512_bf16 && e != Engine::amx));
  }
  set_engine("generic");
  CHECK(engine() == Engine::generic);
  for (int i = 0; i < kEngineCount; ++i) {
    const auto e = static_cast<Engine>(i);
    if (engine_supported(e)) continue;
    const std::string m = message_of([&] { set_engine(e); });
    CHECK(has(m, "set_engine"));
    CHECK(has(m, std::string("'") + to_string(e) + "'"));
    CHECK(has(m, "lacks"));
    CHECK(engine() == Engine::generic);  // unchanged
  }
  CHECK(has(message_of([] { set_engine("fast"); }), "unknown engine 'fast'"));
  reset_engine();
  CHECK(engine() == before);
}

TEST_CASE("bf16: float_to_bf16 rounds to nearest even and agrees with VCVTNEPS2BF16") {
  CHECK(float_to_bf16(1.0f) == 0x3f80);
  CHECK(float_to_bf16(from_bits(0x3f808000u)) == 0x3f80);  // tie: down to even
  CHECK(float_to_bf16(from_bits(0x3f818000u)) == 0x3f82);  // tie: up to even
  CHECK(float_to_bf16(from_bits(0x3f808001u)) == 0x3f81);  // above the tie
  CHECK(float_to_bf16(from_bits(0x7f7fffffu)) == 0x7f80);  // largest float: to infinity
  CHECK(float_to_bf16(-std::numeric_limits<float>::infinity()) == 0xff80);
  CHECK(float_to_bf16(from_bits(0x00000001u)) == 0x0000);  // denormals flush, sign kept
  CHECK(float_to_bf16(from_bits(0x80400000u)) == 0x8000);
  CHECK(float_to_bf16(from_bits(0x7f800001u)) == 0x7fc0);  // signalling NaN: quiet
  CHECK(std::isnan(bf16_to_float(float_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
  CHECK(bf16_to_float(0x4049) == 3.140625f);
  std::mt19937 g(13);
  std::uniform_int_distribution<std::uint32_t> any;
  for (int t = 0; t < 200000; ++t) {  // nearest among the two neighbours, ties to even (normal floats)
    const float f = from_bits((any(g) & 0xbf7fffffu) | 0x00800000u);
    const std::uint16_t r = float_to_bf16(f);
    const double d = std::abs(double(f) - bf16_to_float(r));
    const double up = std::abs(double(f) - bf16_to_float(static_cast<std::uint16_t>(r + 1)));
    const double down = std::abs(double(f) - bf16_to_float(static_cast<std::uint16_t>(r - 1)));
    REQUIRE(d <= up);
    REQUIRE(d <= down);
    if (d == up || d == down) REQUIRE((r & 1) == 0);
  }
#if defined(__x86_64__) || defined(__i386__)
  if (!cpu_features().avx512_bf16) {
    MESSAGE("the CPU lacks avx512_bf16: no VCVTNEPS2BF16 to compare with");
    return;
  }
  const std::uint32_t specials[] = {0u,          0x80000000u, 1u,          0x807fffffu, 0x00800000u, 0x7f7fffffu,
                                    0x7f800000u, 0xff800000u, 0x7f800001u, 0xffc12345u, 0x3f808000u, 0x3f818000u};
  for (std::uint32_t x : specials) {
    CAPTURE(x);
    CHECK(float_to_bf16(from_bits(x)) == hardware_bf16(from_bits(x)));
  }
  for (int t = 0; t < 1000000; ++t) {
    const float f = from_bits(any(g));
    REQUIRE(float_to_bf16(f) == hardware_bf16(f));
  }
#endif
}

TEST_CASE("dot: every engine's one-row kernels match double sums and depend only on n") {
  std::mt19937 g(21);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  const Index sizes[] = {0, 1, 3, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 255, 1152, 4099};
  for (const Engine e : engines_here()) {
    const std::string name = to_string(e);
    CAPTURE(name);
    ForcedEngine forced(e);
    for (Index n : sizes) {
      CAPTURE(n);
      const auto un = static_cast<std::size_t>(n);
      // Three columns, the second and third misaligned by one and five values.
      std::vector<float> w(3 * un + 8), x(un + 8);
      std::vector<double> wd(un), xd(un);
      std::vector<std::uint16_t> wh(3 * un + 8), wb(3 * un + 8);
      for (auto& v : w) v = u(g);
      for (auto& v : x) v = u(g);
      for (std::size_t i = 0; i < wh.size(); ++i) {
        wh[i] = float_to_half(w[i]);
        wb[i] = float_to_bf16(w[i]);
      }
      double ref = 0, ref_h = 0, ref_b = 0, scale = 0;
      for (std::size_t i = 0; i < un; ++i) {
        wd[i] = w[i];
        xd[i] = x[i];
        ref += double(w[i]) * x[i];
        ref_h += double(half_to_float(wh[i])) * x[i];
        ref_b += double(bf16_to_float(wb[i])) * x[i];
        scale += std::abs(double(w[i]) * x[i]);
      }
      const double tol = 1e-6 * scale + 1e-30;
      CHECK(std::abs(detail::dot(w.data(), x.data(), n) - ref) <= tol);
      CHECK(std::abs(detail::dot(wd.data(), xd.data(), n) - ref) <= 1e-15 * scale + 1e-300);
      CHECK(std::abs(detail::dot_half(wh.data(), x.data(), n) - ref_h) <= tol);
      CHECK(std::abs(detail::dot_bf16(wb.data(), x.data(), n) - ref_b) <= tol);
      // The same values elsewhere in memory give the same bits; the columns
      // forms give dot's bits column by column.
      std::vector<float> w2(un + 5), x2(un + 1);
      std::vector<std::uint16_t> wh2(un + 5), wb2(un + 5);
      std::copy(w.begin(), w.begin() + n, w2.begin() + 5);
      std::copy(x.begin(), x.begin() + n, x2.begin() + 1);
      std::copy(wh.begin(), wh.begin() + n, wh2.begin() + 5);
      std::copy(wb.begin(), wb.begin() + n, wb2.begin() + 5);
      CHECK(same_bits(detail::dot(w2.data() + 5, x2.data() + 1, n), detail::dot(w.data(), x.data(), n)));
      CHECK(same_bits(detail::dot_half(wh2.data() + 5, x2.data() + 1, n), detail::dot_half(wh.data(), x.data(), n)));
      CHECK(same_bits(detail::dot_bf16(wb2.data() + 5, x2.data() + 1, n), detail::dot_bf16(wb.data(), x.data(), n)));
      float cols[3], cols_h[3], cols_b[3];
      detail::dot_columns(w.data(), n + 1, x.data(), n, 3, cols);
      detail::dot_half_columns(wh.data(), n + 1, x.data(), n, 3, cols_h);
      detail::dot_bf16_columns(wb.data(), n + 1, x.data(), n, 3, cols_b);
      for (Index j = 0; j < 3; ++j) {
        const auto at = static_cast<std::size_t>(j * (n + 1));
        CHECK(same_bits(cols[j], detail::dot(w.data() + at, x.data(), n)));
        CHECK(same_bits(cols_h[j], detail::dot_half(wh.data() + at, x.data(), n)));
        CHECK(same_bits(cols_b[j], detail::dot_bf16(wb.data() + at, x.data(), n)));
      }
      // The rows form gives dot's bits row by row, however many rows go
      // together (1 to 9: whole groups of the kernel's rows and remainders),
      // each row misaligned differently.
      std::vector<std::vector<float>> xs(9, std::vector<float>(un + 3));
      std::vector<std::vector<double>> xds(9, std::vector<double>(un + 3));
      const float* xp[9];
      const double* xdp[9];
      for (std::size_t r = 0; r < 9; ++r) {
        for (std::size_t i = 0; i < un + 3; ++i) xs[r][i] = u(g), xds[r][i] = u(g);
        xp[r] = xs[r].data() + r % 3;
        xdp[r] = xds[r].data() + r % 3;
      }
      for (Index rows = 1; rows <= 9; ++rows) {
        CAPTURE(rows);
        float got[9];
        double got_d[9];
        detail::dot_rows(w.data() + 5, xp, rows, n, got);
        detail::dot_rows(wd.data(), xdp, rows, n, got_d);
        for (Index r = 0; r < rows; ++r) {
          CHECK(same_bits(got[r], detail::dot(w.data() + 5, xp[r], n)));
          CHECK(same_bits(got_d[r], detail::dot(wd.data(), xdp[r], n)));
        }
      }
    }
  }
}

namespace {
// The 16-lane sum as written: the order every engine must reproduce.
template <typename T>
T reference_lane_sum(const T* p, Index n) {
  T acc[16] = {};
  Index i = 0;
  for (; i + 16 <= n; i += 16)
    for (int l = 0; l < 16; ++l) acc[l] += p[i + l];
  for (int l = 0; i < n; ++i, ++l) acc[l] += p[i];
  for (int w = 8; w > 0; w /= 2)
    for (int l = 0; l < w; ++l) acc[l] += acc[l + w];
  return acc[0];
}
}  // namespace

TEST_CASE("lane_sum and finite_block: the same bits on every engine") {
  std::mt19937 g(5);
  std::uniform_real_distribution<double> u(-1e3, 1e3);
  for (const Engine e : engines_here()) {
    const std::string name = to_string(e);
    CAPTURE(name);
    ForcedEngine forced(e);
    for (Index n : {0, 1, 15, 16, 17, 33, 1000, 1024, 4097}) {
      CAPTURE(n);
      std::vector<float> f(static_cast<std::size_t>(n) + 3);
      std::vector<double> d(f.size());
      for (std::size_t i = 0; i < f.size(); ++i) {
        d[i] = u(g);
        f[i] = static_cast<float>(d[i]);
      }
      for (Index off : {0, 1, 3}) {
        CHECK(same_bits(detail::lane_sum(f.data() + off, n), reference_lane_sum(f.data() + off, n)));
        CHECK(same_bits(detail::lane_sum(d.data() + off, n), reference_lane_sum(d.data() + off, n)));
      }
      CHECK(detail::finite_block(f.data(), n));
      CHECK(detail::finite_block(d.data(), n));
      for (Index at : {Index(0), n / 2, n - 1}) {
        if (n == 0) break;
        for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                          std::numeric_limits<float>::quiet_NaN()}) {
          std::vector<float> fb = f;
          std::vector<double> db = d;
          fb[static_cast<std::size_t>(at)] = bad;
          db[static_cast<std::size_t>(at)] = bad;
          CHECK(!detail::finite_block(fb.data(), n));
          CHECK(!detail::finite_block(db.data(), n));
        }
      }
      std::vector<float> big(f);
      if (n > 0) big[0] = std::numeric_limits<float>::max();  // finite, largest exponent below all ones
      CHECK(detail::finite_block(big.data(), n));
    }
  }
}
