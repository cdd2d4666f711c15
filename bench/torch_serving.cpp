// The LibTorch side of the serving benchmark (bench/serving.sh): T
// std::threads calling forward() under c10::InferenceMode on one shared
// torch::nn module (the answer's network, bench/torch_answer_net.hpp) for a
// fixed time each, batch 1 or 64, with torch's intra-op threads set to the
// cores and set to 1 (torch::set_num_threads is process-wide, so the two
// modes run one after the other). The ideal is cores x the one-caller,
// one-thread rate measured in the same run; the rows are plexus_serving's.
// --init FILE loads plexus_serving --init-out's weights and checks that
// torch's outputs for the file's inputs are Plexus' (exit 1 beyond 1e-5 of
// the outputs' largest magnitude).
//
//   plexus_torch_serving [--seconds S] [--callers 1,2,8,32] [--batches 1,64] [--threads N] [--init FILE]
//                        [--width W --growth G --blocks K --layers L]
#include "init_file.hpp"
#include "process.hpp"
#include "serving_loop.hpp"
#include "torch_answer_net.hpp"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cstdio>
#include <exception>
#include <string>
#include <thread>
#include <vector>

namespace {

const char* const kProgram = "plexus_torch_serving";

// T callers on the shared module for `seconds`, torch's intra-op pool at
// `threads`. The threads are new for each row, so each one reads the
// process-wide setting when it first runs an op.
bench::ServeResult serve(bench::AnswerNet& net, int callers, long batch, int threads, double seconds) {
  torch::set_num_threads(threads);
  const torch::Tensor x = torch::rand({batch, 9}) * 4 - 2;
  {
    c10::InferenceMode guard;
    for (int w = 0; w < 3; ++w) net.forward(x);
  }
  return bench::serve_threads(callers, seconds, [&](int) {
    return [&] {
      // InferenceMode is the calling thread's state; entering it costs a few
      // thread-local writes, nothing beside a forward of this size.
      c10::InferenceMode guard;
      net.forward(x);
    };
  });
}

// Torch's outputs for the init file's inputs against Plexus' (its targets).
bool matches_plexus(bench::AnswerNet& net, const bench::InitFile& in) {
  c10::InferenceMode guard;
  const torch::Tensor x = torch::from_blob(const_cast<float*>(in.x.data()), {in.rows, in.in}, torch::kFloat32);
  const torch::Tensor want = torch::from_blob(const_cast<float*>(in.y.data()), {in.rows, in.out}, torch::kFloat32);
  const torch::Tensor got = net.forward(x);
  const double diff = (got - want).abs().max().item<double>();
  const double scale = want.abs().max().item<double>();
  const double rel = diff / (scale > 0 ? scale : 1.0);
  std::printf("check: %lld inputs, max |torch - plexus| = %.3g, max |plexus| = %.3g, relative %.3g (limit 1e-5)\n",
              static_cast<long long>(in.rows), diff, scale, rel);
  return rel <= 1e-5;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 2.0;
  std::vector<long> callers = {1, 2, 8, 32}, batches = {1, 64};
  const unsigned hw = std::thread::hardware_concurrency();
  long threads = hw > 0 ? static_cast<long>(hw) : 1;
  int width = 128, growth = 256, blocks = 7, layers = 4;
  std::string init;
  for (int i = 1; i < argc; i += 2) {
    const std::string f = argv[i];
    if (i + 1 >= argc) {
      std::fprintf(stderr, "%s: %s needs a value\n", kProgram, f.c_str());
      return 2;
    }
    const char* v = argv[i + 1];
    auto integer = [&](long lo, long hi) { return bench::parse_integer(kProgram, f.c_str(), v, lo, hi); };
    if (f == "--seconds") seconds = static_cast<double>(integer(1, 600));
    else if (f == "--callers") callers = bench::parse_list(kProgram, "--callers", v);
    else if (f == "--batches") batches = bench::parse_list(kProgram, "--batches", v);
    else if (f == "--threads") threads = integer(1, 1024);
    else if (f == "--width") width = static_cast<int>(integer(1, 4096));
    else if (f == "--growth") growth = static_cast<int>(integer(1, 4096));
    else if (f == "--blocks") blocks = static_cast<int>(integer(0, 64));
    else if (f == "--layers") layers = static_cast<int>(integer(0, 64));
    else if (f == "--init") init = v;
    else {
      std::fprintf(stderr, "%s: unknown flag %s\n", kProgram, f.c_str());
      return 2;
    }
  }
  // Before anything sets it: what torch would run each op with if left alone.
  const int torch_default = torch::get_num_threads();
  torch::manual_seed(1);
  bench::AnswerNet net(width, growth, blocks, layers);
  net.eval();
  if (!init.empty()) {
    try {
      const bench::InitFile in = bench::read_init_file(init);
      bench::load_plexus_params(net, in.params, init);
      if (!matches_plexus(net, in)) {
        std::fprintf(stderr, "%s: torch's outputs differ from Plexus' beyond 1e-5 relative\n", kProgram);
        return 1;
      }
    } catch (const std::exception& e) {
      std::fprintf(stderr, "%s: %s\n", kProgram, e.what());
      return 1;
    }
  }
  long long params = 0;
  for (const auto& p : net.parameters()) params += p.numel();
  const int cores = static_cast<int>(threads);
  std::string backend = at::get_parallel_info();  // many lines; the last names the backend
  backend = backend.substr(backend.find_last_of('\n', backend.size() - 2) + 1);
  if (!backend.empty() && backend.back() == '\n') backend.pop_back();
  std::printf(
      "plexus_torch_serving: %lld parameters, LibTorch %d.%d.%d (%s, %d intra-op threads by default), %d "
      "threads (cores), %.0f s per row, %s\n",
      params, TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH, backend.c_str(), torch_default, cores,
      seconds, init.empty() ? "torch's random weights" : ("weights of " + init).c_str());
  bench::print_serving_header();
  const std::string shared = "set_num_threads(" + std::to_string(cores) + ")";
  for (long batch : batches) {
    const bench::ServeResult serial = serve(net, 1, batch, 1, seconds);
    const double ideal = cores * serial.calls_per_s;
    bench::print_serial_row(batch, "serial: set_num_threads(1)", serial, ideal);
    for (long c : callers)
      for (int mode = 0; mode < 2; ++mode) {
        const bench::ServeResult r = serve(net, static_cast<int>(c), batch, mode == 0 ? cores : 1, seconds);
        bench::print_row(batch, c, mode == 0 ? shared.c_str() : "set_num_threads(1)", r, ideal, serial);
      }
  }
  return 0;
}
