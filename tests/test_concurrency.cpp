// One network (and one HalfPredictor) shared by many std::threads that
// predict at once: every result must be exactly the single-threaded one.
// Run under ThreadSanitizer in CI (.ci/run).
#include "gradcheck.hpp"
#include "nets.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

using namespace plexus;

namespace {

bool same(const Matrix<float>& a, const Matrix<float>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

// `threads` std::threads each make `calls` predictions with `predictor`
// (a const Network or HalfPredictor), cycling through the inputs, and count
// the results that differ from `expected`.
template <typename P>
long long wrong_results(const P& predictor, const std::vector<Matrix<float>>& inputs,
                        const std::vector<Matrix<float>>& expected, int threads, int calls, PredictOptions options) {
  std::atomic<long long> wrong{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&, t] {
      Matrix<float> y;
      for (int c = 0; c < calls; ++c) {
        const std::size_t i = static_cast<std::size_t>(t * 7 + c) % inputs.size();
        y = predictor.predict(inputs[i], options);
        if (!same(y, expected[i])) wrong.fetch_add(1);
      }
    });
  for (auto& th : pool) th.join();
  return wrong.load();
}

std::vector<Matrix<float>> batches(Index rows, int count, std::uint64_t seed) {
  std::vector<Matrix<float>> v;
  for (int i = 0; i < count; ++i)
    v.push_back(plexus_test::random_matrix(rows, 9, seed + static_cast<std::uint64_t>(i)).cast<float>());
  return v;
}

}  // namespace

TEST_CASE("8 std::threads predicting with one shared const Network get exactly the single-threaded results") {
  Network<float> built = plexus_test::answer_like<float>(16, 8, 1, 2, 9, Init::glorot_uniform);
  built.build(9, 31);
  const Network<float>& net = built;
  for (Index rows : {Index(1), Index(64)}) {
    CAPTURE(rows);
    const std::vector<Matrix<float>> in = batches(rows, 16, 100 + static_cast<std::uint64_t>(rows));
    std::vector<Matrix<float>> want;
    for (const auto& x : in) want.push_back(net.predict(x, PredictOptions{1}));
    CHECK(wrong_results(net, in, want, 8, 10000, PredictOptions{1}) == 0);
    CHECK(wrong_results(net, in, want, 8, 2000, PredictOptions{}) == 0);  // each call may use a team of its own
  }
}

TEST_CASE("a network large enough to share its one-row steps, and a HalfPredictor, shared by 8 std::threads") {
  Network<float> built = plexus_test::answer_like<float>(128, 64, 1, 3, 9, Init::glorot_uniform);
  built.build(9, 32);
  REQUIRE(built.parameter_count() > (Index(1) << 16));  // its one-row steps are shared out over threads
  const Network<float>& net = built;
  const HalfPredictor<float> half(net);
  for (Index rows : {Index(1), Index(64)}) {
    CAPTURE(rows);
    const std::vector<Matrix<float>> in = batches(rows, 8, 200 + static_cast<std::uint64_t>(rows));
    std::vector<Matrix<float>> want, want_half;
    for (const auto& x : in) want.push_back(net.predict(x)), want_half.push_back(half.predict(x));
    const int calls = rows == 1 ? 400 : 40;
    CHECK(wrong_results(net, in, want, 8, calls, PredictOptions{}) == 0);
    CHECK(wrong_results(net, in, want, 8, calls, PredictOptions{1}) == 0);
    CHECK(wrong_results(half, in, want_half, 8, calls, PredictOptions{}) == 0);
  }
}

TEST_CASE("ThreadLimit: calls on this thread use at most its threads, nested limits restore the outer one") {
  const int all = num_threads();
  {
    ThreadLimit one(1);
    CHECK(num_threads() == 1);
    {
      ThreadLimit more(64);  // cannot raise the enclosing limit
      CHECK(num_threads() == 1);
    }
    CHECK(num_threads() == 1);
  }
  CHECK(num_threads() == all);
  std::thread other([&] { CHECK(num_threads() == all); });  // a limit is per thread
  {
    ThreadLimit one(1);
    other.join();
  }
}

TEST_CASE("CallShare: calls in flight at once share the threads by default; a requested count wins") {
  set_num_threads(8);
  {
    CallShare alone(0);
    CHECK(alone.in_flight() == 1);
    CHECK(num_threads() == 8);  // a call alone takes every thread
    int second = 0, third = 0, asked = 0;
    std::thread t([&] {
      CallShare b(0);  // two in flight: half each
      second = num_threads();
      std::thread u([&] {
        CallShare c(0);  // three, on a thread of its own: a third, rounded down
        third = num_threads();
      });
      u.join();
      CallShare d(3);  // asked for: 3, whatever is in flight
      asked = num_threads();
    });
    t.join();
    CHECK(second == 4);
    CHECK(third == 2);
    CHECK(asked == 3);
  }
  {
    CallShare again(0);  // every share ended: alone again
    CHECK(again.in_flight() == 1);
    CHECK(num_threads() == 8);
  }
  set_num_threads(0);
}
