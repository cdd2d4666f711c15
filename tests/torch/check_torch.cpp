// Compares Plexus with PyTorch itself: reads the cases tests/torch/
// reference.py printed (optimizer trajectories for given gradients,
// clipping, schedules' learning rates, losses' values and gradients,
// LayerNorm, BatchNorm and softmax forward and backward, and PyTorch's
// defaults), recomputes each with Plexus in double, and fails when
// any number differs by more than 1e-12 (relative to max(1, |torch's|);
// learning rates relative to torch's).
// Usage: check_torch <reference.txt>
#include <plexus/plexus.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

using namespace plexus;

namespace {

constexpr double kTol = 1e-12;

struct Line {
  std::string tag;
  std::vector<std::string> words;
};

struct Case {
  std::string name;
  std::vector<Line> lines;
  const Line& first(const std::string& tag) const {
    for (const auto& l : lines)
      if (l.tag == tag) return l;
    throw std::runtime_error(name + ": no line '" + tag + "'");
  }
};

double number(const std::string& s) {
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) throw std::runtime_error("not a number: " + s);
  return v;
}

// "tag n v1 ... vn" -> the values
std::vector<double> values(const Line& l) {
  const auto n = static_cast<std::size_t>(number(l.words.at(0)));
  if (l.words.size() != n + 1) throw std::runtime_error(l.tag + ": expected " + std::to_string(n) + " values");
  std::vector<double> v;
  for (std::size_t i = 1; i <= n; ++i) v.push_back(number(l.words[i]));
  return v;
}

// "kind k=v ..." -> {k: v}
std::map<std::string, double> settings(const Line& l, std::size_t from = 1) {
  std::map<std::string, double> m;
  for (std::size_t i = from; i < l.words.size(); ++i) {
    const auto eq = l.words[i].find('=');
    m[l.words[i].substr(0, eq)] = number(l.words[i].substr(eq + 1));
  }
  return m;
}

// "pred R C v..." (row-major) -> matrix
Matrix<double> matrix(const Line& l) {
  const Index r = static_cast<Index>(number(l.words.at(0))), c = static_cast<Index>(number(l.words.at(1)));
  Matrix<double> m(r, c);
  for (Index i = 0; i < r; ++i)
    for (Index j = 0; j < c; ++j) m(i, j) = number(l.words.at(static_cast<std::size_t>(2 + i * c + j)));
  return m;
}

// The largest |a - b| / max(1, |b|), b from torch; infinite when a value
// is NaN (std::max would pass over it).
double worst(const double* a, const double* b, std::size_t n) {
  double w = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const double d = std::abs(a[i] - b[i]) / std::max(1.0, std::abs(b[i]));
    if (!(d == d)) return INFINITY;
    w = std::max(w, d);
  }
  return w;
}
// The largest |a - b| / |b|: learning rates are small, so relative.
double worst_relative(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double w = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const double d = std::abs(a[i] - b[i]) / std::abs(b[i]);
    if (!(d == d)) return INFINITY;
    w = std::max(w, d);
  }
  return w;
}

// Settings printed by torch that must equal Plexus' defaults exactly.
double default_gap(const std::map<std::string, double>& torch, const std::map<std::string, double>& plexus) {
  double gap = 0.0;
  for (const auto& [k, v] : plexus) {
    const auto it = torch.find(k);
    gap = std::max(gap, it == torch.end() ? INFINITY : std::abs(it->second - v) / std::max(1.0, std::abs(v)));
  }
  return gap;
}

