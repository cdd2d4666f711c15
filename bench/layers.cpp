// Micro-benchmarks at the shapes of the answer's network (float32, batch
// 1024): the dense kernels, a whole concat block, the Adam step, the sample
// generator, a whole training step, batch-1 prediction (float and 16-bit
// weights) and the memory floor under it; and the products and one-row dot
// products of every engine (fp32 and bf16), each forced in turn. Each
// reports a throughput counter: FLOP/s, bytes/s or samples/s (FLOP=150G/s
// reads 150 GFLOP/s).
//
//   build/bench/plexus_bench                       # everything
//   build/bench/plexus_bench --benchmark_filter=Dense
//   build/bench/plexus_bench --benchmark_filter=Engine
//   OMP_NUM_THREADS=1 build/bench/plexus_bench     # one thread
//   PLEXUS_ENGINE=avx2 build/bench/plexus_bench    # everything else on one engine
#include <benchmark/benchmark.h>

#include <plexus/plexus.hpp>

#include "recipes.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace {

using plexus::Index;
using T = float;
constexpr Index kBatch = 1024;

plexus::Matrix<T> random_matrix(Index rows, Index cols, std::uint64_t seed) {
  plexus::Rng rng(seed);
  plexus::Matrix<T> m(rows, cols);
  for (Index i = 0; i < m.size(); ++i) m.data()[i] = static_cast<T>(rng.uniform(-1.0, 1.0));
  return m;
}

void set_flops(benchmark::State& state, double flops_per_iteration) {
  state.counters["FLOP"] = benchmark::Counter(flops_per_iteration, benchmark::Counter::kIsIterationInvariantRate);
}

// y = relu(x W + b) for x of kBatch x in: the forward product of one layer of
// a concat block (in = 128, 384, 640, 896) or of the block's closing Dense
// (in = 1152, out = 128), through the library's GEMM with the fused epilogue.
void BM_DenseForward(benchmark::State& state) {
  const Index in = state.range(0), out = state.range(1);
  plexus::Network<T> net;
  net.add(plexus::Dense<T>(out, plexus::Activation::relu));
  net.build(in, 1);
  auto& dense = net.layers()[0];  // the layer itself: no input checks
  const auto x = random_matrix(kBatch, in, 2);
  plexus::Matrix<T> y(kBatch, out);
  for (auto _ : state) {
    dense.forward(x, y);
    benchmark::DoNotOptimize(y.data());
  }
  set_flops(state, 2.0 * kBatch * in * out);
}
BENCHMARK(BM_DenseForward)->Args({128, 256})->Args({640, 256})->Args({1152, 128})->UseRealTime();

// dX += dZ W^T: the backward product to the input (kBatch x in).
void BM_DenseBackwardInput(benchmark::State& state) {
  const Index in = state.range(0), out = state.range(1);
  const auto w = random_matrix(in, out, 3), dz = random_matrix(kBatch, out, 4);
  plexus::Matrix<T> dx = plexus::Matrix<T>::Zero(kBatch, in);
  for (auto _ : state) {
    plexus::gemm<T>(false, true, kBatch, in, out, T(1), dz.data(), kBatch, w.data(), in, T(1), dx.data(), kBatch);
    benchmark::DoNotOptimize(dx.data());
  }
  set_flops(state, 2.0 * kBatch * in * out);
}
BENCHMARK(BM_DenseBackwardInput)->Args({128, 256})->Args({640, 256})->Args({1152, 128})->UseRealTime();

// dW = X^T dZ: the backward product to the weights (in x out).
void BM_DenseBackwardWeights(benchmark::State& state) {
  const Index in = state.range(0), out = state.range(1);
  const auto x = random_matrix(kBatch, in, 5), dz = random_matrix(kBatch, out, 6);
  plexus::Matrix<T> dw(in, out);
  for (auto _ : state) {
    plexus::gemm<T>(true, false, in, out, kBatch, T(1), x.data(), kBatch, dz.data(), kBatch, T(0), dw.data(), in);
    benchmark::DoNotOptimize(dw.data());
  }
  set_flops(state, 2.0 * kBatch * in * out);
}
BENCHMARK(BM_DenseBackwardWeights)->Args({128, 256})->Args({640, 256})->Args({1152, 128})->UseRealTime();

