// The Plexus half of bench/compare_torch.sh: trains the answer's network
// (float32 master weights, products in fp32 or bf16, MSE on inverse/5,
// Adam, online samples) for a number of steps, times batch-1 predictions
// and a square sgemm, and prints key=value lines. --init-out FILE writes
// the initial weights, the first batch and the first step's loss for the
// PyTorch and LibTorch twins (bench/init_file.hpp has the layout).
// --recipe train runs matrix_inverse train's step instead (bench/
// commands_vs_loop.sh): gated growth layers (--gate), input A/||A||_F in
// sign-canonical form, the residual loss ||A X - I||^0.5, N x N (--size).
//
//   plexus_compare [--threads T] [--steps N] [--batch B] [--micro-batch M] [--predict-calls N]
//                  [--precision f32|bf16] [--init-out FILE] [--recipe answer|train]
//                  [--gate relu|sigmoid] [--size N] [--peak 0|1]
//                  [--width W --growth G --blocks K --layers L] [--gemm N]
// --peak 1 (the default) also measures the cores' register peak (bench/
// peak.hpp) and prints the training step's GFLOP/s (6 flop per parameter
// and sample: the forward product, and the backward's two) as a fraction
// of the peak of its precision, then the same for the step's products
// timed alone (bench/step_products.hpp) and the share of the step's time
// they take.
#include <plexus/plexus.hpp>

#include "init_file.hpp"
#include "peak.hpp"
#include "process.hpp"
#include "recipes.hpp"
#include "step_products.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using bench::Clock;
using bench::current_rss_mb;
using bench::peak_rss_mb;
using bench::seconds_since;
using T = float;

long parse(const char* flag, const char* v, long lo, long hi) {
  return bench::parse_integer("plexus_compare", flag, v, lo, hi);
}

}  // namespace