double run_optimizer(const Case& c) {
  const Line& head = c.first("optim");
  const std::string kind = head.words.at(0);
  auto s = settings(head);
  Network<double> net;
  net.add(Dense<double>(6));
  net.build(3, 1);
  const auto p0 = values(c.first("p0"));
  if (static_cast<Index>(p0.size()) != net.parameter_count()) throw std::runtime_error("parameter count");
  net.parameters() = Eigen::Map<const Vector<double>>(p0.data(), net.parameter_count());
  std::unique_ptr<Optimizer<double>> opt;
  double gap = 0.0;
  if (kind == "adamw") {
    opt = std::make_unique<AdamW<double>>(net,
                                          AdamWOptions{s["lr"], s["beta1"], s["beta2"], s["eps"], s["weight_decay"]});
    if (c.name == "adamw_defaults") {
      const AdamWOptions d{};
      gap = default_gap(
          s, {{"lr", d.lr}, {"beta1", d.beta1}, {"beta2", d.beta2}, {"eps", d.eps}, {"weight_decay", d.weight_decay}});
    }
  } else if (kind == "adam") {
    opt =
        std::make_unique<Adam<double>>(net, AdamOptions{s["lr"], s["beta1"], s["beta2"], s["eps"], s["weight_decay"]});
  } else if (kind == "rmsprop") {
    opt = std::make_unique<RMSprop<double>>(
        net, RMSpropOptions{s["lr"], s["alpha"], s["eps"], s["weight_decay"], s["momentum"], s["centered"] != 0});
    if (c.name == "rmsprop_defaults") {
      const RMSpropOptions d{};
      gap = default_gap(s, {{"lr", d.lr},
                            {"alpha", d.alpha},
                            {"eps", d.eps},
                            {"weight_decay", d.weight_decay},
                            {"momentum", d.momentum},
                            {"centered", d.centered ? 1.0 : 0.0}});
    }
  } else {
    throw std::runtime_error("unknown optimizer " + kind);
  }
  std::vector<double> grad;
  for (const auto& l : c.lines) {
    if (l.tag == "grad") grad = values(l);
    if (l.tag != "param") continue;
    net.gradients() = Eigen::Map<const Vector<double>>(grad.data(), net.parameter_count());
    opt->step();
    const auto want = values(l);
    gap = std::max(gap, worst(net.parameters().data(), want.data(), want.size()));
  }
  return gap;
}

double run_clip(const Case& c) {
  auto s = settings(c.first("clip"), 0);
  const auto g = values(c.first("g"));
  Vector<double> v = Eigen::Map<const Vector<double>>(g.data(), static_cast<Index>(g.size()));
  const double norm = clip_grad_norm(v, s["max_norm"]);
  const auto want = values(c.first("clipped"));
  return std::max(worst(&norm, values(c.first("norm")).data(), 1), worst(v.data(), want.data(), want.size()));
}

double run_schedule(const Case& c) {
  const Line& head = c.first("sched");
  const std::string kind = head.words.at(0);
  auto s = settings(head);
  std::unique_ptr<Schedule> sched;
  if (kind == "step") {
    sched = std::make_unique<StepLR>(s["lr"], s["step_size"], s["gamma"]);
  } else if (kind == "exponential") {
    sched = std::make_unique<ExponentialLR>(s["lr"], s["gamma"]);
  } else if (kind == "cosine_restarts") {
    CosineRestartsOptions o;
    o.lr = s["lr"];
    o.t0 = s["t0"];
    o.t_mult = static_cast<int>(s["t_mult"]);
    o.eta_min = s["eta_min"];
    o.warmup = s["warmup"];
    o.warmup_start_factor = s["warmup_start_factor"];
    sched = std::make_unique<CosineAnnealingWarmRestarts>(o);
  } else if (kind == "one_cycle") {
    OneCycleOptions o;
    o.max_lr = s["max_lr"];
    o.total_steps = static_cast<std::int64_t>(s["total_steps"]);
    o.pct_start = s["pct_start"];
    o.anneal = s["linear"] != 0 ? OneCycleAnneal::linear : OneCycleAnneal::cos;
    o.three_phase = s["three_phase"] != 0;
    o.div_factor = s["div_factor"];
    o.final_div_factor = s["final_div_factor"];
    sched = std::make_unique<OneCycleLR>(o);
  } else if (kind == "plateau") {
    PlateauOptions o;
    o.lr = s["lr"];
    o.mode = s["max"] != 0 ? PlateauMode::max : PlateauMode::min;
    o.factor = s["factor"];
    o.patience = static_cast<int>(s["patience"]);
    o.threshold = s["threshold"];
    o.threshold_mode = s["abs"] != 0 ? PlateauThreshold::abs : PlateauThreshold::rel;
    o.cooldown = static_cast<int>(s["cooldown"]);
    o.min_lr = s["min_lr"];
    o.eps = s["eps"];
    sched = std::make_unique<ReduceLROnPlateau>(o);
  } else {
    throw std::runtime_error("unknown schedule " + kind);
  }
  const auto want = values(c.first("lrs"));
  std::vector<double> metrics;
  if (kind == "plateau") metrics = values(c.first("metrics"));
  std::vector<double> got;
  for (std::size_t t = 0; t < want.size(); ++t) {
    ScheduleState st;
    st.step = static_cast<std::int64_t>(t);
    st.epoch = static_cast<double>(t);
    if (!metrics.empty()) sched->observe(metrics[t]);
    got.push_back(sched->lr(st));
  }
  return worst_relative(got, want);
}