// The same three products written as plain Eigen expressions (Eigen's own
// GEMM with its own threading; bias and ReLU as separate passes): what the
// library's GEMM driver and its fused epilogue are measured against.
void BM_EigenDenseForward(benchmark::State& state) {
  const Index in = state.range(0), out = state.range(1);
  const auto x = random_matrix(kBatch, in, 2), w = random_matrix(in, out, 3);
  const plexus::Vector<T> b = random_matrix(out, 1, 4);
  plexus::Matrix<T> y(kBatch, out);
  for (auto _ : state) {
    y.noalias() = x * w;
    y.rowwise() += b.transpose();
    y = y.cwiseMax(T(0));
    benchmark::DoNotOptimize(y.data());
  }
  set_flops(state, 2.0 * kBatch * in * out);
}
BENCHMARK(BM_EigenDenseForward)->Args({128, 256})->Args({640, 256})->Args({1152, 128})->UseRealTime();

void BM_EigenDenseBackwardInput(benchmark::State& state) {
  const Index in = state.range(0), out = state.range(1);
  const auto w = random_matrix(in, out, 3), dz = random_matrix(kBatch, out, 4);
  plexus::Matrix<T> dx = plexus::Matrix<T>::Zero(kBatch, in);
  for (auto _ : state) {
    dx.noalias() += dz * w.transpose();
    benchmark::DoNotOptimize(dx.data());
  }
  set_flops(state, 2.0 * kBatch * in * out);
}
BENCHMARK(BM_EigenDenseBackwardInput)->Args({128, 256})->Args({640, 256})->Args({1152, 128})->UseRealTime();

void BM_EigenDenseBackwardWeights(benchmark::State& state) {
  const Index in = state.range(0), out = state.range(1);
  const auto x = random_matrix(kBatch, in, 5), dz = random_matrix(kBatch, out, 6);
  plexus::Matrix<T> dw(in, out);
  for (auto _ : state) {
    dw.noalias() = x.transpose() * dz;
    benchmark::DoNotOptimize(dw.data());
  }
  set_flops(state, 2.0 * kBatch * in * out);
}
BENCHMARK(BM_EigenDenseBackwardWeights)->Args({128, 256})->Args({640, 256})->Args({1152, 128})->UseRealTime();

// One of the answer's blocks: Residual(4 x Concat(Dense(256, relu)),
// Dense(128, zeros)), forward then backward (weights and input).
plexus::Network<T> answer_block() {
  plexus::Network<T> net;
  plexus::Sequential<T> body;
  for (int i = 0; i < 4; ++i) body.add(plexus::Concat<T>(plexus::Dense<T>(256, plexus::Activation::relu)));
  body.add(plexus::Dense<T>(128, plexus::Activation::identity));  // not zero: keep the gradients alive
  net.add(plexus::Residual<T>(std::move(body)));
  net.build(128, 7);
  return net;
}

double block_flops() {  // multiply-adds of one block's products, x 2 FLOP
  double macs = 0;
  for (int i = 0; i < 4; ++i) macs += (128.0 + 256.0 * i) * 256.0;
  macs += 1152.0 * 128.0;
  return 2.0 * kBatch * macs;
}

void BM_ConcatBlockForward(benchmark::State& state) {
  auto net = answer_block();
  const auto x = random_matrix(kBatch, 128, 8);
  for (auto _ : state) benchmark::DoNotOptimize(net.forward(x).data());
  set_flops(state, block_flops());
}
BENCHMARK(BM_ConcatBlockForward)->UseRealTime();

