// The Plexus half of bench/onnx_compare.sh: the answer's 4.71M-parameter network
// (or --tiny, one Dense(9), for the per-call overhead) with uniform(-0.05, 0.05)
// weights; --export writes it as float32 ONNX, otherwise times predict() per call.
//
//   plexus_onnx_compare --export FILE.onnx [--tiny]
//   plexus_onnx_compare [--batch B] [--threads T] [--calls N] [--rounds R] [--warmup W]
//                       [--half|--int8|--int8-scalar] [--tiny]
//
// --half times HalfPredictor (batch 1 only), --int8 Int8Predictor (its engine, avx512_vnni or
// scalar, is printed as "int8_engine"), --int8-scalar Int8Predictor with the portable kernel.
#include <plexus/io/onnx.hpp>
#include <plexus/plexus.hpp>

#include "process.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

namespace {

using T = float;
using namespace plexus;

long parse(const char* flag, const char* v, long lo, long hi) {
  return bench::parse_integer("plexus_onnx_compare", flag, v, lo, hi);
}

// README's "The answer's network in 13 lines", or one Dense(9) (--tiny).
Network<T> make_net(bool tiny) {
  Network<T> net;
  if (tiny) {
    net.add(Dense<T>(9));
  } else {
    net.add(Dense<T>(128, Activation::relu));
    for (int block = 0; block < 7; ++block) {
      Sequential<T> body;
      for (int i = 0; i < 4; ++i) body.add(Concat<T>(Dense<T>(256, Activation::relu)));
      body.add(Dense<T>(128, Activation::identity, Init::zeros));
      net.add(Residual<T>(std::move(body)));
    }
    net.add(Dense<T>(9));
  }
  net.build(9, 1);
  // The blocks' last Dense starts at zero (each body the identity); random
  // weights make both engines compute every product for real.
  Rng rng(3);
  for (Index i = 0; i < net.parameter_count(); ++i) net.parameters()[i] = static_cast<T>(rng.uniform(-0.05, 0.05));
  return net;
}

double median(const std::vector<double>& s) {  // sorted; as ort_run.js
  const std::size_t n = s.size();
  return n % 2 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}
double quantile(const std::vector<double>& s, double q) {  // nearest rank, as ort_run.js
  const long i = static_cast<long>(std::ceil(q * static_cast<double>(s.size()))) - 1;
  return s[static_cast<std::size_t>(std::clamp(i, 0L, static_cast<long>(s.size()) - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  long batch = 1, threads = 1, calls = 1000, rounds = 3, warmup = 100;
  bool half = false, int8 = false, int8_scalar = false, tiny = false;
  std::string export_path;
  for (int i = 1; i < argc; ++i) {
    const std::string f = argv[i];
    if (f == "--half") {
      half = true;
      continue;
    }
    if (f == "--int8" || f == "--int8-scalar") {
      int8 = true;
      int8_scalar = f == "--int8-scalar";
      continue;
    }
    if (f == "--tiny") {
      tiny = true;
      continue;
    }
    if (f == "--help" || i + 1 >= argc) {
      std::fprintf(f == "--help" ? stdout : stderr,
                   "usage: plexus_onnx_compare --export FILE.onnx [--tiny]\n"
                   "       plexus_onnx_compare [--batch B] [--threads T] [--calls N] [--rounds R] [--warmup W]"
                   " [--half|--int8|--int8-scalar] [--tiny]\n");
      return f == "--help" ? 0 : 2;
    }
    const char* v = argv[++i];
    if (f == "--export") export_path = v;
    else if (f == "--batch") batch = parse("--batch", v, 1, 1 << 20);
    else if (f == "--threads") threads = parse("--threads", v, 1, 1024);
    else if (f == "--calls") calls = parse("--calls", v, 1, 100000000);
    else if (f == "--rounds") rounds = parse("--rounds", v, 1, 1000);
    else if (f == "--warmup") warmup = parse("--warmup", v, 0, 100000000);
    else {
      std::fprintf(stderr, "plexus_onnx_compare: unknown flag %s (see --help)\n", f.c_str());
      return 2;
    }
  }
  if (half && batch != 1) {
    std::fprintf(stderr, "plexus_onnx_compare: --half is HalfPredictor's one-row path; it needs --batch 1\n");
    return 2;
  }
  if (half && int8) {
    std::fprintf(stderr, "plexus_onnx_compare: --half and --int8 exclude each other\n");
    return 2;
  }
  const Network<T> net = make_net(tiny);
  if (!export_path.empty()) {
    export_onnx(net, export_path);  // float32, opset 17
    std::printf("wrote %s (%lld parameters)\n", export_path.c_str(), static_cast<long long>(net.parameter_count()));
    return 0;
  }

  set_num_threads(static_cast<int>(threads));
  const PredictOptions options{static_cast<int>(threads)};
  Rng rng(7);
  Matrix<T> x(batch, 9), y(batch, 9);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(rng.uniform(-1.0, 1.0));
  std::optional<HalfPredictor<T>> hp;
  std::optional<Int8Predictor<T>> ip;
  if (half) hp.emplace(net);
  if (int8) ip.emplace(net, int8_scalar ? Int8Kernel::scalar : Int8Kernel::automatic);
  auto call = [&] {
    if (hp) hp->predict(x, y, options);
    else if (ip) ip->predict(x, y, options);
    else net.predict(x, y, options);
  };

  for (long i = 0; i < warmup; ++i) call();
  std::string rounds_json;
  double best_median = 1e300, best_p99 = 0, best_mean = 0;
  std::vector<double> us(static_cast<std::size_t>(calls));
  for (long r = 0; r < rounds; ++r) {
    for (auto& t : us) {
      const auto t0 = bench::Clock::now();
      call();
      t = 1e6 * bench::seconds_since(t0);
    }
    double mean = 0;
    for (double t : us) mean += t / static_cast<double>(calls);
    std::sort(us.begin(), us.end());
    const double med = median(us), p99 = quantile(us, 0.99);
    char buf[160];
    std::snprintf(buf, sizeof buf, "%s{\"median_us\":%.3f,\"p99_us\":%.3f,\"mean_us\":%.3f}", r ? "," : "", med, p99,
                  mean);
    rounds_json += buf;
    if (med < best_median) best_median = med, best_p99 = p99, best_mean = mean;
  }
  std::printf(
      "{\"engine\":\"plexus\",\"version\":\"%s\",\"plexus_engine\":\"%s\",\"model\":\"%s\",\"predictor\":\"%s\","
      "\"int8_engine\":\"%s\",\"dtype\":\"float32\",\"params\":%lld,\"width\":9,\"batch\":%ld,\"threads\":%ld,"
      "\"calls\":%ld,\"warmup\":%ld,"
      "\"median_us\":%.3f,\"p99_us\":%.3f,\"mean_us\":%.3f,\"best_round_median_us\":%.3f,\"rounds\":[%s]}\n",
      PLEXUS_VERSION_STRING, engine_name().c_str(), tiny ? "tiny" : "answer",
      half   ? "HalfPredictor"
      : int8 ? "Int8Predictor"
             : "Network",
      ip ? ip->engine() : "", static_cast<long long>(net.parameter_count()), batch, threads, calls, warmup, best_median,
      best_p99, best_mean, best_median, rounds_json.c_str());
  return 0;
}