double run_defaults(const Case& c) {
  const Line& head = c.first("defaults");
  const auto s = settings(head);
  if (head.words.at(0) == "layers") {
    const LayerNorm<double> ln;
    const BatchNorm<double> bn;
    Network<double> net;
    net.add(BatchNorm<double>());
    net.build(3, 1);
    return default_gap(s, {{"layernorm_eps", ln.eps()},
                           {"layernorm_affine", ln.elementwise_affine() ? 1.0 : 0.0},
                           {"batchnorm_eps", bn.eps()},
                           {"batchnorm_momentum", bn.momentum()},
                           {"batchnorm_affine", bn.affine() ? 1.0 : 0.0},
                           {"dropout_rate", Dropout<double>().rate()},
                           {"running_mean", net.buffers()[0]},
                           {"running_var", net.buffers()[3]}});
  }
  if (head.words.at(0) == "one_cycle") {
    const OneCycleOptions d{};
    return default_gap(s, {{"div_factor", d.div_factor},
                           {"final_div_factor", d.final_div_factor},
                           {"pct_start", d.pct_start},
                           {"three_phase", d.three_phase ? 1.0 : 0.0}});
  }
  const PlateauOptions d{};
  return default_gap(s, {{"max", d.mode == PlateauMode::max ? 1.0 : 0.0},
                         {"factor", d.factor},
                         {"patience", d.patience},
                         {"threshold", d.threshold},
                         {"abs", d.threshold_mode == PlateauThreshold::abs ? 1.0 : 0.0},
                         {"cooldown", d.cooldown},
                         {"min_lr", d.min_lr},
                         {"eps", d.eps}});
}

double run_loss(const Case& c) {
  const Line& head = c.first("loss");
  const std::string kind = head.words.at(0);
  auto s = settings(head);
  std::unique_ptr<Loss<double>> loss;
  if (kind == "ce") loss = std::make_unique<SoftmaxCrossEntropy<double>>(s["label_smoothing"]);
  else if (kind == "bce") loss = std::make_unique<BinaryCrossEntropy<double>>();
  else if (kind == "huber") loss = std::make_unique<Huber<double>>(s["delta"]);
  else if (kind == "mae") loss = std::make_unique<MAE<double>>();
  else if (kind == "mse") loss = std::make_unique<MSE<double>>();
  else throw std::runtime_error("unknown loss " + kind);
  const Matrix<double> p = matrix(c.first("pred")), t = matrix(c.first("target"));
  Matrix<double> g(p.rows(), p.cols());
  const double v = loss->value_and_gradient(p, t, Matrix<double>(p.rows(), 0), g);
  // torch's gradient, row-major like the prediction
  const Line& gl = c.first("grad");
  Matrix<double> want(p.rows(), p.cols());
  for (Index i = 0; i < p.rows(); ++i)
    for (Index j = 0; j < p.cols(); ++j) want(i, j) = number(gl.words.at(static_cast<std::size_t>(i * p.cols() + j)));
  return std::max(worst(&v, values(c.first("value")).data(), 1),
                  worst(g.data(), want.data(), static_cast<std::size_t>(g.size())));
}