void BM_ConcatBlockForwardBackward(benchmark::State& state) {
  auto net = answer_block();
  const auto x = random_matrix(kBatch, 128, 8), dy = random_matrix(kBatch, 128, 9);
  for (auto _ : state) {
    net.forward(x);
    net.backward(dy);
    benchmark::DoNotOptimize(net.gradients().data());
  }
  set_flops(state, 3.0 * block_flops());
}
BENCHMARK(BM_ConcatBlockForwardBackward)->UseRealTime();

// The Adam step over the answer network's 4.71M parameters: reads p, g, m, v
// and writes p, m, v (7 x 4 bytes per parameter).
void BM_AdamStep(benchmark::State& state) {
  auto net = mi::concat_resnet<T>(mi::Arch{});
  net.build(9, 1);
  net.gradients().setConstant(T(1e-3));
  plexus::Adam<T> adam(net);
  for (auto _ : state) {
    adam.step();
    benchmark::DoNotOptimize(net.parameters().data());
  }
  state.counters["params"] = static_cast<double>(net.parameter_count());
  state.counters["bytes"] = benchmark::Counter(7.0 * sizeof(T) * static_cast<double>(net.parameter_count()),
                                               benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AdamStep)->UseRealTime();

// The finiteness scan train_step runs over every gradient before updating
// (reads 4 bytes per parameter): the library's, and plain Eigen's allFinite
// for comparison.
void BM_FiniteScan(benchmark::State& state, bool eigen) {
  auto net = mi::concat_resnet<T>(mi::Arch{});
  net.build(9, 1);
  net.gradients().setConstant(T(1e-3));
  const auto& g = net.gradients();
  for (auto _ : state) benchmark::DoNotOptimize(eigen ? g.allFinite() : plexus::all_finite(g.data(), g.size()));
  state.counters["bytes"] =
      benchmark::Counter(sizeof(T) * static_cast<double>(g.size()), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_CAPTURE(BM_FiniteScan, plexus, false)->UseRealTime();
BENCHMARK_CAPTURE(BM_FiniteScan, eigen, true)->UseRealTime();

// The answer's generator: |det| > 0.1 matrices in [-2, 2] and their inverses.
void BM_Generator(benchmark::State& state) {
  mi::MatrixInverseSource<T> source(1, {mi::InverseDistribution::answer, false, 0.2});
  plexus::Matrix<T> x(kBatch, 9), y(kBatch, 9);
  std::uint64_t first = 0;
  for (auto _ : state) {
    source.fill(first, x, y);
    first += kBatch;
    benchmark::DoNotOptimize(x.data());
  }
  state.counters["samples"] =
      benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Generator)->UseRealTime();

// A whole training step of the answer's network (MSE, Adam, batch 1024),
// generator included — what `matrix_inverse answer` does per step.
void BM_TrainStep(benchmark::State& state) {
  auto net = mi::concat_resnet<T>(mi::Arch{});
  net.build(9, 1);
  plexus::Adam<T> adam(net, {1e-5});
  plexus::MSE<T> loss;
  mi::MatrixInverseSource<T> source(1, {mi::InverseDistribution::answer, false, 0.2});
  plexus::Matrix<T> x(kBatch, 9), y(kBatch, 9);
  std::uint64_t first = 0;
  for (auto _ : state) {
    source.fill(first, x, y);
    first += kBatch;
    benchmark::DoNotOptimize(plexus::train_step(net, loss, adam, x, y));
  }
  const double weights = static_cast<double>(net.parameter_count());
  state.counters["samples"] =
      benchmark::Counter(static_cast<double>(kBatch), benchmark::Counter::kIsIterationInvariantRate);
  set_flops(state, 6.0 * weights * kBatch);
}
BENCHMARK(BM_TrainStep)->UseRealTime()->Unit(benchmark::kMillisecond);

// The answer's network with every parameter drawn from U(-0.05, 0.05), so
// that no layer's output is zero.
plexus::Network<T> answer_with_random_parameters() {
  auto net = mi::concat_resnet<T>(mi::Arch{});
  net.build(9, 1);
  plexus::Rng rng(3);
  for (Index i = 0; i < net.parameter_count(); ++i) net.parameters()[i] = static_cast<T>(rng.uniform(-0.05, 0.05));
  return net;
}

// Times predictor.predict on one matrix per call.
template <typename Predictor>
void predict_one_row(benchmark::State& state, Predictor& predictor) {
  const auto x = random_matrix(1, 9, 10);
  plexus::Matrix<T> y(1, 9);
  for (auto _ : state) {
    predictor.predict(x, y);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["calls"] = benchmark::Counter(1.0, benchmark::Counter::kIsIterationInvariantRate);
}

// Batch-1 prediction with the answer's network: one matrix per call.
void BM_PredictOne(benchmark::State& state) {
  auto net = answer_with_random_parameters();
  predict_one_row(state, net);
}
BENCHMARK(BM_PredictOne)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The same with the weights held as 16-bit halves (HalfPredictor).
void BM_PredictOneHalf(benchmark::State& state) {
  plexus::HalfPredictor<T> fast(answer_with_random_parameters());
  predict_one_row(state, fast);
  state.counters["weight_bytes"] = static_cast<double>(fast.half_bytes());
}
BENCHMARK(BM_PredictOneHalf)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The floor under one-row prediction: reading the answer's weights once
// (4.71M of them, 4 or 2 bytes each), summed over the threads in chunks of
// 64K elements, with nothing else to do.
template <typename E>
void BM_StreamWeights(benchmark::State& state) {
  auto net = mi::concat_resnet<T>(mi::Arch{});
  net.build(9, 1);
  const Index n = net.parameter_count();
  std::vector<E> w(static_cast<std::size_t>(n), E(1));
  std::vector<double> part(static_cast<std::size_t>((n + 65535) / 65536));
  for (auto _ : state) {
    plexus::parallel_chunks(n, 65536, [&](Index i0, Index m) {
      E acc[16] = {};
      for (Index i = 0; i + 16 <= m; i += 16)
        for (int l = 0; l < 16; ++l) acc[l] |= w[static_cast<std::size_t>(i0 + i + l)];
      E s = 0;
      for (E a : acc) s |= a;
      part[static_cast<std::size_t>(i0 / 65536)] = static_cast<double>(s);
    });
    benchmark::DoNotOptimize(part.data());
  }
  state.counters["bytes"] =
      benchmark::Counter(sizeof(E) * static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK_TEMPLATE(BM_StreamWeights, std::uint32_t)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK_TEMPLATE(BM_StreamWeights, std::uint16_t)->UseRealTime()->Unit(benchmark::kMicrosecond);

// The ceiling: a 2048^3 single-precision product with Eigen's own GEMM and
// with the library's GEMM driver.
void BM_Sgemm2048Eigen(benchmark::State& state) {
  const Index n = 2048;
  const auto a = random_matrix(n, n, 11), b = random_matrix(n, n, 12);
  plexus::Matrix<T> c(n, n);
  for (auto _ : state) {
    c.noalias() = a * b;
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(state, 2.0 * n * n * n);
}
BENCHMARK(BM_Sgemm2048Eigen)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_Sgemm2048Plexus(benchmark::State& state) {
  const Index n = 2048;
  const auto a = random_matrix(n, n, 11), b = random_matrix(n, n, 12);
  plexus::Matrix<T> c(n, n);
  for (auto _ : state) {
    plexus::gemm<T>(false, false, n, n, n, T(1), a.data(), n, b.data(), n, T(0), c.data(), n);
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(state, 2.0 * n * n * n);
}
BENCHMARK(BM_Sgemm2048Plexus)->UseRealTime()->Unit(benchmark::kMillisecond);

// The engine of a benchmark's first argument, forced for its run; false
// (and the benchmark skipped, saying why) where this CPU lacks it.
bool force_engine(benchmark::State& state) {
  const auto e = static_cast<plexus::Engine>(state.range(0));
  if (!plexus::engine_supported(e)) {
    state.SkipWithError((std::string(plexus::to_string(e)) + ": the CPU lacks " + plexus::engine_missing(e)).c_str());
    return false;
  }
  plexus::set_engine(e);
  return true;
}

// C = A B (m x k times k x n) on one engine at one precision (range(1): 0
// fp32, 1 bf16): 2048^3, and the four forward products of a concat block at
// batch 1024 (K = 128, 384, 640, 896; N = 256).
void BM_EngineGemm(benchmark::State& state) {
  if (!force_engine(state)) return;
  const bool bf16 = state.range(1) != 0;
  const Index m = state.range(2), n = state.range(3), k = state.range(4);
  const auto a = random_matrix(m, k, 13), b = random_matrix(k, n, 14);
  plexus::Matrix<T> c(m, n);
  const auto precision = bf16 ? plexus::Precision::bf16 : plexus::Precision::native;
  for (auto _ : state) {
    plexus::gemm<T>(false, false, m, n, k, T(1), a.data(), m, b.data(), k, T(0), c.data(), m, precision);
    benchmark::DoNotOptimize(c.data());
  }
  set_flops(state, 2.0 * m * n * k);
  state.SetLabel(plexus::engine_name() + (bf16 ? (plexus::bf16_emulated() ? " bf16 (emulated)" : " bf16") : " fp32"));
  plexus::reset_engine();
}
void engine_gemm_args(benchmark::internal::Benchmark* b) {
  b->ArgNames({"engine", "bf16", "m", "n", "k"});
  for (int e = 0; e < plexus::kEngineCount; ++e)
    for (int bf16 : {0, 1}) {
      b->Args({e, bf16, 2048, 2048, 2048});
      for (int k : {128, 384, 640, 896}) b->Args({e, bf16, kBatch, 256, k});
    }
}
BENCHMARK(BM_EngineGemm)->Apply(engine_gemm_args)->UseRealTime();

// One-row dot products on one thread: out[j] = w_j . x for every column of
// a 1152 x 4096 weight matrix (4.7M weights, as many as the answer's
// network) of floats, IEEE halves or bf16 (range(1): 0, 1, 2).
void BM_EngineDot(benchmark::State& state) {
  if (!force_engine(state)) return;
  const int kind = static_cast<int>(state.range(1));
  const Index n = 1152, cols = 4096;
  const auto w = random_matrix(n, cols, 15), x = random_matrix(n, 1, 16);
  std::vector<std::uint16_t> w16(static_cast<std::size_t>(w.size()));
  for (std::size_t i = 0; i < w16.size(); ++i)
    w16[i] = kind == 1 ? plexus::float_to_half(w.data()[i]) : plexus::float_to_bf16(w.data()[i]);
  std::vector<T> out(static_cast<std::size_t>(cols));
  for (auto _ : state) {
    if (kind == 0) plexus::detail::dot_columns(w.data(), n, x.data(), n, cols, out.data());
    else if (kind == 1) plexus::detail::dot_half_columns(w16.data(), n, x.data(), n, cols, out.data());
    else plexus::detail::dot_bf16_columns(w16.data(), n, x.data(), n, cols, out.data());
    benchmark::DoNotOptimize(out.data());
  }
  const double bytes = static_cast<double>(n * cols) * (kind == 0 ? 4.0 : 2.0);
  state.counters["bytes"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(plexus::engine_name() + (kind == 0 ? " float" : kind == 1 ? " half" : " bf16"));
  plexus::reset_engine();
}
BENCHMARK(BM_EngineDot)->ArgsProduct({{0, 1, 2, 3, 4}, {0, 1, 2}})->ArgNames({"engine", "weights"})->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
