// The LibTorch C++ twin of plexus_compare (built where LibTorch's CMake
// package is found): the answer's network in torch::nn, trained with Adam
// and MSE on inverse/5 targets generated online with torch, in float32 or
// with the forward under CPU autocast to bfloat16; batch-1 prediction under
// c10::InferenceMode. --init FILE starts from plexus_compare --init-out's
// weights and prints the first step's loss on Plexus' first batch beside
// Plexus' own. Prints key=value lines like plexus_compare.
//
//   plexus_torch_twin [--threads T] [--steps N] [--warmup N] [--batch B] [--predict-calls N]
//                     [--precision f32|bf16] [--init FILE] [--width W --growth G --blocks K --layers L]
#include "init_file.hpp"
#include "process.hpp"
#include "torch_answer_net.hpp"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>

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

long parse(const char* flag, const char* v, long lo, long hi) {
  return bench::parse_integer("plexus_torch_twin", flag, v, lo, hi);
}

// The answer's samples: entries U[-2, 2], |det| > 0.1, targets inverse / 5.
std::pair<torch::Tensor, torch::Tensor> make_batch(long n) {
  std::vector<torch::Tensor> parts;
  long have = 0;
  while (have < n) {
    torch::Tensor a = torch::rand({2 * n, 3, 3}) * 4 - 2;
    a = a.index({torch::linalg::det(a).abs() > 0.1});
    parts.push_back(a);
    have += a.size(0);
  }
  torch::Tensor a = torch::cat(parts).slice(0, 0, n);
  return {a.reshape({n, 9}), (torch::linalg::inv(a) / 5).reshape({n, 9})};
}

// Autocast to bf16 on the CPU while alive, as Python's torch.autocast("cpu", dtype=torch.bfloat16).
struct Bf16Autocast {
  explicit Bf16Autocast(bool on) : on_(on) {
    if (!on_) return;
    prev_ = at::autocast::is_cpu_enabled();
    prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
    at::autocast::increment_nesting();
  }
  ~Bf16Autocast() {
    if (!on_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_cpu_enabled(prev_);
    at::autocast::set_autocast_cpu_dtype(prev_dtype_);
  }
  bool on_, prev_ = false;
  at::ScalarType prev_dtype_ = at::kBFloat16;
};

}  // namespace

int main(int argc, char** argv) {
  long threads = 2, steps = 30, warmup = 3, batch = 1024, calls = 300;
  int width = 128, growth = 256, blocks = 7, layers = 4;
  bool bf16 = false;
  std::string init;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--help") {
      std::printf(
          "usage: plexus_torch_twin [--threads T] [--steps N] [--warmup N] [--batch B] [--predict-calls N]\n"
          "                         [--precision f32|bf16] [--init FILE]\n"
          "                         [--width W] [--growth G] [--blocks K] [--layers L]\n");
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "plexus_torch_twin: %s needs a value (see --help)\n", f.c_str());
      return 2;
    }
    const char* v = argv[++i];
    if (f == "--threads") threads = parse("--threads", v, 1, 1024);
    else if (f == "--steps") steps = parse("--steps", v, 1, 1000000);
    else if (f == "--warmup") warmup = parse("--warmup", v, 1, 1000000);
    else if (f == "--batch") batch = parse("--batch", v, 1, 1 << 20);
    else if (f == "--predict-calls") calls = parse("--predict-calls", v, 1, 100000000);
    else if (f == "--width") width = static_cast<int>(parse("--width", v, 1, 1 << 16));
    else if (f == "--growth") growth = static_cast<int>(parse("--growth", v, 1, 1 << 16));
    else if (f == "--blocks") blocks = static_cast<int>(parse("--blocks", v, 0, 1000));
    else if (f == "--layers") layers = static_cast<int>(parse("--layers", v, 0, 1000));
    else if (f == "--init") init = v;
    else if (f == "--precision") {
      const std::string p = v;
      if (p != "f32" && p != "bf16") {
        std::fprintf(stderr, "plexus_torch_twin: --precision must be f32 or bf16, got '%s'\n", v);
        return 2;
      }
      bf16 = p == "bf16";
    } else {
      std::fprintf(stderr, "plexus_torch_twin: unknown flag %s (see --help)\n", f.c_str());
      return 2;
    }
  }
  torch::set_num_threads(static_cast<int>(threads));
  torch::manual_seed(1);
  std::printf("threads=%d\n", torch::get_num_threads());
  std::printf("torch_version=%d.%d.%d\n", TORCH_VERSION_MAJOR, TORCH_VERSION_MINOR, TORCH_VERSION_PATCH);
  std::printf("precision=%s\n", bf16 ? "bf16" : "f32");

  const double rss_before = current_rss_mb();
  auto net = std::make_shared<bench::AnswerNet>(width, growth, blocks, layers);
  std::pair<torch::Tensor, torch::Tensor> first_batch;
  if (!init.empty()) {
    bench::InitFile in = bench::read_init_file(init);
    try {
      bench::load_plexus_params(*net, in.params, init);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "plexus_torch_twin: %s\n", e.what());
      return 1;
    }
    first_batch = {torch::from_blob(in.x.data(), {in.rows, in.in}, torch::kFloat32).clone(),
                   torch::from_blob(in.y.data(), {in.rows, in.out}, torch::kFloat32).clone()};
    std::printf("plexus_first_loss=%.9g\n", in.first_loss);
  }
  torch::optim::Adam adam(net->parameters(), torch::optim::AdamOptions(1e-5));
  double last = 0;
  auto step = [&](const std::pair<torch::Tensor, torch::Tensor>* xy) {
    const auto b = xy ? *xy : make_batch(batch);
    adam.zero_grad();
    torch::Tensor loss;
    {
      Bf16Autocast ac(bf16);
      loss = torch::mse_loss(net->forward(b.first), b.second);
    }
    loss.to(torch::kFloat32).backward();
    adam.step();
    last = loss.item<double>();
  };
  step(init.empty() ? nullptr : &first_batch);
  std::printf("train_first_loss=%.9g\n", last);
  for (long s = 1; s < warmup; ++s) step(nullptr);
  const auto t0 = Clock::now();
  for (long s = 0; s < steps; ++s) step(nullptr);
  const double t = seconds_since(t0);
  long long params = 0;
  for (const auto& p : net->parameters()) params += p.numel();
  std::printf("params=%lld\n", params);
  std::printf("train_samples_per_s=%.1f\n", static_cast<double>(steps * batch) / t);
  std::printf("train_ms_per_step=%.2f\n", 1e3 * t / static_cast<double>(steps));
  std::printf("train_last_loss=%.6g\n", last);
  std::printf("train_peak_rss_mb=%.1f\n", peak_rss_mb());
  std::printf("train_rss_delta_mb=%.1f\n", peak_rss_mb() - rss_before);

  // Batch-1 prediction in float32 under InferenceMode, median of the calls.
  {
    c10::InferenceMode guard;
    net->eval();
    torch::Tensor x = torch::rand({1, 9}) * 4 - 2;
    for (int i = 0; i < 10; ++i) net->forward(x);
    std::vector<double> us(static_cast<std::size_t>(calls));
    for (auto& u : us) {
      const auto c0 = Clock::now();
      net->forward(x);
      u = 1e6 * seconds_since(c0);
    }
    std::sort(us.begin(), us.end());
    std::printf("predict1_median_us=%.2f\n", us[us.size() / 2]);
    std::printf("predict1_p90_us=%.2f\n", us[us.size() * 9 / 10]);
  }
  return 0;
}