// One layer's passes against torch.nn: for each training step k the
// forward output y_k, the input gradient dx_k and the parameter gradients
// for the output gradient dy_k; then BatchNorm's running statistics and an
// eval-mode pass.
double run_layer(const Case& c) {
  const Line& head = c.first("layer");
  const std::string kind = head.words.at(0);
  auto s = settings(head);
  const Index width = static_cast<Index>(s["width"]);
  Network<double> net;
  if (kind == "layernorm") net.add(LayerNorm<double>(s["eps"], s["affine"] != 0));
  else if (kind == "batchnorm") net.add(BatchNorm<double>(s["eps"], s["momentum"], s["affine"] != 0));
  else if (kind == "softmax") net.add(Softmax<double>());
  else throw std::runtime_error("unknown layer " + kind);
  net.build(width, 1);
  if (net.parameter_count() > 0) {  // torch's weight then bias: Plexus' gain then bias
    const auto w = values(c.first("w")), b = values(c.first("b"));
    for (Index j = 0; j < width; ++j)
      net.parameters()[j] = w.at(static_cast<std::size_t>(j)),
      net.parameters()[width + j] = b.at(static_cast<std::size_t>(j));
  }
  double gap = 0.0;
  auto compare = [&](const Matrix<double>& got, const Matrix<double>& want) {
    if (got.rows() != want.rows() || got.cols() != want.cols()) throw std::runtime_error(c.name + ": shape");
    gap = std::max(gap, worst(got.data(), want.data(), static_cast<std::size_t>(got.size())));
  };
  auto pass = [&](const std::string& tag, bool training, std::uint64_t step) {
    ForwardContext ctx = ForwardContext::train(0, step);
    ctx.training = training;
    const Matrix<double> x = matrix(c.first("x" + tag));
    compare(net.forward(x, ctx), matrix(c.first("y" + tag)));
    net.backward(matrix(c.first("dy" + tag)));
    compare(net.input_gradient(), matrix(c.first("dx" + tag)));
    if (net.parameter_count() > 0) {
      const auto dw = values(c.first("dw" + tag)), db = values(c.first("db" + tag));
      gap = std::max(gap, worst(net.gradients().data(), dw.data(), dw.size()));
      gap = std::max(gap, worst(net.gradients().data() + width, db.data(), db.size()));
    }
  };
  const auto steps = static_cast<std::uint64_t>(s["steps"]);
  for (std::uint64_t k = 1; k <= steps; ++k) pass(std::to_string(k), true, k);
  if (kind == "batchnorm") {
    const auto rm = values(c.first("running_mean")), rv = values(c.first("running_var"));
    gap = std::max(gap, worst(net.buffers().data(), rm.data(), rm.size()));
    gap = std::max(gap, worst(net.buffers().data() + width, rv.data(), rv.size()));
  }
  if (s["eval"] != 0) pass("_eval", false, steps + 1);
  return gap;
}
}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: check_torch <reference.txt>\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  std::vector<Case> cases;
  std::string text, torch_version;
  while (std::getline(in, text)) {
    std::istringstream words(text);
    Line l;
    words >> l.tag;
    for (std::string w; words >> w;) l.words.push_back(w);
    if (l.tag == "case") cases.push_back(Case{l.words.at(0), {}});
    else if (l.tag == "torch") torch_version = l.words.at(0);
    else if (l.tag != "end" && !cases.empty()) cases.back().lines.push_back(l);
  }
  int failed = 0;
  for (const auto& c : cases) {
    double gap = INFINITY;
    try {
      const std::string kind = c.lines.at(0).tag;
      gap = kind == "optim"      ? run_optimizer(c)
            : kind == "clip"     ? run_clip(c)
            : kind == "sched"    ? run_schedule(c)
            : kind == "defaults" ? run_defaults(c)
            : kind == "loss"     ? run_loss(c)
            : kind == "layer"    ? run_layer(c)
                                 : throw std::runtime_error("unknown case kind " + kind);
    } catch (const std::exception& e) {
      std::printf("FAIL %-26s %s\n", c.name.c_str(), e.what());
      ++failed;
      continue;
    }
    const bool ok = gap <= kTol;
    failed += !ok;
    std::printf("%s %-26s largest difference %.3g\n", ok ? "ok  " : "FAIL", c.name.c_str(), gap);
  }
  std::printf("%zu cases against torch %s, %d failed\n", cases.size(), torch_version.c_str(), failed);
  return failed == 0 && cases.size() >= 30 && !torch_version.empty() ? 0 : 1;
}
