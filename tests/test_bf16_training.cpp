// bf16 products wired through the trainers: OnlineOptions::precision and
// FitOptions::precision reach the step (results differ from fp32), bf16
// training learns, is bit-identical for any thread count on every engine
// this CPU runs, and is refused for double networks.
#include "gradcheck.hpp"
#include "nets.hpp"
#include "source.hpp"

#include <plexus/plexus.hpp>

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

using namespace plexus;

namespace {

struct OnlineRun {
  std::vector<double> losses;
  Vector<float> params;
};

// A small answer-shaped network trained online on 3x3 inverses (targets
// inverse / 5, MSE), batches of 300 cut into parts of 128.
OnlineRun train_online(Precision precision, int threads, int steps) {
  set_num_threads(threads);
  auto net = plexus_test::answer_like<float>(32, 32, 2, 2, 9, Init::glorot_uniform);
  net.build(9, 7);
  Adam<float> adam(net);
  MSE<float> mse;
  mi::MatrixInverseSource<float> source(3, {mi::InverseDistribution::answer, false, 0.2});
  OnlineOptions oo;
  oo.batch = 300;
  oo.micro_batch = 128;
  oo.max_samples = static_cast<std::uint64_t>(steps) * 300;
  oo.lr = 3e-3;
  oo.precision = precision;
  OnlineTrainer<float> trainer(net, mse, adam, source, oo);
  OnlineRun r;
  while (!trainer.done()) r.losses.push_back(trainer.step());
  set_num_threads(0);
  r.params = net.parameters();
  return r;
}

bool same_bits(const Vector<float>& a, const Vector<float>& b) {
  return a.size() == b.size() &&
         std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
}

double mean(const std::vector<double>& v, std::size_t from, std::size_t to) {
  double s = 0;
  for (std::size_t i = from; i < to; ++i) s += v[i];
  return s / static_cast<double>(to - from);
}

}  // namespace

TEST_CASE("bf16: OnlineOptions::precision reaches the step, and bf16 training learns") {
  const OnlineRun f32 = train_online(Precision::native, 2, 150);
  const OnlineRun b16 = train_online(Precision::bf16, 2, 150);
  INFO("engine " << engine_name() << (bf16_emulated() ? " (bf16 emulated)" : ""));
  // bf16 operands change the products, hence the parameters and the losses.
  CHECK_FALSE(same_bits(f32.params, b16.params));
  CHECK(f32.losses.front() == doctest::Approx(b16.losses.front()).epsilon(0.05));
  CHECK(f32.losses.front() != b16.losses.front());
  // The loss falls: the last 20 steps' mean well under the first 10 steps'.
  const double first = mean(b16.losses, 0, 10), last = mean(b16.losses, 130, 150);
  const double first32 = mean(f32.losses, 0, 10), last32 = mean(f32.losses, 130, 150);
  INFO("bf16 loss " << first << " -> " << last << "; fp32 " << first32 << " -> " << last32);
  CHECK(last < 0.5 * first);
  // and about as far as fp32's.
  CHECK(last < 1.5 * last32);
}

TEST_CASE("bf16: online training is bit-identical for 1, 2 and 3 threads on every engine this CPU runs") {
  int engines = 0;
  for (int e = 0; e < kEngineCount; ++e) {
    const Engine engine_e = static_cast<Engine>(e);
    if (!engine_supported(engine_e)) continue;
    set_engine(engine_e);
    CAPTURE(engine_name());
    const OnlineRun one = train_online(Precision::bf16, 1, 6);
    const OnlineRun two = train_online(Precision::bf16, 2, 6);
    const OnlineRun three = train_online(Precision::bf16, 3, 6);
    CHECK(same_bits(one.params, two.params));
    CHECK(same_bits(one.params, three.params));
    CHECK(one.losses == two.losses);
    CHECK(one.losses == three.losses);
    ++engines;
  }
  reset_engine();
  CHECK(engines >= 1);
}

TEST_CASE("bf16: FitOptions::precision reaches the step, as step.precision does") {
  auto run = [](bool via_fit_options, Precision p) {
    auto net = plexus_test::answer_like<float>(16, 16, 1, 2, 9, Init::glorot_uniform);
    net.build(9, 5);
    Adam<float> adam(net);
    MSE<float> mse;
    const Matrix<float> x = plexus_test::random_matrix(200, 9, 11).cast<float>();
    const Matrix<float> y = plexus_test::random_matrix(200, 9, 12).cast<float>();
    FitOptions fo;
    fo.epochs = 2;
    fo.batch_size = 50;
    fo.verbose = Verbose::silent;
    if (via_fit_options) fo.precision = p;
    else fo.step.precision = p;
    fit(net, mse, adam, x, y, fo);
    return Vector<float>(net.parameters());
  };
  const auto native = run(true, Precision::native);
  const auto by_fit = run(true, Precision::bf16);
  const auto by_step = run(false, Precision::bf16);
  CHECK_FALSE(same_bits(native, by_fit));
  CHECK(same_bits(by_fit, by_step));
}

TEST_CASE("bf16: refused for double networks, by the online trainer and by fit, with a clear message") {
  auto net = plexus_test::answer_like<double>(8, 8, 1, 1, 9, Init::glorot_uniform);
  net.build(9, 1);
  Adam<double> adam(net);
  MSE<double> mse;
  mi::MatrixInverseSource<double> source(1, {mi::InverseDistribution::answer, false, 0.2});
  OnlineOptions oo;
  oo.max_samples = 1000;
  oo.precision = Precision::bf16;
  CHECK_THROWS_WITH_AS(OnlineTrainer<double>(net, mse, adam, source, oo),
                       doctest::Contains("bf16 products (OnlineOptions::precision) are for float networks"),
                       value_error);
  const Matrix<double> x = plexus_test::random_matrix(20, 9, 1), y = plexus_test::random_matrix(20, 9, 2);
  FitOptions fo;
  fo.verbose = Verbose::silent;
  fo.precision = Precision::bf16;
  CHECK_THROWS_WITH_AS(fit(net, mse, adam, x, y, fo),
                       doctest::Contains("bf16 products (FitOptions::precision) are for float networks"), value_error);
  // Nothing was trained by the refused calls.
  CHECK(adam.steps() == 0);
}