int main(int argc, char** argv) {
  long threads = 0, steps = 30, warmup = 3, batch = 1024, calls = 300, gemm_n = 2048;
  long micro = plexus::StepOptions().micro_batch;
  mi::Arch arch;  // the answer's 128 / 256 / 7 / 4
  plexus::Precision precision = plexus::Precision::native;
  std::string init_out, recipe = "answer";
  int size = 3;
  bool peak = true;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--help") {
      std::printf(
          "usage: plexus_compare [--threads T] [--steps N] [--warmup N] [--batch B] [--micro-batch M]\n"
          "                      [--predict-calls N] [--precision f32|bf16] [--init-out FILE]\n"
          "                      [--recipe answer|train] [--gate relu|sigmoid] [--size N] [--peak 0|1]\n"
          "                      [--width W] [--growth G] [--blocks K] [--layers L] [--gemm N]\n");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "plexus_compare: %s needs a value (see --help)\n", f.c_str());
      return 2;
    }
    const char* v = argv[++i];
    if (f == "--threads") threads = parse("--threads", v, 0, 1024);
    else if (f == "--steps") steps = parse("--steps", v, 1, 1000000);
    else if (f == "--warmup") warmup = parse("--warmup", v, 0, 1000000);
    else if (f == "--batch") batch = parse("--batch", v, 1, 1 << 20);
    else if (f == "--micro-batch") micro = parse("--micro-batch", v, 0, 1 << 20);
    else if (f == "--predict-calls") calls = parse("--predict-calls", v, 1, 100000000);
    else if (f == "--width") arch.width = static_cast<int>(parse("--width", v, 1, 1 << 16));
    else if (f == "--growth") arch.growth = static_cast<int>(parse("--growth", v, 1, 1 << 16));
    else if (f == "--blocks") arch.blocks = static_cast<int>(parse("--blocks", v, 0, 1000));
    else if (f == "--layers") arch.layers = static_cast<int>(parse("--layers", v, 0, 1000));
    else if (f == "--gemm") gemm_n = parse("--gemm", v, 0, 1 << 14);
    else if (f == "--init-out") init_out = v;
    else if (f == "--peak") peak = parse("--peak", v, 0, 1) == 1;
    else if (f == "--size") size = static_cast<int>(parse("--size", v, mi::kMinSize, mi::kMaxSize));
    else if (f == "--recipe") {
      recipe = v;
      if (recipe != "answer" && recipe != "train") {
        std::fprintf(stderr, "plexus_compare: --recipe must be answer or train, got '%s'\n", v);
        return 2;
      }
    } else if (f == "--gate") {
      const std::string g = v;
      if (g != "relu" && g != "sigmoid") {
        std::fprintf(stderr, "plexus_compare: --gate must be relu or sigmoid, got '%s'\n", v);
        return 2;
      }
      arch.gated = true;
      arch.gate = g == "relu" ? plexus::Activation::relu : plexus::Activation::sigmoid;
    } else if (f == "--precision") {
      const std::string p = v;
      if (p != "f32" && p != "bf16") {
        std::fprintf(stderr, "plexus_compare: --precision must be f32 or bf16, got '%s'\n", v);
        return 2;
      }
      precision = p == "bf16" ? plexus::Precision::bf16 : plexus::Precision::native;
    } else {
      std::fprintf(stderr, "plexus_compare: unknown flag %s (see --help)\n", f.c_str());
      return 2;
    }
  }
  if (threads > 0) {
    plexus::set_num_threads(static_cast<int>(threads));
    Eigen::setNbThreads(static_cast<int>(threads));  // Eigen's own GEMM in the ceiling measurement
  }
  std::printf("threads=%d\n", plexus::num_threads());
  std::printf("micro_batch=%ld\n", micro);
  std::printf("engine=%s\n", plexus::engine_name().c_str());
  std::printf("precision=%s\n", precision == plexus::Precision::bf16 ? "bf16" : "f32");
  if (precision == plexus::Precision::bf16) std::printf("bf16_emulated=%d\n", plexus::bf16_emulated() ? 1 : 0);

  // Training: the answer's recipe (MSE on inverse / 5 of A), or train's
  // (the residual loss on A / ||A||_F in sign-canonical form), each step on
  // a fresh generated batch.
  const bool improved = recipe == "train";
  if (improved && init_out.size()) {
    std::fprintf(stderr, "plexus_compare: --init-out is for the answer's recipe (the twins run it)\n");
    return 2;
  }
  if (!improved && size != 3) {
    std::fprintf(stderr, "plexus_compare: --size is for --recipe train\n");
    return 2;
  }
  std::printf("recipe=%s\n", recipe.c_str());
  {
    const double rss_before = current_rss_mb();
    const plexus::Index nn = plexus::Index(size) * size;
    arch.outputs = static_cast<int>(nn);
    auto net = mi::concat_resnet<T>(arch);
    net.build(nn, 1);
    const plexus::Vector<T> initial = net.parameters();
    plexus::Adam<T> adam(net, {improved ? 1e-3 : 1e-5});
    plexus::MSE<T> mse;
    mi::InverseResidualLoss<T> residual(size, 1.0, 0.5, 1e-8);
    const plexus::Loss<T>& loss = improved ? static_cast<const plexus::Loss<T>&>(residual) : mse;
    mi::MatrixInverseOptions so_answer{mi::InverseDistribution::answer, false, 0.2};
    const mi::MatrixInverseOptions so_train{mi::default_distribution(size), true, 1.0, true, size};
    mi::MatrixInverseSource<T> source(1, improved ? so_train : so_answer);
    plexus::Matrix<T> x(batch, nn), y(batch, nn);
    std::uint64_t first = 0;
    double last = 0;
    auto step = [&] {
      source.fill(first, x, y);
      first += static_cast<std::uint64_t>(batch);
      plexus::StepOptions so;
      so.micro_batch = micro;
      so.precision = precision;
      last = plexus::train_step(net, loss, adam, x, y, so);
    };
    step();  // the first step: its loss is the twins' check that they start from the same weights
    std::printf("train_first_loss=%.9g\n", last);
    if (!init_out.empty()) {
      plexus::Matrix<T> x0(batch, 9), y0(batch, 9);
      source.fill(0, x0, y0);
      bench::write_init_file(init_out, initial, x0, y0, last);
    }
    for (long s = 1; s < warmup; ++s) step();
    const auto t0 = Clock::now();
    for (long s = 0; s < steps; ++s) step();
    const double t = seconds_since(t0), step_seconds = t / static_cast<double>(steps);
    std::printf("params=%lld\n", static_cast<long long>(net.parameter_count()));
    const double rate = static_cast<double>(steps * batch) / t;
    std::printf("train_samples_per_s=%.1f\n", rate);
    if (peak) {
      const bench::RegisterPeak p = bench::register_peak(plexus::num_threads());
      const double flop = 6.0 * static_cast<double>(net.parameter_count()), gflops = rate * flop * 1e-9;
      const double of = precision == plexus::Precision::bf16 ? p.bf16_gflops : p.fp32_gflops;
      std::printf("peak_fp32_gflops=%.1f\npeak_fp32_instruction=%s\n", p.fp32_gflops, p.fp32_instruction);
      std::printf("peak_bf16_gflops=%.1f\npeak_bf16_instruction=%s\n", p.bf16_gflops, p.bf16_instruction);
      std::printf("train_mflop_per_sample=%.2f\ntrain_gflops=%.1f\n", flop * 1e-6, gflops);
      if (of > 0) std::printf("train_fraction_of_peak=%.3f\n", gflops / of);
      // The step's products alone, same shapes and threads (step_products.hpp).
      const bench::ProductsTiming pt = bench::time_step_products<T>(
          net, batch, micro, precision, static_cast<int>(std::clamp(steps / 4, 2L, 20L)), 3);
      const double products_gflops = pt.flop_per_step / pt.best_seconds * 1e-9;
      std::printf("products_gflops=%.1f\n", products_gflops);
      if (of > 0) std::printf("products_fraction_of_peak=%.3f\n", products_gflops / of);
      std::printf("products_share_of_step=%.3f\n", pt.best_seconds / step_seconds);
    }
    std::printf("train_ms_per_step=%.2f\n", 1e3 * step_seconds);
    std::printf("train_last_loss=%.6g\n", last);
    std::printf("train_peak_rss_mb=%.1f\n", peak_rss_mb());
    std::printf("train_rss_delta_mb=%.1f\n", peak_rss_mb() - rss_before);
  }

  // Batch-1 prediction: one matrix per call, median of the calls.
  {
    auto net = mi::concat_resnet<T>(arch);
    net.build(9, 1);
    plexus::Rng rng(3);
    for (plexus::Index i = 0; i < net.parameter_count(); ++i)
      net.parameters()[i] = static_cast<T>(rng.uniform(-0.05, 0.05));
    plexus::Matrix<T> x(1, 9), y(1, 9);
    for (plexus::Index i = 0; i < 9; ++i) x(0, i) = static_cast<T>(rng.uniform(-2.0, 2.0));
    // The float network and its half-weight snapshot, call by call in
    // alternation so that both see the same moments of a noisy machine.
    plexus::HalfPredictor<T> half(net);
    plexus::Matrix<T> yh(1, 9);
    for (int i = 0; i < 10; ++i) {
      net.predict(x, y);
      half.predict(x, yh);
    }
    std::vector<double> us(static_cast<std::size_t>(calls)), us_half(us.size());
    for (std::size_t c = 0; c < us.size(); ++c) {
      auto t0 = Clock::now();
      net.predict(x, y);
      us[c] = 1e6 * seconds_since(t0);
      t0 = Clock::now();
      half.predict(x, yh);
      us_half[c] = 1e6 * seconds_since(t0);
    }
    std::sort(us.begin(), us.end());
    std::sort(us_half.begin(), us_half.end());
    std::printf("predict1_median_us=%.2f\n", us[us.size() / 2]);
    std::printf("predict1_p90_us=%.2f\n", us[us.size() * 9 / 10]);
    std::printf("predict1_half_median_us=%.2f\n", us_half[us_half.size() / 2]);
    std::printf("predict1_half_p90_us=%.2f\n", us_half[us_half.size() * 9 / 10]);
    std::printf("predict1_half_max_abs_diff=%.3g\n", static_cast<double>((yh - y).cwiseAbs().maxCoeff()));
    std::printf("predict1_max_abs_output=%.3g\n", static_cast<double>(y.cwiseAbs().maxCoeff()));
  }

  // The ceiling: best of a few n^3 sgemms, Eigen's own and the library's driver.
  if (gemm_n > 0) {
    const plexus::Index n = gemm_n;
    plexus::Matrix<T> a = plexus::Matrix<T>::Random(n, n), b = plexus::Matrix<T>::Random(n, n), c(n, n);
    double best_eigen = 0, best_plexus = 0;
    const double flop = 2.0 * static_cast<double>(n) * static_cast<double>(n) * static_cast<double>(n);
    for (int r = 0; r < 4; ++r) {
      auto t0 = Clock::now();
      c.noalias() = a * b;
      best_eigen = std::max(best_eigen, flop / seconds_since(t0) * 1e-9);
      t0 = Clock::now();
      plexus::gemm<T>(false, false, n, n, n, T(1), a.data(), n, b.data(), n, T(0), c.data(), n);
      best_plexus = std::max(best_plexus, flop / seconds_since(t0) * 1e-9);
    }
    std::printf("sgemm_eigen_gflops=%.1f\n", best_eigen);
    std::printf("sgemm_plexus_gflops=%.1f\n", best_plexus);
    if (precision == plexus::Precision::bf16) {  // the same product with bf16 operands, float sums
      double best_bf16 = 0;
      for (int r = 0; r < 4; ++r) {
        const auto t0 = Clock::now();
        plexus::gemm<T>(false, false, n, n, n, T(1), a.data(), n, b.data(), n, T(0), c.data(), n, precision);
        best_bf16 = std::max(best_bf16, flop / seconds_since(t0) * 1e-9);
      }
      std::printf("gemm_plexus_bf16_gflops=%.1f\n", best_bf16);
    }
  }
  return 0;
}
