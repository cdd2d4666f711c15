// Serving throughput: T std::threads calling predict() on one shared
// const Network (the answer's 4.71M-parameter network, random weights) for
// a fixed time each, batch 1 or 64, with the default options (one-row calls
// at once served together, other calls in flight sharing the cores) and
// with PredictOptions{1}. The ideal is cores x the one-caller, one-thread
// rate measured in the same run. First it prints what a pass of k rows
// costs on one thread (what calls served together run). --init-out FILE
// writes the weights (and 64 inputs with Plexus' outputs for them, as the
// init file's batch and targets) for plexus_torch_serving --init, and
// --export-onnx FILE the same network as ONNX for ort_run.js serve, so that
// bench/serving.sh runs one network with one set of weights on every side.
//
//   plexus_serving [--seconds S] [--callers 1,2,8,32] [--batches 1,64] [--width W --growth G --blocks B]
//                  [--init-out FILE] [--export-onnx FILE]
#include <plexus/plexus.hpp>

#include "init_file.hpp"
#include "process.hpp"
#include "serving_loop.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

namespace {

using T = float;
using namespace plexus;

// T callers on the shared network for `seconds`.
bench::ServeResult serve(const Network<T>& net, int callers, Index batch, PredictOptions options, double seconds) {
  Matrix<T> x = Matrix<T>::Random(batch, net.input_width());
  for (int w = 0; w < 3; ++w) net.predict(x, options);  // plans and workspaces made
  return bench::serve_threads(callers, seconds, [&](int) {
    return [&, y = Matrix<T>(batch, net.output_width())]() mutable { net.predict(x, y, options); };
  });
}

// What a pass of k rows costs on one thread (RowPlan::run_rows, as calls
// served together run them), best of 20 after a warm-up, against k one-row
// passes.
void print_passes(const Network<T>& net) {
  const RowPlan<T> plan = RowPlan<T>::compile(net.layers());
  const std::vector<Layer<T>*> layers;  // the plan has no opaque steps to run
  constexpr Index most = 16;
  std::vector<T> arena(static_cast<std::size_t>(plan.arena_size() * most));
  Matrix<T> x = Matrix<T>::Random(most, net.input_width()), y(most, net.output_width());
  std::printf("passes of k rows on one thread (RowPlan::run_rows), best of 20:");
  for (Index k : {1, 2, 4, 8, 16}) {
    typename RowPlan<T>::Row rows[most];
    for (Index r = 0; r < k; ++r) rows[r] = {x.data() + r, most, y.data() + r, most, {}};
    double best = 1e30;
    for (int rep = 0; rep < 21; ++rep) {
      const auto t0 = bench::Clock::now();
      plan.run_rows(arena.data(), rows, k, 1, layers);
      if (rep > 0) best = std::min(best, bench::seconds_since(t0) * 1e6);
    }
    std::printf("%s%lld: %.0f us (%.0f per row)", k == 1 ? " " : "; ", static_cast<long long>(k), best, best / k);
  }
  std::printf("\n\n");
}

std::vector<long> list(const char* flag, const std::string& text) {
  return bench::parse_list("plexus_serving", flag, text);
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  std::vector<long> callers = {1, 2, 8, 32}, batches = {1, 64};
  long width = 128, growth = 256, blocks = 7;
  std::string init_out, onnx_out;
  for (int i = 1; i < argc; i += 2) {
    const std::string f = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "plexus_serving: %s needs a value\n", f.c_str());
      return 2;
    }
    if (f == "--seconds")
      seconds = static_cast<double>(bench::parse_integer("plexus_serving", "--seconds", argv[i + 1], 1, 600));
    else if (f == "--callers") callers = list("--callers", argv[i + 1]);
    else if (f == "--batches") batches = list("--batches", argv[i + 1]);
    else if (f == "--width") width = bench::parse_integer("plexus_serving", "--width", argv[i + 1], 1, 4096);
    else if (f == "--growth") growth = bench::parse_integer("plexus_serving", "--growth", argv[i + 1], 1, 4096);
    else if (f == "--blocks") blocks = bench::parse_integer("plexus_serving", "--blocks", argv[i + 1], 0, 64);
    else if (f == "--init-out") init_out = argv[i + 1];
    else if (f == "--export-onnx") onnx_out = argv[i + 1];
    else {
      std::fprintf(stderr, "plexus_serving: unknown flag %s\n", f.c_str());
      return 2;
    }
  }
  Network<T> net;
  net.add(Dense<T>(width, Activation::relu));
  for (long b = 0; b < blocks; ++b) {
    Sequential<T> body;
    for (int i = 0; i < 4; ++i) body.add(Concat<T>(Dense<T>(growth, Activation::relu)));
    body.add(Dense<T>(width));
    net.add(Residual<T>(std::move(body)));
  }
  net.add(Dense<T>(9));
  net.build(9, 1);
  Rng rng(3);
  for (Index i = 0; i < net.parameters().size(); ++i) net.parameters()[i] = static_cast<T>(rng.uniform(-0.05, 0.05));
  if (!init_out.empty()) {
    // Inputs like the answer's (entries in [-2, 2]) and Plexus' outputs for
    // them: the other sides' check that they compute what Plexus computes.
    Matrix<T> x(64, net.input_width());
    for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(rng.uniform(-2.0, 2.0));
    bench::write_init_file(init_out, net.parameters(), x, net.predict(x), 0.0);
  }
  if (!onnx_out.empty()) export_onnx(net, onnx_out);  // float32, opset 17
  const int cores = num_threads();
  std::printf("plexus_serving: %lld parameters, engine %s, %d threads (num_threads), %.0f s per row\n\n",
              static_cast<long long>(net.parameter_count()), engine_name().c_str(), cores, seconds);
  print_passes(net);
  bench::print_serving_header();
  for (long batch : batches) {
    const bench::ServeResult serial = serve(net, 1, batch, PredictOptions{1}, seconds);
    const double ideal = cores * serial.calls_per_s;
    bench::print_serial_row(batch, "serial: PredictOptions{1}", serial, ideal);
    for (long c : callers)
      for (int mode = 0; mode < 2; ++mode) {
        const bench::ServeResult r = serve(net, static_cast<int>(c), batch, PredictOptions{mode == 0 ? 0 : 1}, seconds);
        bench::print_row(batch, c, mode == 0 ? "default" : "PredictOptions{1}", r, ideal, serial);
      }
  }
  return 0;
}
