// One network (and one HalfPredictor) shared by many std::threads that
// predict at once: every result must be exactly the single-threaded one.
// Run under ThreadSanitizer in CI (.ci/run).
#include "gradcheck.hpp"
#include "nets.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <cstring>
#include <stdexcept>
#include <string>
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

// y = x, opaque in a one-row plan (it emits no steps of its own); a row
// whose first value is above 100 throws.
class FailsOnLarge : public LayerBase<FailsOnLarge, float> {
 public:
  static constexpr const char* kind_name = "FailsOnLarge";

 protected:
  Index build_shape(Index w) override { return w; }
  void forward_impl(const ConstMatrixRef<float>& x, MatrixRef<float> y, const ForwardContext&) override {
    for (Index i = 0; i < x.rows(); ++i)
      if (x(i, 0) > 100.0f) throw std::runtime_error("FailsOnLarge: a row starts above 100");
    y = x;
  }
  void backward_impl(const ConstMatrixRef<float>&, const ConstMatrixRef<float>&, MatrixRef<float> dy,
                     MatrixRef<float> dx, GradientMode) override {
    dx = dy;
  }
};

// FailsOnLarge first (an opaque step, on thread 0, row by row), then dense
// layers with enough weights for one-row calls at once to be served
// together (detail::kSharedLineWeights).
Network<float> failing_net(Index outputs) {
  Network<float> net;
  net.add(FailsOnLarge());
  net.add(Dense<float>(768, Activation::relu));
  net.add(Dense<float>(768, Activation::relu));
  net.add(Dense<float>(768, Activation::tanh));
  net.add(Dense<float>(outputs));
  return net;
}

}  // namespace

TEST_CASE("RowPlan::run_rows: rows together get run()'s bits on 1 and 2 threads, and a failing row fails alone") {
  Network<float> net = failing_net(5);
  net.build(9, 33);
  const RowPlan<float> plan = RowPlan<float>::compile(net.layers());
  REQUIRE(plan.has_opaque_steps());
  std::vector<Layer<float>*> layers;
  detail::index_layers(net.layers(), layers);
  const Index rows = 21;  // more than one group of dense_rows' 16
  Matrix<float> x = plexus_test::random_matrix(rows, 9, 34).cast<float>(), want(rows, 5);
  std::vector<float> arena(static_cast<std::size_t>(plan.arena_size() * rows));
  for (Index r = 0; r < rows; ++r) plan.run(arena.data(), x.data() + r, rows, want.data() + r, rows, 1, layers);
  for (int threads : {1, 2}) {
    CAPTURE(threads);
    for (Index count : {Index(1), Index(2), Index(5), rows}) {
      CAPTURE(count);
      Matrix<float> got = Matrix<float>::Constant(rows, 5, -7.0f);
      std::vector<RowPlan<float>::Row> io(static_cast<std::size_t>(count));
      for (Index r = 0; r < count; ++r)
        io[static_cast<std::size_t>(r)] = {x.data() + r, rows, got.data() + r, rows, {}};
      plan.run_rows(arena.data(), io.data(), count, threads, layers);
      CHECK(same(got.topRows(count), want.topRows(count)));
    }
  }
  // Row 3 fails: its call gets the exception, the others their values.
  x(3, 0) = 1000.0f;
  std::vector<RowPlan<float>::Row> io(static_cast<std::size_t>(rows));
  Matrix<float> got(rows, 5);
  for (Index r = 0; r < rows; ++r) io[static_cast<std::size_t>(r)] = {x.data() + r, rows, got.data() + r, rows, {}};
  plan.run_rows(arena.data(), io.data(), rows, 2, layers);
  for (Index r = 0; r < rows; ++r) {
    CAPTURE(r);
    CHECK(static_cast<bool>(io[static_cast<std::size_t>(r)].failure) == (r == 3));
    if (r != 3) CHECK(same(got.row(r), want.row(r)));
  }
}

TEST_CASE("calls at once on one network are served together: every caller gets its own row's bits or its own error") {
  Network<float> built = failing_net(9);
  built.build(9, 35);
  REQUIRE(built.parameter_count() >= detail::kSharedLineWeights);  // calls at once go through the line
  const Network<float>& net = built;
  const std::vector<Matrix<float>> in = batches(1, 12, 300);
  std::vector<Matrix<float>> want;
  for (const auto& x : in) want.push_back(net.predict(x, PredictOptions{1}));
  Matrix<float> bad = in[0];
  bad(0, 0) = 1000.0f;
  std::atomic<long long> wrong{0}, errors{0}, missed{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 8; ++t)
    pool.emplace_back([&, t] {
      Matrix<float> y(1, 9);
      for (int c = 0; c < 300; ++c) {
        if ((c + t) % 5 == 0) {  // a failing call among the others
          try {
            net.predict(bad, y);
            missed.fetch_add(1);
          } catch (const std::runtime_error& e) {
            if (std::string(e.what()).find("above 100") != std::string::npos) errors.fetch_add(1);
          }
          continue;
        }
        const std::size_t i = static_cast<std::size_t>(t * 5 + c) % in.size();
        try {
          net.predict(in[i], y);
          if (!same(y, want[i])) wrong.fetch_add(1);
        } catch (...) {  // another row's error
          wrong.fetch_add(1);
        }
      }
    });
  for (auto& th : pool) th.join();
  CHECK(wrong.load() == 0);
  CHECK(missed.load() == 0);
  CHECK(errors.load() == 8 * 60);
}

TEST_CASE("a HalfPredictor's one-row calls at once are served together, each with its own row's bits") {
  Network<float> built = failing_net(9);
  built.build(9, 36);
  const HalfPredictor<float> half(built);
  REQUIRE(built.parameter_count() >= detail::kSharedLineWeights);
  const std::vector<Matrix<float>> in = batches(1, 12, 400);
  std::vector<Matrix<float>> want;
  for (const auto& x : in) want.push_back(half.predict(x, PredictOptions{1}));
  CHECK(wrong_results(half, in, want, 8, 300, PredictOptions{}) == 0);
}

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

TEST_CASE("CallShare: calls in flight at once share the threads by default, and a requested count wins") {
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
